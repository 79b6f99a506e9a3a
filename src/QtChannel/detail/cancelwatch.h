// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

// Internal header: not part of the public API.

#include <QtChannel/qtchannel_export.h>

#include <QtCore/qglobal.h>

#include <cstddef>

QT_BEGIN_NAMESPACE
class QFutureInterfaceBase;
QT_END_NAMESPACE

namespace QtChannel::detail {

/*
 * Hears, at once, that a future was canceled. Qt 6.4 tells a promise nothing when its future
 * is canceled (only a QFutureWatcher, a QObject with an event loop, hears it), so a canceled
 * pending get would otherwise be finished only when the channel next looked at its line. A
 * CancelWatch registers on the future the way QFutureWatcher does, through Qt's call-out
 * interface, without an object or an event: canceled() then runs in the canceling thread,
 * inside QFuture::cancel(), with the future's mutex held, so it must not block and must not
 * touch the future; the channel's waiters schedule a sweep of their line instead.
 *
 * The call-out interface is Qt-private: cancelwatch.cpp uses it for the Qt versions whose
 * private headers it was checked against, and isAvailable() says whether it does. Without it,
 * canceled futures are found lazily, as before.
 */
class QTCHANNEL_EXPORT CancelWatch {
public:
    CancelWatch() noexcept = default;
    CancelWatch(const CancelWatch &) = delete;
    CancelWatch &operator=(const CancelWatch &) = delete;

    static bool isAvailable() noexcept;
    // For tests of the lazy path: futures created while this is false are not watched (their
    // cancellation is found when the channel next looks at them, or by a sweep). Default true.
    static void setEnabled(bool enabled) noexcept;

    // Starts watching `promise`, which no other thread may know yet (it is not locked).
    void watch(QFutureInterfaceBase &promise) noexcept;
    // Stops watching; after it returns, canceled() is not called any more. Idempotent.
    void unwatch(QFutureInterfaceBase &promise) noexcept;

protected:
    virtual ~CancelWatch() = default;
    // The future was canceled. Runs under the future's mutex, in the canceling thread.
    virtual void canceled() noexcept = 0;

private:
    friend class CallOut;
    // A Qt call-out interface object (a vtable pointer and two pointers), built in place.
    alignas(void *) std::byte m_callOut[3 * sizeof(void *)];
    bool m_watching = false;
};

} // namespace QtChannel::detail
