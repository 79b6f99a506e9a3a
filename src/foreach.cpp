// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#include "QtChannel/detail/foreach.h"

#include "QtChannel/channelbase.h"

#include <QtCore/QObject>

namespace QtChannel::detail {

ForEachRunner::ForEachRunner(ChannelBase *channel, QObject *context)
    : m_channel(channel)
    , m_context(context)
    , m_promise(startedPromise<void>()) {}

ForEachRunner::~ForEachRunner() = default;

QFuture<void> ForEachRunner::start(const std::shared_ptr<ForEachRunner> &runner) {
    ChannelBase *channel = runner->m_channel;
    QObject *context = runner->m_context;
    QFuture<void> future = runner->m_promise.future();
    if (channel->isFinished()) {
        runner->m_channel = nullptr;
        runner->m_promise.reportFinished();
        return future;
    }
    channel->addRunner(runner);
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
    for (int n = 0; n < BatchSize; ++n) {
        Batch b;
        bool taken = false;
        {
            std::unique_lock locker(m_mutex);
            if (!m_channel)
                return; // already stopped
            if (m_promise.isCanceled()) {
                stopLocked();
                locker.unlock();
                end(End::Canceled);
                return;
            }
            try {
                taken = take(m_channel, b);
            } catch (...) {
                // Moving the item out of the channel threw: it is still there. The loop
                // fails with the exception, as when the callback throws; it must not escape
                // into the event loop.
                stopLocked();
                locker.unlock();
                ChannelBase::settle(b);
                end(End::Failed, std::current_exception());
                return;
            }
            if (!taken && m_channel->isFinished()) {
                // A channel being destroyed reads as finished too; its destructor is about to
                // cancel us (channelDestroyed()), and returns only once it has.
                if (m_channel->m_shutDown.load(std::memory_order_acquire))
                    return;
                stopLocked();
                locker.unlock();
                finishBatch(b);
                end(End::Finished);
                return;
            }
        }
        // Blocked producers go on at once; the rest (future continuations, signals) waits
        // until the callback has the item, so no user code can destroy the context between
        // the take and the call.
        ChannelBase::wakeBlocked(b);
        if (!taken) {
            finishBatch(b);
            return; // empty: itemAvailable() is armed again and will wake us
        }
        try {
            call();
        } catch (...) {
            finishBatch(b);
            {
                std::unique_lock locker(m_mutex);
                if (!m_channel)
                    return;
                stopLocked();
            }
            end(End::Failed, std::current_exception());
            return;
        }
        finishBatch(b);
    }
    // Yield to the event loop, then go on where we left off.
    std::unique_lock locker(m_mutex);
    if (m_channel)
        schedule();
}

void ForEachRunner::finishBatch(Batch &b) {
    if (b.events) {
        std::unique_lock locker(m_mutex);
        if (m_channel)
            m_channel->emitEvents(b.events);
    }
    ChannelBase::settle(b);
}

void ForEachRunner::stopLocked() {
    ChannelBase *channel = std::exchange(m_channel, nullptr);
    QObject::disconnect(m_onItem);
    QObject::disconnect(m_onFinished);
    QObject::disconnect(m_onContextDestroyed);
    channel->removeRunner(this);
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
    {
        std::unique_lock locker(m_mutex);
        if (!m_channel)
            return;
        // The channel's own connections go with it; its runner list is already empty.
        m_channel = nullptr;
        QObject::disconnect(m_onContextDestroyed);
    }
    end(End::Canceled);
}

} // namespace QtChannel::detail
