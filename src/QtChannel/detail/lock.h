// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

// Internal header: not part of the public API.

#include <QtChannel/qtchannel_export.h>

#include <algorithm>
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

// How many cpuRelax() take about a microsecond here. PAUSE costs from about 1 ns to about 140 ns
// depending on the processor, so every spin loop is sized in time, not in iterations.
// Measured once per process (a few tens of microseconds, on first use).
QTCHANNEL_EXPORT int relaxesPerMicrosecond() noexcept;

// A spin budget that learns whether spinning pays off. A thread about to sleep until another
// thread acts spins first, in case that thread is running on another core and acts within a
// microsecond or two (a ping-pong): that saves two system calls. When the other thread is not
// running (a loaded machine), spinning only burns a core. So the budget doubles, up to about
// two microseconds, each time the awaited event came while spinning, and halves each time it
// did not. One budget serves all the threads that wait on one channel; their races on it only
// blur the average.
class AdaptiveSpin {
public:
    // Spins until `done()` holds or the budget is spent; returns `done()`.
    template <typename Done> bool spin(Done &&done) noexcept(noexcept(done())) {
        const int perMicrosecond = relaxesPerMicrosecond();
        int budget = m_budget.load(std::memory_order_relaxed);
        if (budget < 0)
            budget = 2 * perMicrosecond;
        for (int i = 0; i < budget; ++i) {
            if (done()) {
                grow(budget, perMicrosecond);
                return true;
            }
            cpuRelax();
        }
        if (done()) {
            grow(budget, perMicrosecond);
            return true;
        }
        // Halve, but keep a few tens of nanoseconds' worth, so that the budget can grow back
        // when spinning starts to pay again.
        const int shrunk = std::max(budget / 2, std::max(1, perMicrosecond / 32));
        if (shrunk != budget)
            m_budget.store(shrunk, std::memory_order_relaxed);
        return false;
    }

private:
    void grow(int budget, int perMicrosecond) noexcept {
        const int grown = std::min(2 * perMicrosecond, 2 * budget + 1);
        if (grown != budget)
            m_budget.store(grown, std::memory_order_relaxed);
    }

    std::atomic<int> m_budget{-1}; // in cpuRelax() calls; -1 until first used
};

// Waiting for another thread to finish a step that takes nanoseconds (filling a slot it
// claimed): spin with growing pauses for about a microsecond, then yield, in case that thread
// was preempted.
class Backoff {
public:
    void pause() noexcept {
        if (m_spent < relaxesPerMicrosecond()) {
            const int n = 1 << m_step;
            for (int i = 0; i < n; ++i)
                cpuRelax();
            m_spent += n;
            m_step += m_step < 6;
        } else {
            std::this_thread::yield();
        }
    }

private:
    int m_step = 0;
    int m_spent = 0;
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
    AdaptiveSpin m_spin;
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
