// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#include "QtChannel/detail/lock.h"

#include "futex_p.h"

namespace QtChannel::detail {

// How long a thread spins for the lock before it sleeps. A channel's critical section is a
// few dozen instructions; 100 pauses covers it with room to spare on the machines measured in
// docs/design.md, and is short enough not to matter when the holder was preempted.
static constexpr int LockSpinCount = 100;

void Lock::lockSlow() noexcept {
    for (int i = 0; i < LockSpinCount; ++i) {
        std::uint32_t state = m_state.load(std::memory_order_relaxed);
        if (state == Unlocked &&
            m_state.compare_exchange_weak(state, Locked, std::memory_order_acquire,
                                          std::memory_order_relaxed))
            return;
        if (state == Contended)
            break; // others are already asleep: queue up behind them
        cpuRelax();
    }
    // Mark the lock contended, so that its owner wakes somebody when it unlocks, and sleep.
    while (m_state.exchange(Contended, std::memory_order_acquire) != Unlocked)
        futexWait(&m_state, Contended);
}

void Lock::wakeOne() noexcept {
    futexWake(&m_state, 1);
}

} // namespace QtChannel::detail
