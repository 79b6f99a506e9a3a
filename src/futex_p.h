// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

// Private: the few operating-system primitives the lock and the parker sleep on.

#include <QtCore/qglobal.h>

#include <atomic>
#include <cstdint>
#include <thread>

#if defined(Q_OS_LINUX)
#include <climits>
#include <ctime>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "QtChannel/detail/lock.h"

namespace QtChannel::detail {

#if defined(Q_OS_LINUX)
// Sleeps while *word == expected, at most `timeoutNs` nanoseconds (negative: no limit).
// Spurious returns are allowed; callers re-check their condition.
inline void futexWait(std::atomic<std::uint32_t> *word, std::uint32_t expected,
                      qint64 timeoutNs = -1) noexcept {
    struct timespec ts;
    struct timespec *tsp = nullptr;
    if (timeoutNs >= 0) {
        ts.tv_sec = static_cast<time_t>(timeoutNs / 1000000000);
        ts.tv_nsec = static_cast<long>(timeoutNs % 1000000000);
        tsp = &ts;
    }
    syscall(SYS_futex, reinterpret_cast<std::uint32_t *>(word), FUTEX_WAIT_PRIVATE, expected, tsp,
            nullptr, 0);
}

// Wakes up to `count` threads sleeping on `word`. A wake on memory that was freed meanwhile
// is harmless: the kernel only compares addresses, and every futex user tolerates spurious
// wake-ups.
inline void futexWake(std::atomic<std::uint32_t> *word, int count = 1) noexcept {
    syscall(SYS_futex, reinterpret_cast<std::uint32_t *>(word), FUTEX_WAKE_PRIVATE, count, nullptr,
            nullptr, 0);
}
#else
// Portable fallback: poll with back-off. Correct, not fast; no supported platform uses it today.
inline void futexWait(std::atomic<std::uint32_t> *word, std::uint32_t expected,
                      qint64 timeoutNs = -1) noexcept {
    if (word->load(std::memory_order_relaxed) != expected)
        return;
    const qint64 slice = 50000; // 50 µs
    std::this_thread::sleep_for(
        std::chrono::nanoseconds(timeoutNs < 0 ? slice : std::min(timeoutNs, slice)));
}
inline void futexWake(std::atomic<std::uint32_t> *, int = 1) noexcept {}
#endif

} // namespace QtChannel::detail
