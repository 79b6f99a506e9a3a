// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

// Item types for the reliability suites: one that counts its live instances, and one whose
// copy or move constructor throws at a chosen moment.

#include <atomic>
#include <stdexcept>

namespace Rel {

// Counts live instances across all threads, so a test can prove the channel destroys what it
// owns and nothing more. Its moves are noexcept: the channel moves it.
class Tracked {
public:
    explicit Tracked(int v = 0) noexcept
        : m_value(v) {
        s_live.fetch_add(1, std::memory_order_relaxed);
    }
    Tracked(const Tracked &o) noexcept
        : m_value(o.m_value) {
        s_live.fetch_add(1, std::memory_order_relaxed);
    }
    Tracked(Tracked &&o) noexcept
        : m_value(o.m_value) {
        s_live.fetch_add(1, std::memory_order_relaxed);
    }
    Tracked &operator=(const Tracked &) noexcept = default;
    Tracked &operator=(Tracked &&) noexcept = default;
    ~Tracked() { s_live.fetch_sub(1, std::memory_order_relaxed); }

    int value() const noexcept { return m_value; }
    static long live() noexcept { return s_live.load(std::memory_order_relaxed); }

private:
    int m_value;
    static inline std::atomic<long> s_live{0};
};

/*
 * An item that catches being used after its death: every instance carries a mark that its
 * destructor overwrites. Moving or copying from a dead item, or destroying one twice, counts a
 * violation (and keeps the live count honest), so a test can prove that no item is destroyed
 * twice or touched after it was destroyed, even where the memory is not freed (a ring slot).
 */
class Guarded {
public:
    explicit Guarded(int v = 0) noexcept
        : m_value(v) {
        s_live.fetch_add(1, std::memory_order_relaxed);
    }
    Guarded(const Guarded &o) noexcept
        : m_value(o.m_value) {
        o.check();
        s_live.fetch_add(1, std::memory_order_relaxed);
    }
    Guarded(Guarded &&o) noexcept
        : m_value(o.m_value) {
        o.check();
        s_live.fetch_add(1, std::memory_order_relaxed);
    }
    // QList (batches) needs assignment; the assigned-to item must be alive, the source too.
    Guarded &operator=(const Guarded &o) noexcept {
        check();
        o.check();
        m_value = o.m_value;
        return *this;
    }
    ~Guarded() {
        if (!check())
            return; // destroyed twice: counted, not uncounted again
        m_mark = Dead;
        s_live.fetch_sub(1, std::memory_order_relaxed);
    }

    int value() const noexcept {
        check();
        return m_value;
    }
    static long live() noexcept { return s_live.load(std::memory_order_relaxed); }
    static long violations() noexcept { return s_violations.load(std::memory_order_relaxed); }

private:
    static constexpr unsigned Alive = 0xA11FE5u;
    static constexpr unsigned Dead = 0xDEADu;
    bool check() const noexcept {
        if (m_mark == Alive)
            return true;
        s_violations.fetch_add(1, std::memory_order_relaxed);
        return false;
    }

    volatile unsigned m_mark = Alive;
    int m_value;
    static inline std::atomic<long> s_live{0};
    static inline std::atomic<long> s_violations{0};
};

// The exception a Faulty item throws.
struct InjectedFault : std::runtime_error {
    InjectedFault()
        : std::runtime_error("injected fault") {}
};

/*
 * An item whose copy and move constructors can throw. Faults are armed per thread:
 * Faulty::failAfter(n) makes the (n+1)-th copy or move construction on this thread throw
 * InjectedFault, once; failAlways() makes every one throw until disarm(). The move constructor
 * is declared noexcept(false), so the channel copies where it can (move_if_noexcept) and both
 * paths are covered. A moved-from or failed item never loses its value: a throwing constructor
 * leaves its source untouched.
 */
class Faulty {
public:
    explicit Faulty(int v = 0) noexcept
        : m_value(v) {
        s_live.fetch_add(1, std::memory_order_relaxed);
    }
    Faulty(const Faulty &o)
        : m_value(o.m_value) {
        maybeThrow();
        s_live.fetch_add(1, std::memory_order_relaxed);
    }
    Faulty(Faulty &&o) noexcept(false)
        : m_value(o.m_value) {
        maybeThrow();
        s_live.fetch_add(1, std::memory_order_relaxed);
    }
    Faulty &operator=(const Faulty &) = default;
    Faulty &operator=(Faulty &&) = default;
    ~Faulty() { s_live.fetch_sub(1, std::memory_order_relaxed); }

    int value() const noexcept { return m_value; }
    static long live() noexcept { return s_live.load(std::memory_order_relaxed); }

    static void failAfter(int constructions) noexcept { t_countdown = constructions; }
    static void failAlways() noexcept { t_countdown = Always; }
    static void disarm() noexcept { t_countdown = Never; }
    // Copies and moves made on this thread since the last resetCount().
    static int constructions() noexcept { return t_constructions; }
    static void resetCount() noexcept { t_constructions = 0; }

private:
    static constexpr int Never = -1;
    static constexpr int Always = -2;
    static void maybeThrow() {
        ++t_constructions;
        if (t_countdown == Always)
            throw InjectedFault();
        if (t_countdown == 0) {
            t_countdown = Never;
            throw InjectedFault();
        }
        if (t_countdown > 0)
            --t_countdown;
    }

    int m_value;
    static inline std::atomic<long> s_live{0};
    static inline thread_local int t_countdown = Never;
    static inline thread_local int t_constructions = 0;
};

} // namespace Rel
