// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

// Internal header: not part of the public API.

#include <QtChannel/detail/lock.h>
#include <QtChannel/qtchannel_export.h>

#include <QtCore/QDeadlineTimer>

#include <atomic>
#include <cstdint>

namespace QtChannel::detail {

/*
 * One blocked thread's wake-up. park() returns once unpark() was called; unpark() may come
 * before park(). Each thread has one Parker for its whole life (forThisThread()): unpark()
 * publishes the wake-up and then makes the futex call, so the woken thread may return in
 * between, and a late call must land on memory that is still the thread's (at worst a
 * spurious wake-up of its next park(), which re-checks). docs/design.md, "Wake exactly one
 * waiter, after unlocking", tells the story.
 *
 * The state word is a std::atomic, so ThreadSanitizer sees the hand-over; the sleeping is a
 * futex on Linux and a short yield-and-sleep loop elsewhere.
 */
class QTCHANNEL_EXPORT Parker {
public:
    Parker() = default;
    Parker(const Parker &) = delete;
    Parker &operator=(const Parker &) = delete;
    // The calling thread's Parker, reset for one park()/unpark() cycle. A thread blocks in
    // one call at a time, so the cycles never overlap.
    static Parker &forThisThread() noexcept;

    // Waits for unpark() or the deadline, spinning first as `spin` advises (no spin if null).
    // Returns false if the deadline passed first.
    bool park(QDeadlineTimer deadline = QDeadlineTimer(QDeadlineTimer::Forever),
              AdaptiveSpin *spin = nullptr) noexcept;

    // Wakes the parked thread. Call at most once per cycle.
    void unpark() noexcept;

private:
    enum : std::uint32_t { Empty = 0, Sleeping = 1, Notified = 2 };
    std::atomic<std::uint32_t> m_state{Empty};
};

} // namespace QtChannel::detail
