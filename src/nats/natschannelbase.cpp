// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#include <QtChannel/natschannelbase.h>

#include "natschannelstate_p.h"
#include "natsengine_p.h"

#include <QtCore/QMetaMethod>
#include <QtCore/QRegularExpression>

#include <condition_variable>
#include <mutex>
#include <stdexcept>

namespace QtChannel {

using detail::NatsChannelState;
using detail::NatsPutOp;

namespace {

// A caller waiting for the engine: one result, set once.
template <typename R> struct Waiter {
    std::mutex mutex;
    std::condition_variable cv;
    bool done = false;
    R result{};
    std::exception_ptr error;

    void set(R r, std::exception_ptr e) {
        {
            std::lock_guard lock(mutex);
            result = std::move(r);
            error = std::move(e);
            done = true;
        }
        cv.notify_all();
    }
    // Waits until set, or until `timeout` as a safety net. Rethrows the error.
    R wait(std::chrono::milliseconds timeout, const QString &what) {
        std::unique_lock lock(mutex);
        if (!cv.wait_for(lock, timeout, [this] { return done; }))
            throw NatsError(NatsError::Kind::Timeout,
                            QStringLiteral("%1: no answer in time").arg(what));
        if (error)
            std::rethrow_exception(error);
        return std::move(result);
    }
};

std::exception_ptr stoppedError(const QString &name) {
    return std::make_exception_ptr(
        NatsError(NatsError::Kind::Connection,
                  QStringLiteral("the connection of channel %1 is closed").arg(name)));
}

void validate(NatsConnection *connection, const QString &name, qsizetype capacity, bool bindOnly,
              const NatsChannelOptions &o) {
    if (!connection)
        throw std::invalid_argument("QtChannel::NatsChannel: the connection is null");
    static const QRegularExpression valid(QStringLiteral("^[A-Za-z0-9_-]{1,64}$"));
    if (!valid.match(name).hasMatch())
        throw std::invalid_argument(
            "QtChannel::NatsChannel: a channel's name is 1 to 64 letters, digits, '-' or '_' (" +
            name.toStdString() + ")");
    if (!bindOnly) {
        if (capacity == 0)
            throw std::invalid_argument(
                "QtChannel::NatsChannel: capacity 0 (rendezvous) is not available over the "
                "network, where a put cannot wait for a get in another process; use 1");
        if (capacity < 0 && capacity != Unbounded)
            throw std::invalid_argument(
                "QtChannel::NatsChannel: the capacity is Unbounded or at least 1");
        if (o.replicas < 1 || o.replicas > 5)
            throw std::invalid_argument("QtChannel::NatsChannel: replicas must be 1 to 5");
        if (o.ackWait.count() < 100)
            throw std::invalid_argument("QtChannel::NatsChannel: ackWait must be at least 100 ms");
        if (o.maxAckPending < 1)
            throw std::invalid_argument("QtChannel::NatsChannel: maxAckPending must be at least 1");
        if (o.duplicateWindow <= o.requestTimeout)
            throw std::invalid_argument(
                "QtChannel::NatsChannel: duplicateWindow must be longer than requestTimeout");
    }
    if (o.requestTimeout.count() < 10 || o.pollInterval.count() < 1 || o.openTimeout.count() < 1)
        throw std::invalid_argument(
            "QtChannel::NatsChannel: requestTimeout (at least 10 ms), pollInterval and "
            "openTimeout must be positive");
    if (o.putWindow < 1 || o.forEachWindow < 1)
        throw std::invalid_argument(
            "QtChannel::NatsChannel: putWindow and forEachWindow must be at least 1");
}

int signalIndex(const QMetaMethod &signal) {
    if (signal == QMetaMethod::fromSignal(&NatsChannelBase::itemAvailable))
        return 0;
    if (signal == QMetaMethod::fromSignal(&NatsChannelBase::spaceAvailable))
        return 1;
    if (signal == QMetaMethod::fromSignal(&NatsChannelBase::sizeChanged))
        return 2;
    if (signal == QMetaMethod::fromSignal(&NatsChannelBase::closed))
        return 3;
    if (signal == QMetaMethod::fromSignal(&NatsChannelBase::finished))
        return 4;
    return -1;
}

} // namespace

NatsChannelBase::NatsChannelBase(NatsConnection *connection, const QString &name,
                                 qsizetype capacity, bool bindOnly,
                                 const NatsChannelOptions &options, const QByteArray &itemType)
    : QObject(nullptr)
    , m_connection(connection) {
    validate(connection, name, capacity, bindOnly, options);
    auto engine = connection->engine();
    engine->assertNotEngineThread("NatsChannel::open()");
    const NatsConnection::State connectionState = engine->state();
    if (connectionState != NatsConnection::State::Connected &&
        connectionState != NatsConnection::State::Reconnecting)
        throw NatsError(NatsError::Kind::Connection,
                        QStringLiteral("cannot open channel %1: the connection is not connected "
                                       "(call NatsConnection::connectBlocking() first)")
                            .arg(name));
    m_state =
        std::make_shared<NatsChannelState>(engine, name, capacity, bindOnly, options, itemType);
    m_state->setOwner(this);
    auto waiter = std::make_shared<Waiter<bool>>();
    auto state = m_state;
    const bool posted = engine->post([state, waiter] {
        state->open([waiter](std::exception_ptr error) { waiter->set(!error, error); });
    });
    if (!posted)
        std::rethrow_exception(stoppedError(name));
    // The engine answers within openTimeout; the margin only guards against a stuck engine.
    waiter->wait(options.openTimeout + options.requestTimeout * 2 + std::chrono::seconds(5),
                 QStringLiteral("opening channel %1").arg(name));
}

NatsChannelBase::~NatsChannelBase() {
    m_state->setOwner(nullptr);
    auto state = m_state;
    state->engine->post([state] { state->detach(); });
}

std::shared_ptr<detail::NatsEngine> NatsChannelBase::engine() const {
    return m_state->engine;
}

void NatsChannelBase::assertMayBlock(const char *call) const {
    m_state->engine->assertNotEngineThread(call);
}

// --- puts ------------------------------------------------------------------------------------

QFuture<void> NatsChannelBase::putPayload(QByteArray payload) {
    auto op = std::make_shared<NatsPutOp>(NatsPutOp::Mode::Future, std::move(payload));
    op->promise.reportStarted();
    QFuture<void> future = op->promise.future();
    if (!m_state->postPut(op)) {
        op->promise.reportException(stoppedError(name()));
        op->promise.reportFinished();
    }
    return future;
}

PutResult NatsChannelBase::tryPutPayload(QByteArray payload) {
    assertMayBlock("NatsChannel::tryPut()");
    auto op = std::make_shared<NatsPutOp>(NatsPutOp::Mode::Try, std::move(payload));
    // A try does not wait for room, only for the answer, up to two round trips.
    op->deadline = QDeadlineTimer(m_state->options().requestTimeout * 2);
    if (!m_state->postPut(op))
        std::rethrow_exception(stoppedError(name()));
    std::unique_lock lock(op->mutex);
    op->cv.wait(lock, [&] { return op->stage == NatsPutOp::Stage::Done; });
    if (op->error)
        std::rethrow_exception(op->error);
    return op->result;
}

PutResult NatsChannelBase::putPayloadBlocking(QByteArray payload, QDeadlineTimer deadline) {
    assertMayBlock("NatsChannel::putBlocking()");
    auto op = std::make_shared<NatsPutOp>(NatsPutOp::Mode::Blocking, std::move(payload));
    op->deadline = deadline;
    auto state = m_state;
    if (!state->postPut(op))
        std::rethrow_exception(stoppedError(name()));
    std::unique_lock lock(op->mutex);
    for (;;) {
        if (op->stage == NatsPutOp::Stage::Done)
            break;
        const bool waitingHere =
            op->stage == NatsPutOp::Stage::Queued || op->stage == NatsPutOp::Stage::WaitingRoom;
        if (waitingHere && !op->uncertain && deadline.hasExpired()) {
            // Not on the wire and not possibly stored: the engine drops it when it gets to it.
            op->withdrawn = true;
            lock.unlock();
            // Through `state`, not `this`: the channel may be destroyed while this thread waits.
            state->engine->post([state] { state->pump(); });
            return PutResult::Full;
        }
        if (!waitingHere || deadline.isForever())
            op->cv.wait(lock); // on the wire: its answer, or its timeout, settles it
        else
            op->cv.wait_until(lock, deadline.deadline<std::chrono::steady_clock>());
    }
    if (op->error)
        std::rethrow_exception(op->error);
    return op->result;
}

// --- gets ------------------------------------------------------------------------------------

void NatsChannelBase::addGet(std::shared_ptr<detail::NatsGetSink> sink) {
    auto state = m_state;
    if (!state->engine->post([state, sink] { state->addGet(sink); }))
        sink->fail(stoppedError(name()));
}

void NatsChannelBase::nudge() {
    auto state = m_state;
    state->engine->post([state] { state->pump(); });
}

std::function<void()> NatsChannelBase::nudger() const {
    std::weak_ptr<NatsChannelState> weak = m_state;
    return [weak] {
        if (auto state = weak.lock())
            state->engine->post([state] { state->pump(); });
    };
}

std::function<void(std::vector<QByteArray>, bool)> NatsChannelBase::settler() const {
    std::weak_ptr<NatsChannelState> weak = m_state;
    return [weak](std::vector<QByteArray> subjects, bool ack) {
        auto state = weak.lock();
        if (!state)
            return;
        state->engine->post([state, subjects = std::move(subjects), ack] {
            for (const QByteArray &subject : subjects) {
                if (ack)
                    state->engine->ack(subject);
                else
                    state->engine->nak(subject);
            }
            state->pump(); // room was made
        });
    };
}

// --- state -----------------------------------------------------------------------------------

bool NatsChannelBase::close() {
    assertMayBlock("NatsChannel::close()");
    return closeAsync().result();
}

QFuture<bool> NatsChannelBase::closeAsync() {
    QFutureInterface<bool> promise;
    promise.reportStarted();
    QFuture<bool> future = promise.future();
    auto state = m_state;
    const bool posted = state->engine->post([state, promise]() mutable {
        state->close([promise](bool won, std::exception_ptr error) mutable {
            if (error)
                promise.reportException(error);
            else
                promise.reportAndMoveResult(std::move(won));
            promise.reportFinished();
        });
    });
    if (!posted) {
        promise.reportException(stoppedError(name()));
        promise.reportFinished();
    }
    return future;
}

QFuture<void> NatsChannelBase::join() const {
    QFutureInterface<void> promise;
    promise.reportStarted();
    QFuture<void> future = promise.future();
    if (isFinished()) {
        promise.reportFinished();
        return future;
    }
    auto state = m_state;
    if (!state->engine->post([state, promise] { state->join(promise); })) {
        promise.reportException(stoppedError(name()));
        promise.reportFinished();
    }
    return future;
}

QFuture<void> NatsChannelBase::refresh() {
    QFutureInterface<void> promise;
    promise.reportStarted();
    QFuture<void> future = promise.future();
    auto state = m_state;
    const bool posted = state->engine->post([state, promise]() mutable {
        state->refresh([promise](std::exception_ptr error) mutable {
            if (error)
                promise.reportException(error);
            promise.reportFinished();
        });
    });
    if (!posted) {
        promise.reportException(stoppedError(name()));
        promise.reportFinished();
    }
    return future;
}

bool NatsChannelBase::isClosed() const noexcept {
    return m_state->closed.load(std::memory_order_acquire);
}

bool NatsChannelBase::isFinished() const noexcept {
    return m_state->finished.load(std::memory_order_acquire);
}

qsizetype NatsChannelBase::size() const noexcept {
    return m_state->size.load(std::memory_order_acquire);
}

qsizetype NatsChannelBase::capacity() const noexcept {
    return m_state->capacity();
}

bool NatsChannelBase::isFull() const noexcept {
    const qsizetype cap = capacity();
    return cap != Unbounded && size() >= cap;
}

qsizetype NatsChannelBase::pendingPuts() const noexcept {
    return m_state->pendingPuts.load(std::memory_order_acquire);
}

qsizetype NatsChannelBase::pendingGets() const noexcept {
    return m_state->pendingGets.load(std::memory_order_acquire);
}

QString NatsChannelBase::name() const {
    return m_state->name;
}

QString NatsChannelBase::streamName() const {
    return QString::fromUtf8(m_state->stream);
}

NatsChannelOptions NatsChannelBase::options() const {
    return m_state->options();
}

NatsConnection *NatsChannelBase::connection() const {
    return m_connection;
}

void NatsChannelBase::connectNotify(const QMetaMethod &signal) {
    const int i = signalIndex(signal);
    if (i < 0)
        return;
    m_state->listeners[i].fetch_add(1, std::memory_order_relaxed);
    nudge(); // start polling
}

void NatsChannelBase::disconnectNotify(const QMetaMethod &signal) {
    const int i = signalIndex(signal);
    if (i < 0) {
        if (!signal.isValid()) {
            // A disconnect of everything: the counts are unknown, keep polling (harmless).
        }
        return;
    }
    if (m_state->listeners[i].fetch_sub(1, std::memory_order_relaxed) <= 0)
        m_state->listeners[i].store(0, std::memory_order_relaxed);
}

void NatsChannelBase::remove(NatsConnection *connection, const QString &name,
                             std::chrono::milliseconds timeout) {
    validate(connection, name, 1, true, NatsChannelOptions{});
    auto engine = connection->engine();
    engine->assertNotEngineThread("NatsChannelBase::remove()");
    auto waiter = std::make_shared<Waiter<bool>>();
    const QByteArray stream = "QTCHANNEL_" + name.toUtf8();
    const bool posted = engine->post([engine, stream, timeout, waiter, name] {
        if (!engine->isConnected()) {
            waiter->set(false,
                        std::make_exception_ptr(NatsError(
                            NatsError::Kind::Connection,
                            QStringLiteral("cannot remove channel %1: not connected").arg(name))));
            return;
        }
        // The close marker's stream, then the items' stream; a missing one is fine.
        engine->apiRequest(
            "$JS.API.STREAM.DELETE." + stream + "_CLOSED", {}, timeout,
            [engine, stream, timeout, waiter, name](detail::NatsApiReply first) {
                engine->apiRequest(
                    "$JS.API.STREAM.DELETE." + stream, {}, timeout,
                    [waiter, name, first](detail::NatsApiReply second) {
                        for (const detail::NatsApiReply *reply :
                             std::initializer_list<const detail::NatsApiReply *>{&first, &second}) {
                            if (reply->ok() || reply->errCode == 10059)
                                continue;
                            waiter->set(false,
                                        std::make_exception_ptr(NatsError(
                                            reply->outcome == detail::NatsApiReply::Outcome::Timeout
                                                ? NatsError::Kind::Timeout
                                                : NatsError::Kind::JetStream,
                                            QStringLiteral("cannot remove channel %1: %2")
                                                .arg(name, reply->description),
                                            0, reply->errCode)));
                            return;
                        }
                        waiter->set(true, nullptr);
                    });
            });
    });
    if (!posted)
        std::rethrow_exception(stoppedError(name));
    waiter->wait(timeout * 2 + std::chrono::seconds(5),
                 QStringLiteral("removing channel %1").arg(name));
}

} // namespace QtChannel
