// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#include "QtChannel/detail/parker.h"

#include "futex_p.h"

namespace QtChannel::detail {

Parker &Parker::forThisThread() noexcept {
    thread_local Parker parker;
    // The previous cycle's unpark() has published Notified before that call returned (the
    // channel waits for it even on a deadline), so no store from it can follow this reset.
    parker.m_state.store(Empty, std::memory_order_relaxed);
    return parker;
}

bool Parker::park(QDeadlineTimer deadline, AdaptiveSpin *spin) noexcept {
    if (spin && spin->spin([this] { return m_state.load(std::memory_order_acquire) == Notified; }))
        return true;
    for (;;) {
        std::uint32_t state = m_state.load(std::memory_order_acquire);
        if (state == Notified)
            return true;
        if (state == Empty &&
            !m_state.compare_exchange_strong(state, Sleeping, std::memory_order_acquire,
                                             std::memory_order_acquire)) {
            continue; // became Notified
        }
        qint64 timeout = -1;
        if (!deadline.isForever()) {
            timeout = deadline.remainingTimeNSecs();
            if (timeout <= 0) {
                state = Sleeping;
                if (m_state.compare_exchange_strong(state, Empty, std::memory_order_acquire,
                                                    std::memory_order_acquire))
                    return false;
                return true; // notified just in time
            }
        }
        futexWait(&m_state, Sleeping, timeout);
    }
}

void Parker::unpark() noexcept {
    if (m_state.exchange(Notified, std::memory_order_release) == Sleeping)
        futexWake(&m_state, 1);
}

} // namespace QtChannel::detail
