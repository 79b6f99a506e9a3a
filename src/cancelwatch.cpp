// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#include "QtChannel/detail/cancelwatch.h"

#include <QtCore/QFutureInterface>
#include <QtCore/QPromise>

#if QTCHANNEL_CANCEL_WATCH
#include <QtCore/private/qfutureinterface_p.h>
#endif

#include <atomic>
#include <new>

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#endif

namespace QtChannel::detail {
#if QTCHANNEL_CANCEL_WATCH
// The tag of the QPromise specialisation below.
struct FutureAccess;
#endif
} // namespace QtChannel::detail

#if QTCHANNEL_CANCEL_WATCH
QT_BEGIN_NAMESPACE
// QFutureInterfaceBase befriends every QPromise<T>; this one only reads its private `d`, the
// way QFutureWatcherBase::connectOutputInterface() does (qfuturewatcher.cpp, Qt 6.4).
template <> class QPromise<QtChannel::detail::FutureAccess> {
public:
    static QFutureInterfaceBasePrivate *d(QFutureInterfaceBase &future) { return future.d; }
};
QT_END_NAMESPACE
#endif

namespace QtChannel::detail {

static std::atomic<bool> s_enabled{true};

void CancelWatch::setEnabled(bool enabled) noexcept {
    s_enabled.store(enabled, std::memory_order_relaxed);
}

#if QTCHANNEL_CANCEL_WATCH

// The call-out interface QFutureInterfaceBasePrivate::sendCallOut() calls, under the future's
// mutex, for every event of the future; only Canceled matters here.
class CallOut final : public QFutureCallOutInterface {
public:
    CallOut(CancelWatch *watch, QMutex *futureMutex) noexcept
        : m_watch(watch)
        , m_futureMutex(futureMutex) {}
    void postCallOutEvent(const QFutureCallOutEvent &event) override {
#if defined(__SANITIZE_THREAD__)
        // Qt calls this with the future's mutex held, locked inside libQt6Core where
        // ThreadSanitizer cannot see it; unwatch() locks the same mutex from our code. Tell
        // TSan about the lock and unlock this call sits between, so that it sees unwatch()
        // (and the waiter's deletion after it) ordered after this call, as it is.
        __tsan_acquire(m_futureMutex);
#endif
        if (event.callOutType == QFutureCallOutEvent::Canceled)
            m_watch->canceled();
#if defined(__SANITIZE_THREAD__)
        __tsan_release(m_futureMutex);
#endif
    }
    void callOutInterfaceDisconnected() override {}

private:
    CancelWatch *m_watch;
    [[maybe_unused]] QMutex *m_futureMutex;
};

using Access = QPromise<FutureAccess>;

bool CancelWatch::isAvailable() noexcept {
    return true;
}

void CancelWatch::watch(QFutureInterfaceBase &promise) noexcept {
    if (!s_enabled.load(std::memory_order_relaxed))
        return;
    static_assert(sizeof(CallOut) <= sizeof(m_callOut) && alignof(CallOut) <= alignof(void *),
                  "CancelWatch::m_callOut must hold a CallOut");
    QFutureInterfaceBasePrivate *d = Access::d(promise);
    auto *callOut = ::new (static_cast<void *>(m_callOut)) CallOut(this, &d->m_mutex);
    // No lock: no other thread knows the promise yet (connectOutputInterface() would also
    // replay the state as events, which a fresh promise does not need).
    d->outputConnections.append(callOut);
    m_watching = true;
}

void CancelWatch::unwatch(QFutureInterfaceBase &promise) noexcept {
    if (!m_watching)
        return;
    m_watching = false;
    auto *callOut = std::launder(reinterpret_cast<CallOut *>(m_callOut));
    QFutureInterfaceBasePrivate *d = Access::d(promise);
    {
        QMutexLocker locker(&d->m_mutex);
        d->outputConnections.removeOne(callOut);
    }
    callOut->~CallOut();
}

#else // !QTCHANNEL_CANCEL_WATCH

bool CancelWatch::isAvailable() noexcept {
    return false;
}

void CancelWatch::watch(QFutureInterfaceBase &) noexcept {}

void CancelWatch::unwatch(QFutureInterfaceBase &) noexcept {}

#endif

} // namespace QtChannel::detail
