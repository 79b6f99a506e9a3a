// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#include <QtChannel/natscodec.h>
#include <QtChannel/natsconnection.h>
#include <QtChannel/natsdetail.h>

#include "natsengine_p.h"

#include <QtChannel/Channel>

#include <QtCore/QFutureInterface>

namespace QtChannel {

// --- NatsError -------------------------------------------------------------------------------

NatsError::NatsError(Kind kind, const QString &message, int status, int jsErrorCode)
    : m_kind(kind)
    , m_status(status)
    , m_jsErrorCode(jsErrorCode)
    , m_what(message.toUtf8()) {}

void NatsError::raise() const {
    throw *this;
}

NatsError *NatsError::clone() const {
    return new NatsError(*this);
}

const char *NatsError::what() const noexcept {
    return m_what.constData();
}

// --- NatsConnection --------------------------------------------------------------------------

NatsConnection::NatsConnection(const NatsConnectionOptions &options, QObject *parent)
    : QObject(parent)
    , m_engine(std::make_shared<detail::NatsEngine>(options)) {
    m_engine->setOwner(this);
}

namespace {
NatsConnectionOptions withServer(const QUrl &server) {
    NatsConnectionOptions options;
    options.servers = {server};
    return options;
}
} // namespace

NatsConnection::NatsConnection(const QUrl &server, QObject *parent)
    : NatsConnection(withServer(server), parent) {}

NatsConnection::~NatsConnection() {
    m_engine->setOwner(nullptr);
    m_engine->shutdown();
}

QFuture<void> NatsConnection::connectToServer() {
    QFutureInterface<void> promise;
    promise.reportStarted();
    QFuture<void> future = promise.future();
    m_engine->connectAsync([promise](std::exception_ptr error) mutable {
        if (error)
            promise.reportException(error);
        promise.reportFinished();
    });
    return future;
}

void NatsConnection::connectBlocking() {
    m_engine->assertNotEngineThread("NatsConnection::connectBlocking()");
    connectToServer().waitForFinished(); // rethrows the NatsError
}

void NatsConnection::close() {
    m_engine->shutdown();
}

NatsConnection::State NatsConnection::state() const {
    return m_engine->state();
}

QUrl NatsConnection::connectedUrl() const {
    return isConnected() ? m_engine->connectedUrl() : QUrl();
}

QString NatsConnection::lastError() const {
    return m_engine->lastError();
}

NatsConnectionOptions NatsConnection::options() const {
    return m_engine->options();
}

namespace detail {

// --- the envelope ----------------------------------------------------------------------------

namespace {

const char *kindName(int kind) {
    switch (NatsItemKind(kind)) {
    case NatsItemKind::Bytes:
        return "QByteArray";
    case NatsItemKind::String:
        return "QString";
    case NatsItemKind::Json:
        return "QJsonDocument";
    case NatsItemKind::DataStream:
        return "QDataStream-encoded item";
    }
    return "item of an unknown kind";
}

[[noreturn]] void throwFormat(const QByteArray &payload, const QString &why) {
    NatsError error(NatsError::Kind::Format, why);
    error.setPayload(payload);
    throw error;
}

} // namespace

QByteArray natsEnvelopeHeader(NatsItemKind kind) {
    QByteArray header("QC");
    header.append(char(NatsEnvelopeVersion));
    header.append(char(kind));
    if (kind == NatsItemKind::DataStream)
        header.append(char(NatsDataStreamVersion));
    return header;
}

qsizetype natsOpenEnvelope(const QByteArray &payload, NatsItemKind kind, const char *typeName,
                           int *dataStreamVersion) {
    if (payload.size() < 4 || payload.at(0) != 'Q' || payload.at(1) != 'C')
        throwFormat(payload, QStringLiteral("an item of %1 bytes is not a QtChannel item (no "
                                            "envelope); expected a %2")
                                 .arg(payload.size())
                                 .arg(QLatin1String(typeName)));
    const int version = quint8(payload.at(2));
    if (version != NatsEnvelopeVersion)
        throwFormat(payload, QStringLiteral("an item was written in envelope version %1; this "
                                            "library reads version %2")
                                 .arg(version)
                                 .arg(NatsEnvelopeVersion));
    const int itemKind = quint8(payload.at(3));
    if (itemKind != int(kind))
        throwFormat(payload, QStringLiteral("an item is a %1, not a %2")
                                 .arg(QLatin1String(kindName(itemKind)), QLatin1String(typeName)));
    if (kind != NatsItemKind::DataStream)
        return 4;
    if (payload.size() < 5)
        throwFormat(payload, QStringLiteral("an item's envelope is cut short"));
    const int streamVersion = quint8(payload.at(4));
    if (streamVersion > QDataStream::Qt_DefaultCompiledVersion)
        throwFormat(payload, QStringLiteral("an item was written with QDataStream version %1, "
                                            "newer than this Qt's %2")
                                 .arg(streamVersion)
                                 .arg(int(QDataStream::Qt_DefaultCompiledVersion)));
    if (dataStreamVersion)
        *dataStreamVersion = streamVersion;
    return 5;
}

void natsThrowUndecodable(const QByteArray &payload, const char *typeName) {
    throwFormat(payload,
                QStringLiteral("an item cannot be read as a %1").arg(QLatin1String(typeName)));
}

// --- NatsAckHandle ---------------------------------------------------------------------------

NatsAckHandle::NatsAckHandle(std::shared_ptr<NatsEngine> engine, const NatsMessage &message,
                             std::chrono::milliseconds ackWait, std::chrono::milliseconds retry)
    : m_engine(std::move(engine))
    , m_ackSubject(message.ackSubject)
    , m_sequence(message.sequence)
    , m_deliveryCount(message.deliveryCount)
    , m_ackWait(ackWait)
    , m_retry(retry)
    , m_timerStart(std::chrono::steady_clock::now()) {}

NatsAckHandle::~NatsAckHandle() {
    if (m_settled)
        return;
    // Dropped without a word: the item goes back to the channel.
    auto engine = m_engine;
    const QByteArray subject = m_ackSubject;
    engine->post([engine, subject] { engine->nak(subject); });
}

QFuture<void> NatsAckHandle::ack() {
    QMutexLocker lock(&m_mutex);
    if (m_settled) {
        if (m_ackFuture.isValid())
            return m_ackFuture;
        QFutureInterface<void> refused;
        refused.reportStarted();
        refused.reportException(NatsError(NatsError::Kind::Usage,
                                          QStringLiteral("ack() after nak(): the item was given "
                                                         "back already")));
        refused.reportFinished();
        return refused.future();
    }
    m_settled = true;
    QFutureInterface<void> promise;
    promise.reportStarted();
    m_ackFuture = promise.future();
    // Confirmation is awaited until the ack wait runs out (after which the server may deliver
    // the item again anyway), and at least two retries long for a late ack.
    const auto now = std::chrono::steady_clock::now();
    const auto giveUpAt = std::max(m_timerStart + m_ackWait, now + m_retry * 2);
    lock.unlock();
    auto engine = m_engine;
    const QByteArray subject = m_ackSubject;
    const auto retry = m_retry;
    const bool posted = engine->post([engine, subject, giveUpAt, retry, promise] {
        engine->ack(
            subject,
            [promise](bool confirmed) mutable {
                if (!confirmed)
                    promise.reportException(NatsError(
                        NatsError::Kind::Timeout,
                        QStringLiteral("the server did not confirm an acknowledgement within the "
                                       "ack wait: the item may be delivered again")));
                promise.reportFinished();
            },
            giveUpAt, retry);
    });
    if (!posted) {
        promise.reportException(NatsError(NatsError::Kind::Connection,
                                          QStringLiteral("cannot acknowledge: the connection is "
                                                         "closed (the item will be delivered "
                                                         "again)")));
        promise.reportFinished();
    }
    return m_ackFuture;
}

QByteArray NatsAckHandle::settleForAck() {
    QMutexLocker lock(&m_mutex);
    if (m_settled)
        return {};
    m_settled = true;
    return m_ackSubject;
}

void NatsAckHandle::nak(std::chrono::milliseconds delay) {
    {
        QMutexLocker lock(&m_mutex);
        if (m_settled)
            return;
        m_settled = true;
    }
    auto engine = m_engine;
    const QByteArray subject = m_ackSubject;
    engine->post([engine, subject, delay] { engine->nak(subject, delay); });
}

void NatsAckHandle::inProgress() {
    {
        QMutexLocker lock(&m_mutex);
        if (m_settled)
            return;
        m_timerStart = std::chrono::steady_clock::now();
    }
    auto engine = m_engine;
    const QByteArray subject = m_ackSubject;
    engine->post([engine, subject] { engine->inProgress(subject); });
}

bool NatsAckHandle::isSettled() const {
    QMutexLocker lock(&m_mutex);
    return m_settled;
}

void NatsAckHandle::markSettled() {
    QMutexLocker lock(&m_mutex);
    m_settled = true;
}

// --- NatsGetSink -----------------------------------------------------------------------------

NatsGetSink::~NatsGetSink() = default;

void NatsGetSink::detached() {
    fail(std::make_exception_ptr(ChannelClosed()));
}

std::exception_ptr NatsGetSink::formatError(const NatsMessage &message, const QString &why) {
    NatsError error(NatsError::Kind::Format, why);
    error.setPayload(message.payload);
    return std::make_exception_ptr(error);
}

} // namespace detail
} // namespace QtChannel
