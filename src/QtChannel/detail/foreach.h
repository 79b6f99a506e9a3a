// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

// Internal header: not part of the public API.

#include <QtChannel/detail/waiter.h>
#include <QtChannel/qtchannel_export.h>

#include <QtCore/QFuture>
#include <QtCore/QMetaObject>

#include <atomic>
#include <memory>
#include <mutex>

QT_BEGIN_NAMESPACE
class QObject;
QT_END_NAMESPACE

namespace QtChannel {
class ChannelBase;
class ChannelBasePrivate;
} // namespace QtChannel

namespace QtChannel::detail {

/*
 * The engine of Channel<T>::forEach(): a consumer that lives in its context's thread.
 *
 * It takes items only in that thread, with the channel's non-waiting take, right before it
 * passes each to the callback; so no item is ever "in flight" to it, and if the context dies,
 * every item it has not passed on is still in the channel. It is woken by the channel's
 * itemAvailable() and finished() signals (queued to the context) and drains to empty each time,
 * which re-arms itemAvailable(): no wake-up is lost. It yields to the event loop every
 * BatchSize items so that a fast producer cannot starve the context's thread.
 *
 * The channel and the context can each be destroyed first, from any thread: m_mutex guards
 * m_channel, which the channel's destructor clears, before it destroys any item. A run holds it
 * for a whole batch, callbacks included (one lock per batch, not per item), and lets go between
 * two items as soon as a destructor in another thread asks (m_detaching). It is recursive
 * because a callback, or a slot or continuation it triggers, may destroy the channel or the
 * context in this thread.
 */
class QTCHANNEL_EXPORT ForEachRunner : public std::enable_shared_from_this<ForEachRunner> {
public:
    virtual ~ForEachRunner();
    ForEachRunner(const ForEachRunner &) = delete;
    ForEachRunner &operator=(const ForEachRunner &) = delete;

    // Registers with the channel, connects, and schedules the first run in the context's
    // thread. Returns the future the caller gets.
    static QFuture<void> start(const std::shared_ptr<ForEachRunner> &runner);

    // The channel is being destroyed: stop, cancel the future. Returns once no item is being
    // taken or passed on.
    void channelDestroyed();

    static constexpr int BatchSize = 256;

protected:
    ForEachRunner(ChannelBase *channel, QObject *context);

    // Takes one item into the runner without emitting anything; the channel's follow-up work
    // goes into `d`. Called with m_mutex held. False when nothing was available.
    virtual bool take(ChannelBase *channel, Deferred &d) = 0;
    // Passes the taken item to the callback. Called with no lock held.
    virtual void call() = 0;

private:
    enum class End { Finished, Canceled, Failed };

    void run();
    void schedule();
    void contextDestroyed();
    // Requires m_mutex; returns what to do once it is released.
    void stopLocked();
    void end(End how, std::exception_ptr error = {});
    void flushLocked(Deferred &d);

    std::recursive_mutex m_mutex;         // std, not QRecursiveMutex: ThreadSanitizer sees it
    std::atomic<bool> m_detaching{false}; // a destructor in another thread waits for m_mutex
    ChannelBase *m_channel;               // guarded by m_mutex; null once stopped
    ChannelBasePrivate *m_core;           // guarded by m_mutex, as m_channel
    QObject *const m_context;             // immutable; only dereferenced in its own thread
    QFutureInterface<void> m_promise;     // thread-safe by itself
    QMetaObject::Connection m_onItem, m_onFinished, m_onContextDestroyed; // guarded by m_mutex
};

} // namespace QtChannel::detail
