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
 * One blocked thread's wake-up: it lives on that thread's stack for one blocking call.
 * park() returns once unpark() was called; unpark() may come before park().
 *
 * The channel wakes exactly the waiter it served (one per item, no thundering herd), and it
 * does so after releasing the channel lock, so the woken thread never has to wait for it.
 * The state word is a std::atomic, so ThreadSanitizer sees the hand-over; the sleeping is a
 * futex on Linux and a short yield-and-sleep loop elsewhere.
 */
class QTCHANNEL_EXPORT Parker {
public:
    Parker() = default;
    Parker(const Parker &) = delete;
    Parker &operator=(const Parker &) = delete;

    // Waits for unpark() or the deadline, spinning first as `spin` advises (no spin if null).
    // Returns false if the deadline passed first.
    bool park(QDeadlineTimer deadline = QDeadlineTimer(QDeadlineTimer::Forever),
              AdaptiveSpin *spin = nullptr) noexcept;

    // Wakes the parked thread. Call at most once per Parker.
    void unpark() noexcept;

private:
    enum : std::uint32_t { Empty = 0, Sleeping = 1, Notified = 2 };
    std::atomic<std::uint32_t> m_state{Empty};
};

} // namespace QtChannel::detail
