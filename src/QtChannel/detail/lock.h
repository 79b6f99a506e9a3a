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
// two microseconds, each time the awaited event came while spinning, and halves, down to half
// a microsecond, each time it did not. One budget serves all the threads that wait on one
// channel; their races on it only blur the average.
//
// Two threads that hand items back and forth can settle into sleeping on every hand-off: each
// wake-up then takes longer than any short spin (15-20 us in an idle virtual machine), so
// spinning never pays and the budget stays at its floor. A budget made with `probes` breaks
// out of that: every 32nd spin at the floor spins up to 50 us, long enough to see the partner
// wake up; if it does, both threads are running and the budget jumps to its maximum. That
// costs at most 50 us in 32 waits, less than the two system calls a sleep costs each time.
class AdaptiveSpin {
public:
    explicit AdaptiveSpin(bool probes = false) noexcept
        : m_probes(probes) {}

    // Spins until `done()` holds or the budget is spent; returns `done()`.
    template <typename Done> bool spin(Done &&done) noexcept(noexcept(done())) {
        const int perMicrosecond = relaxesPerMicrosecond();
        const int floor = std::max(1, perMicrosecond / 2);
        const int ceiling = 2 * perMicrosecond;
        int budget = m_budget.load(std::memory_order_relaxed);
        if (budget < 0)
            budget = ceiling;
        int limit = budget;
        bool probing = false;
        if (m_probes && budget <= floor &&
            m_untilProbe.fetch_sub(1, std::memory_order_relaxed) <= 1) {
            m_untilProbe.store(ProbeInterval, std::memory_order_relaxed);
            probing = true;
            limit = ProbeMicroseconds * perMicrosecond;
        }
        for (int i = 0; i < limit; ++i) {
            if (done()) {
                store(budget, probing ? ceiling : std::min(ceiling, 2 * budget));
                return true;
            }
            cpuRelax();
        }
        if (done()) {
            store(budget, probing ? ceiling : std::min(ceiling, 2 * budget));
            return true;
        }
        store(budget, std::max(floor, budget / 2));
        return false;
    }

private:
    static constexpr int ProbeInterval = 32;
    static constexpr int ProbeMicroseconds = 50;

    void store(int old, int budget) noexcept {
        if (budget != old)
            m_budget.store(budget, std::memory_order_relaxed);
    }

    std::atomic<int> m_budget{-1}; // in cpuRelax() calls; -1 until first used
    std::atomic<int> m_untilProbe{ProbeInterval};
    const bool m_probes;
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
