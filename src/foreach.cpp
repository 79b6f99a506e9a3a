// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#include "QtChannel/detail/foreach.h"

#include "QtChannel/detail/typed.h"
#include "channelbase_p.h"

#include <QtCore/QObject>

namespace QtChannel::detail {

ForEachRunner::ForEachRunner(ChannelBase *channel, QObject *context)
    : m_channel(channel)
    , m_core(ChannelBasePrivate::get(channel))
    , m_context(context)
    , m_promise(startedPromise<void>()) {}

ForEachRunner::~ForEachRunner() = default;

QFuture<void> ForEachRunner::start(const std::shared_ptr<ForEachRunner> &runner) {
    ChannelBase *channel = runner->m_channel;
    QObject *context = runner->m_context;
    QFuture<void> future = runner->m_promise.future();
    if (channel->isFinished()) {
        runner->m_channel = nullptr;
        runner->m_core = nullptr;
        if (const std::exception_ptr reason = channel->closeReason())
            runner->m_promise.reportException(reason);
        runner->m_promise.reportFinished();
        return future;
    }
    runner->m_core->addRunner(runner);
    {
        std::unique_lock locker(runner->m_mutex);
        const auto wake = [runner] { runner->run(); };
        runner->m_onItem = QObject::connect(channel, &ChannelBase::itemAvailable, context, wake,
                                            Qt::QueuedConnection);
        runner->m_onFinished =
            QObject::connect(channel, &ChannelBase::finished, context, wake, Qt::QueuedConnection);
        const std::weak_ptr<ForEachRunner> weak = runner;
        runner->m_onContextDestroyed = QObject::connect(context, &QObject::destroyed, [weak] {
            if (const auto self = weak.lock())
                self->contextDestroyed();
        });
    }
    // Items put before forEach() started are taken too.
    runner->schedule();
    return future;
}

void ForEachRunner::schedule() {
    QMetaObject::invokeMethod(
        m_context, [self = shared_from_this()] { self->run(); }, Qt::QueuedConnection);
}

void ForEachRunner::run() {
    const auto keepAlive = shared_from_this();
    // The mutex is held for the whole batch, callbacks included, and released early when a
    // channel in another thread wants to detach (channelDestroyed()). A channel or context
    // destroyed in this thread, by the callback or a slot, re-enters it: it is recursive.
    std::unique_lock locker(m_mutex);
    for (int n = 0; n < BatchSize; ++n) {
        if (!m_channel)
            return; // already stopped
        if (m_promise.isCanceled()) {
            stopLocked();
            locker.unlock();
            end(End::Canceled);
            return;
        }
        Deferred d;
        bool taken;
        try {
            taken = take(m_channel, d);
        } catch (...) {
            // Moving the item out threw; it is still in the channel. Nothing may escape into
            // the event loop: the loop fails with the exception instead.
            flushLocked(d);
            if (!m_channel)
                return;
            stopLocked();
            locker.unlock();
            end(End::Failed, std::current_exception());
            return;
        }
        // Blocked producers go on at once; the rest (future continuations, signals) waits
        // until the callback has the item, so no user code can destroy the context between
        // the take and the call.
        d.wake();
        if (!taken) {
            flushLocked(d);
            if (!m_channel || !m_channel->isFinished())
                return; // empty: itemAvailable() is armed again and will wake us
            // A channel being destroyed reads as finished too; its destructor is about to
            // cancel us (channelDestroyed()), and returns only once it has.
            if (m_core->isShutDown())
                return;
            const std::exception_ptr reason = m_channel->closeReason();
            stopLocked();
            locker.unlock();
            if (reason)
                end(End::Failed, reason);
            else
                end(End::Finished);
            return;
        }
        try {
            call();
        } catch (...) {
            flushLocked(d);
            if (!m_channel)
                return;
            stopLocked();
            locker.unlock();
            end(End::Failed, std::current_exception());
            return;
        }
        flushLocked(d);
        if (m_detaching.load(std::memory_order_relaxed))
            break; // let the channel's destructor in
    }
    // Yield to the event loop, then go on where we left off.
    if (m_channel)
        schedule();
}

void ForEachRunner::flushLocked(Deferred &d) {
    if (m_core) {
        m_core->flush(d);
    } else {
        d.wake();
        d.complete();
    }
}

void ForEachRunner::stopLocked() {
    ChannelBasePrivate *core = std::exchange(m_core, nullptr);
    m_channel = nullptr;
    QObject::disconnect(m_onItem);
    QObject::disconnect(m_onFinished);
    QObject::disconnect(m_onContextDestroyed);
    core->removeRunner(this);
}

void ForEachRunner::end(End how, std::exception_ptr error) {
    if (how == End::Failed)
        m_promise.reportException(error);
    else if (how == End::Canceled)
        m_promise.reportCanceled();
    m_promise.reportFinished();
}

void ForEachRunner::contextDestroyed() {
    {
        std::unique_lock locker(m_mutex);
        if (!m_channel)
            return;
        stopLocked();
    }
    end(End::Canceled);
}

void ForEachRunner::channelDestroyed() {
    m_detaching.store(true, std::memory_order_relaxed);
    {
        std::unique_lock locker(m_mutex);
        if (!m_channel)
            return;
        // The channel's own connections go with it; its runner list is already empty.
        m_channel = nullptr;
        m_core = nullptr;
        QObject::disconnect(m_onContextDestroyed);
    }
    end(End::Canceled);
}

} // namespace QtChannel::detail
