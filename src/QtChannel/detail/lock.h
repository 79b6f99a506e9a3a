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

// How many cpuRelax() take about a microsecond on this machine (PAUSE costs from about 1 ns to
// over 100 ns depending on the processor, so every spin is sized in time). Measured once per
// process, on first use.
QTCHANNEL_EXPORT int relaxesPerMicrosecond() noexcept;

// A spin budget that learns whether spinning pays off, shared by the threads that wait on one
// channel. It doubles (up to about 2 us) each time the awaited event came while spinning and
// halves (down to 0.5 us) each time it did not; with `probes`, every 32nd wait at the floor
// spins up to 50 us, so two threads that hand items back and forth can leave the
// sleep-on-every-hand-off mode. docs/design.md, "Spins are sized in time, and adapt", has the
// measurements behind each number.
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
 * The channel's mutex: a test-and-test-and-set lock that spins briefly (adaptively, as above)
 * and then sleeps on a futex (Linux) or yields (elsewhere). A channel's critical sections are
 * short, so a waiter usually gets the lock within the spin. Built on std::atomic only, so
 * ThreadSanitizer sees every acquire and release. docs/design.md, "The lock: spin, then
 * sleep", says why it is not a QMutex.
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
