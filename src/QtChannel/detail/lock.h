// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

// Internal header: not part of the public API.

#include <QtChannel/qtchannel_export.h>

#include <atomic>
#include <cstdint>
#include <thread>

namespace QtChannel::detail {

// A hint to the CPU that this is a spin-wait loop.
inline void cpuRelax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield" ::: "memory");
#endif
}

// Waiting for another thread to finish a step that takes nanoseconds (publishing an item it
// claimed a slot for): spin with growing pauses, then yield, in case that thread was preempted.
class Backoff {
public:
    void pause() noexcept {
        if (m_step < 10) {
            for (int i = 0; i < (1 << m_step); ++i)
                cpuRelax();
            ++m_step;
        } else {
            std::this_thread::yield();
        }
    }

private:
    int m_step = 0;
};

/*
 * The channel's mutex: a test-and-test-and-set lock that spins briefly and then sleeps on a
 * futex (Linux) or yields (elsewhere). Critical sections in a channel are a few dozen
 * instructions, so a waiter usually gets the lock within the spin, without the two system calls
 * a sleeping mutex costs. docs/design.md has the numbers that chose it over QMutex.
 *
 * Built on std::atomic only, so ThreadSanitizer sees every acquire and release.
 */
class QTCHANNEL_EXPORT Lock {
public:
    Lock() = default;
    Lock(const Lock &) = delete;
    Lock &operator=(const Lock &) = delete;

    void lock() noexcept {
        std::uint32_t expected = Unlocked;
        if (!m_state.compare_exchange_strong(expected, Locked, std::memory_order_acquire,
                                             std::memory_order_relaxed))
            lockSlow();
    }

    void unlock() noexcept {
        if (m_state.exchange(Unlocked, std::memory_order_release) == Contended)
            wakeOne();
    }

private:
    enum : std::uint32_t { Unlocked = 0, Locked = 1, Contended = 2 };
    void lockSlow() noexcept;
    void wakeOne() noexcept;

    std::atomic<std::uint32_t> m_state{Unlocked};
};

// Scoped owner of a Lock that can be released early (unlike std::lock_guard).
class Locker {
public:
    explicit Locker(Lock &lock) noexcept
        : m_lock(&lock) {
        m_lock->lock();
    }
    ~Locker() { unlock(); }
    Locker(const Locker &) = delete;
    Locker &operator=(const Locker &) = delete;

    void unlock() noexcept {
        if (m_lock) {
            m_lock->unlock();
            m_lock = nullptr;
        }
    }

private:
    Lock *m_lock;
};

} // namespace QtChannel::detail
