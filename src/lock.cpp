// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#include "QtChannel/detail/lock.h"

#include "futex_p.h"

#include <algorithm>
#include <chrono>

namespace QtChannel::detail {

int relaxesPerMicrosecond() noexcept {
    static std::atomic<int> cached{0};
    int n = cached.load(std::memory_order_relaxed);
    if (n)
        return n;
    constexpr int Samples = 2000;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < Samples; ++i)
        cpuRelax();
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                        std::chrono::steady_clock::now() - start)
                        .count();
    n = int(std::clamp<qint64>(ns > 0 ? qint64(Samples) * 1000 / ns : 1000, 4, 1000));
    cached.store(n, std::memory_order_relaxed); // a racing first call measures too: harmless
    return n;
}

void Lock::lockSlow() noexcept {
    // Spin while the holder is busy (critical sections are short), then sleep.
    bool othersAsleep = false;
    const bool acquired = m_spin.spin([&] {
        std::uint32_t state = m_state.load(std::memory_order_relaxed);
        if (state == Contended) {
            othersAsleep = true; // queue up behind them
            return true;
        }
        return state == Unlocked &&
               m_state.compare_exchange_weak(state, Locked, std::memory_order_acquire,
                                             std::memory_order_relaxed);
    });
    if (acquired && !othersAsleep)
        return;
    // Mark the lock contended, so that its owner wakes somebody when it unlocks, and sleep.
    while (m_state.exchange(Contended, std::memory_order_acquire) != Unlocked)
        futexWait(&m_state, Contended);
}

void Lock::wakeOne() noexcept {
    futexWake(&m_state, 1);
}

} // namespace QtChannel::detail
