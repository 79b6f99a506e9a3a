// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#include "natschannelstate_p.h"

#include <QtCore/QCoreApplication>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QMetaObject>
#include <QtCore/QRandomGenerator>
#include <QtCore/QSysInfo>

#include <algorithm>
#include <cstring>

namespace QtChannel::detail {

namespace {

using std::chrono::milliseconds;

constexpr char ConsumerName[] = "QTCHANNEL";
constexpr char DescriptionPrefix[] = "QtChannel channel; items: ";
constexpr char DescriptionSuffix[] = "; envelope 1";
// How long a pull request waits on the server for items before it expires (and is renewed).
constexpr milliseconds PullExpiry{3000};
// Items asked for by one pull request, at most.
constexpr qsizetype MaxPullBatch = 256;

qint64 nanos(milliseconds ms) {
    return qint64(ms.count()) * 1000000;
}

milliseconds fromNanos(qint64 ns) {
    return milliseconds(ns / 1000000);
}

QByteArray toJson(const QJsonObject &o) {
    return QJsonDocument(o).toJson(QJsonDocument::Compact);
}

std::exception_ptr channelClosed() {
    return std::make_exception_ptr(ChannelClosed());
}

std::exception_ptr natsError(NatsError::Kind kind, const QString &message, int jsErrorCode = 0) {
    return std::make_exception_ptr(NatsError(kind, message, 0, jsErrorCode));
}

QString storageName(NatsStorage s) {
    return s == NatsStorage::Memory ? QStringLiteral("memory") : QStringLiteral("file");
}

QString duration(qint64 ns) {
    return QStringLiteral("%1 ms").arg(ns / 1000000);
}

// "$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time>.<pending>", or
// the longer form with a domain and an account hash in front of the stream.
void parseAckSubject(const QByteArray &subject, NatsMessage &m) {
    // Token starts, without splitting (this runs for every item).
    qsizetype starts[16];
    int count = 0;
    starts[count++] = 0;
    for (qsizetype i = 0; i < subject.size() && count < 16; ++i)
        if (subject.at(i) == '.')
            starts[count++] = i + 1;
    int first = 0;
    if (count == 9)
        first = 4;
    else if (count >= 11)
        first = 6;
    else
        return;
    auto number = [&](int token) {
        quint64 n = 0;
        for (qsizetype i = starts[token]; i < subject.size() && subject.at(i) != '.'; ++i)
            n = n * 10 + quint64(subject.at(i) - '0');
        return n;
    };
    m.deliveryCount = int(number(first));
    m.sequence = number(first + 1);
}

} // namespace

NatsChannelState::NatsChannelState(std::shared_ptr<NatsEngine> e, const QString &n, qsizetype cap,
                                   bool bindOnly, const NatsChannelOptions &options,
                                   const QByteArray &type)
    : engine(std::move(e))
    , name(n)
    , itemType(type)
    , stream("QTCHANNEL_" + n.toUtf8())
    , closeStream("QTCHANNEL_" + n.toUtf8() + "_CLOSED")
    , itemsSubject("qtchannel." + n.toUtf8() + ".items")
    , closeSubject("qtchannel." + n.toUtf8() + ".closed")
    , eventsSubject("qtchannel." + n.toUtf8() + ".events")
    , instanceId(QByteArray::number(QRandomGenerator::system()->generate64(), 36) +
                 QByteArray::number(QRandomGenerator::system()->generate64(), 36))
    , m_capacity(cap)
    , m_bindOnly(bindOnly)
    , m_options(options)
    , m_consumer(ConsumerName) {}

NatsChannelState::~NatsChannelState() = default;

NatsChannelOptions NatsChannelState::options() const {
    std::lock_guard lock(m_optionsMutex);
    return m_options;
}

void NatsChannelState::setOwner(NatsChannelBase *owner) {
    std::lock_guard lock(m_ownerMutex);
    m_owner = owner;
}

template <typename F> void NatsChannelState::toOwner(F &&f) {
    // Posted under the lock: NatsChannelBase's destructor clears m_owner under it first, and
    // Qt drops the events posted to an object it destroys.
    std::lock_guard lock(m_ownerMutex);
    if (!m_owner)
        return;
    NatsChannelBase *owner = m_owner;
    QMetaObject::invokeMethod(
        owner, [owner, f = std::forward<F>(f)] { f(owner); }, Qt::QueuedConnection);
}

std::exception_ptr NatsChannelState::apiError(const NatsApiReply &reply,
                                              const QString &what) const {
    switch (reply.outcome) {
    case NatsApiReply::Outcome::Ok:
        return {};
    case NatsApiReply::Outcome::Timeout: {
        const QString permission = engine->recentPermissionError();
        if (!permission.isEmpty())
            return natsError(NatsError::Kind::NotAuthorized,
                             QStringLiteral("%1: the server refused it: %2").arg(what, permission));
        return natsError(NatsError::Kind::Timeout,
                         QStringLiteral("%1: no answer from the server in time").arg(what));
    }
    case NatsApiReply::Outcome::NoResponders:
        return natsError(NatsError::Kind::JetStream,
                         QStringLiteral("%1: JetStream is not available on this server").arg(what));
    case NatsApiReply::Outcome::NotSent:
        return natsError(NatsError::Kind::Connection,
                         QStringLiteral("%1: %2").arg(what, reply.description));
    case NatsApiReply::Outcome::Error:
        break;
    }
    return natsError(NatsError::Kind::JetStream,
                     QStringLiteral("%1: %2 (JetStream error %3)")
                         .arg(what, reply.description)
                         .arg(reply.errCode),
                     reply.errCode);
}

// --- open ------------------------------------------------------------------------------------

QJsonObject NatsChannelState::streamConfig() const {
    const NatsChannelOptions o = options();
    const qsizetype cap = capacity();
    return QJsonObject{
        {QLatin1String("name"), QString::fromUtf8(stream)},
        {QLatin1String("description"),
         QString::fromUtf8(DescriptionPrefix + itemType + DescriptionSuffix)},
        {QLatin1String("subjects"), QJsonArray{QString::fromUtf8(itemsSubject)}},
        {QLatin1String("retention"), QLatin1String("workqueue")},
        {QLatin1String("max_consumers"), -1},
        {QLatin1String("max_msgs"), cap == Unbounded ? qint64(-1) : qint64(cap)},
        // No byte limit: with discard-new it has open data-loss bugs in this server generation.
        {QLatin1String("max_bytes"), -1},
        {QLatin1String("max_age"), 0},
        {QLatin1String("max_msgs_per_subject"), -1},
        {QLatin1String("max_msg_size"), -1},
        {QLatin1String("discard"), QLatin1String("new")},
        {QLatin1String("storage"), storageName(o.storage)},
        {QLatin1String("num_replicas"), o.replicas},
        {QLatin1String("duplicate_window"), nanos(o.duplicateWindow)},
        {QLatin1String("sealed"), false},
        {QLatin1String("deny_delete"), false},
        {QLatin1String("deny_purge"), false},
        {QLatin1String("allow_rollup_hdrs"), false},
    };
}

QJsonObject NatsChannelState::closeStreamConfig() const {
    const NatsChannelOptions o = options();
    // One message at most, and discard-new: the first close marker stored makes every later
    // one fail. That is the atomic decision of which close() returns true.
    return QJsonObject{
        {QLatin1String("name"), QString::fromUtf8(closeStream)},
        {QLatin1String("description"),
         QStringLiteral("QtChannel close marker of channel %1").arg(name)},
        {QLatin1String("subjects"), QJsonArray{QString::fromUtf8(closeSubject)}},
        {QLatin1String("retention"), QLatin1String("limits")},
        {QLatin1String("max_consumers"), -1},
        {QLatin1String("max_msgs"), 1},
        {QLatin1String("max_bytes"), -1},
        {QLatin1String("max_age"), 0},
        {QLatin1String("max_msgs_per_subject"), -1},
        {QLatin1String("max_msg_size"), -1},
        {QLatin1String("discard"), QLatin1String("new")},
        {QLatin1String("storage"), storageName(o.storage)},
        {QLatin1String("num_replicas"), o.replicas},
        {QLatin1String("duplicate_window"), nanos(o.duplicateWindow)},
    };
}

QJsonObject NatsChannelState::consumerConfig() const {
    const NatsChannelOptions o = options();
    return QJsonObject{
        {QLatin1String("stream_name"), QString::fromUtf8(stream)},
        {QLatin1String("config"),
         QJsonObject{
             {QLatin1String("durable_name"), QString::fromUtf8(m_consumer)},
             {QLatin1String("deliver_policy"), QLatin1String("all")},
             {QLatin1String("ack_policy"), QLatin1String("explicit")},
             {QLatin1String("ack_wait"), nanos(o.ackWait)},
             {QLatin1String("max_deliver"), -1},
             {QLatin1String("filter_subject"), QString::fromUtf8(itemsSubject)},
             {QLatin1String("replay_policy"), QLatin1String("instant")},
             {QLatin1String("max_ack_pending"), qint64(o.maxAckPending)},
             {QLatin1String("max_waiting"), 512},
         }},
    };
}

// Compares the server's stream with what this process asked for, or adopts it (bind()).
// Returns what differs, in words, or an empty string.
QString NatsChannelState::checkStream(const QJsonObject &info) {
    const QJsonObject cfg = info.value(QLatin1String("config")).toObject();
    QStringList problems;
    const QString description = cfg.value(QLatin1String("description")).toString();
    const QString prefix = QString::fromUtf8(DescriptionPrefix);
    const QString suffix = QString::fromUtf8(DescriptionSuffix);
    if (!description.startsWith(prefix) || !description.endsWith(suffix)) {
        return QStringLiteral("the stream %1 exists but is not a QtChannel channel (its "
                              "description is \"%2\")")
            .arg(QString::fromUtf8(stream), description);
    }
    const QString type =
        description.mid(prefix.size(), description.size() - prefix.size() - suffix.size());
    if (type != QString::fromUtf8(itemType))
        problems << QStringLiteral("it carries items of type %1, not %2")
                        .arg(type, QString::fromUtf8(itemType));
    const QJsonArray subjects = cfg.value(QLatin1String("subjects")).toArray();
    if (subjects.size() != 1 || subjects.at(0).toString() != QString::fromUtf8(itemsSubject))
        problems
            << QStringLiteral("its subjects are not [%1]").arg(QString::fromUtf8(itemsSubject));
    if (cfg.value(QLatin1String("retention")).toString() != QLatin1String("workqueue"))
        problems << QStringLiteral("it is not a work queue");
    if (cfg.value(QLatin1String("discard")).toString() != QLatin1String("new"))
        problems << QStringLiteral("it discards old items when full");
    if (cfg.value(QLatin1String("max_bytes")).toInteger(-1) > 0)
        problems << QStringLiteral("it has a byte limit");

    const qint64 maxMsgs = cfg.value(QLatin1String("max_msgs")).toInteger(-1);
    const qsizetype theirCapacity = maxMsgs <= 0 ? Unbounded : qsizetype(maxMsgs);
    const QString storage = cfg.value(QLatin1String("storage")).toString();
    const int replicas = cfg.value(QLatin1String("num_replicas")).toInt(1);
    const qint64 window = cfg.value(QLatin1String("duplicate_window")).toInteger();

    if (m_bindOnly) {
        m_capacity.store(theirCapacity, std::memory_order_release);
        std::lock_guard lock(m_optionsMutex);
        m_options.storage =
            storage == QLatin1String("memory") ? NatsStorage::Memory : NatsStorage::File;
        m_options.replicas = replicas;
        if (window > 0)
            m_options.duplicateWindow = fromNanos(window);
    } else {
        const NatsChannelOptions o = options();
        auto capText = [](qsizetype c) {
            return c == Unbounded ? QStringLiteral("unbounded") : QString::number(c);
        };
        if (theirCapacity != capacity())
            problems << QStringLiteral("its capacity is %1, not %2")
                            .arg(capText(theirCapacity), capText(capacity()));
        if (storage != storageName(o.storage))
            problems
                << QStringLiteral("its storage is %1, not %2").arg(storage, storageName(o.storage));
        if (replicas != o.replicas)
            problems << QStringLiteral("it has %1 replicas, not %2").arg(replicas).arg(o.replicas);
        if (window != nanos(o.duplicateWindow))
            problems << QStringLiteral("its duplicate window is %1, not %2")
                            .arg(duration(window), duration(nanos(o.duplicateWindow)));
    }
    if (problems.isEmpty())
        return {};
    return QStringLiteral("the channel %1 exists with another configuration: %2")
        .arg(name, problems.join(QLatin1String("; ")));
}

QString NatsChannelState::checkCloseStream(const QJsonObject &info) const {
    const QJsonObject cfg = info.value(QLatin1String("config")).toObject();
    const QJsonArray subjects = cfg.value(QLatin1String("subjects")).toArray();
    if (cfg.value(QLatin1String("max_msgs")).toInteger() != 1 ||
        cfg.value(QLatin1String("discard")).toString() != QLatin1String("new") ||
        subjects.size() != 1 || subjects.at(0).toString() != QString::fromUtf8(closeSubject))
        return QStringLiteral("the stream %1 exists but is not the close marker of a QtChannel "
                              "channel")
            .arg(QString::fromUtf8(closeStream));
    return {};
}

QString NatsChannelState::checkConsumer(const QJsonObject &info) {
    const QJsonObject cfg = info.value(QLatin1String("config")).toObject();
    QStringList problems;
    if (cfg.value(QLatin1String("ack_policy")).toString() != QLatin1String("explicit"))
        problems << QStringLiteral("its consumer does not acknowledge explicitly");
    if (cfg.value(QLatin1String("filter_subject")).toString() != QString::fromUtf8(itemsSubject))
        problems << QStringLiteral("its consumer reads another subject");
    const qint64 ackWait = cfg.value(QLatin1String("ack_wait")).toInteger();
    const qint64 maxAckPending = cfg.value(QLatin1String("max_ack_pending")).toInteger();
    if (m_bindOnly) {
        std::lock_guard lock(m_optionsMutex);
        if (ackWait > 0)
            m_options.ackWait = fromNanos(ackWait);
        if (maxAckPending > 0)
            m_options.maxAckPending = qsizetype(maxAckPending);
    } else {
        const NatsChannelOptions o = options();
        if (ackWait != nanos(o.ackWait))
            problems << QStringLiteral("its ack wait is %1, not %2")
                            .arg(duration(ackWait), duration(nanos(o.ackWait)));
        if (maxAckPending != qint64(o.maxAckPending))
            problems << QStringLiteral("its max ack pending is %1, not %2")
                            .arg(maxAckPending)
                            .arg(o.maxAckPending);
    }
    if (problems.isEmpty())
        return {};
    return QStringLiteral("the channel %1 exists with another configuration: %2")
        .arg(name, problems.join(QLatin1String("; ")));
}

void NatsChannelState::adoptState(const QJsonObject &streamInfo) {
    const QJsonObject state = streamInfo.value(QLatin1String("state")).toObject();
    const QJsonObject cfg = streamInfo.value(QLatin1String("config")).toObject();
    const qsizetype msgs = qsizetype(state.value(QLatin1String("messages")).toInteger());
    size.store(msgs, std::memory_order_release);
    m_reportedSize = msgs;
    if (cfg.value(QLatin1String("sealed")).toBool()) {
        closed.store(true, std::memory_order_release);
        if (msgs == 0)
            finished.store(true, std::memory_order_release);
    }
}

void NatsChannelState::open(std::function<void(std::exception_ptr)> done) {
    if (!engine->isConnected()) {
        done(natsError(NatsError::Kind::Connection,
                       QStringLiteral("cannot open the channel %1: the connection is not "
                                      "connected (call NatsConnection::connectBlocking() first)")
                           .arg(name)));
        return;
    }
    openStep(0, NatsClock::now() + options().openTimeout, std::move(done));
}

void NatsChannelState::openStep(int step, NatsClock::time_point deadline,
                                std::function<void(std::exception_ptr)> done) {
    auto self = shared_from_this();
    const NatsChannelOptions o = options();
    // Asks again after a transient failure, until the deadline.
    auto again = [self, step, deadline, done](const NatsApiReply &reply, const QString &what) {
        if (reply.isTransient() && NatsClock::now() + milliseconds(100) < deadline &&
            self->engine->state() != NatsConnection::State::Closed &&
            self->engine->recentPermissionError().isEmpty()) {
            self->engine->at(NatsClock::now() + milliseconds(100), [self, step, deadline, done] {
                self->openStep(step, deadline, done);
            });
            return;
        }
        done(self->apiError(reply, what));
    };
    const QString what = QStringLiteral("cannot open the channel %1").arg(name);
    const QByteArray api = "$JS.API.";
    switch (step) {
    case 0: // the items' stream: exists?
        engine->apiRequest(
            api + "STREAM.INFO." + stream, {}, o.requestTimeout,
            [self, step, deadline, done, again, what](NatsApiReply reply) {
                if (reply.ok()) {
                    const QString problem = self->checkStream(reply.json);
                    if (!problem.isEmpty())
                        return done(natsError(NatsError::Kind::Mismatch, problem));
                    self->adoptState(reply.json);
                    return self->openStep(2, deadline, done);
                }
                if (reply.errCode == 10059) {
                    if (self->m_bindOnly)
                        return done(natsError(NatsError::Kind::JetStream,
                                              QStringLiteral("cannot bind to the channel %1: there "
                                                             "is no channel of that name")
                                                  .arg(self->name),
                                              10059));
                    return self->openStep(1, deadline, done);
                }
                again(reply, what);
            });
        return;
    case 1: // ... create it
        engine->apiRequest(api + "STREAM.CREATE." + stream, toJson(streamConfig()),
                           o.requestTimeout,
                           [self, deadline, done, again, what](NatsApiReply reply) {
                               if (reply.ok()) {
                                   self->adoptState(reply.json);
                                   return self->openStep(2, deadline, done);
                               }
                               if (reply.errCode == 10058) // created by another process meanwhile
                                   return self->openStep(0, deadline, done);
                               again(reply, what);
                           });
        return;
    case 2: // the close marker's stream
        engine->apiRequest(api + "STREAM.INFO." + closeStream, {}, o.requestTimeout,
                           [self, deadline, done, again, what](NatsApiReply reply) {
                               if (reply.ok()) {
                                   const QString problem = self->checkCloseStream(reply.json);
                                   if (!problem.isEmpty())
                                       return done(natsError(NatsError::Kind::Mismatch, problem));
                                   const qint64 markers = reply.json.value(QLatin1String("state"))
                                                              .toObject()
                                                              .value(QLatin1String("messages"))
                                                              .toInteger();
                                   if (markers > 0 && !self->closed.load()) {
                                       // Closed by a process that died before sealing: finish its
                                       // work.
                                       self->m_closing = true;
                                   }
                                   return self->openStep(4, deadline, done);
                               }
                               if (reply.errCode == 10059)
                                   return self->openStep(3, deadline, done);
                               again(reply, what);
                           });
        return;
    case 3:
        engine->apiRequest(api + "STREAM.CREATE." + closeStream, toJson(closeStreamConfig()),
                           o.requestTimeout,
                           [self, deadline, done, again, what](NatsApiReply reply) {
                               if (reply.ok() || reply.errCode == 10058)
                                   return self->openStep(reply.ok() ? 4 : 2, deadline, done);
                               again(reply, what);
                           });
        return;
    case 4: // the consumer every process shares
        engine->apiRequest(api + "CONSUMER.INFO." + stream + "." + m_consumer, {}, o.requestTimeout,
                           [self, deadline, done, again, what](NatsApiReply reply) {
                               if (reply.ok()) {
                                   const QString problem = self->checkConsumer(reply.json);
                                   if (!problem.isEmpty())
                                       return done(natsError(NatsError::Kind::Mismatch, problem));
                                   return self->openStep(6, deadline, done);
                               }
                               if (reply.errCode == 10014)
                                   return self->openStep(5, deadline, done);
                               again(reply, what);
                           });
        return;
    case 5:
        engine->apiRequest(api + "CONSUMER.DURABLE.CREATE." + stream + "." + m_consumer,
                           toJson(consumerConfig()), o.requestTimeout,
                           [self, deadline, done, again, what](NatsApiReply reply) {
                               if (reply.ok()) {
                                   const QString problem = self->checkConsumer(reply.json);
                                   if (!problem.isEmpty()) // created by another process meanwhile
                                       return done(natsError(NatsError::Kind::Mismatch, problem));
                                   return self->openStep(6, deadline, done);
                               }
                               if (reply.errCode == 10013 || reply.errCode == 10148)
                                   return self->openStep(4, deadline, done);
                               again(reply, what);
                           });
        return;
    case 6: {
        std::weak_ptr<NatsChannelState> weak = self;
        m_eventsSubscription = engine->subscribe(eventsSubject, [weak](NatsMsgPtr) {
            // Another process closed the channel: look now rather than at the next poll.
            if (auto s = weak.lock())
                s->pollNow();
        });
        natsInbox *inbox = nullptr;
        if (natsInbox_Create(&inbox) == NATS_OK) {
            m_pullInbox = QByteArray(inbox);
            natsInbox_Destroy(inbox);
        }
        m_pullSubscription = engine->subscribe(m_pullInbox + ".p.*", [weak](NatsMsgPtr msg) {
            if (auto s = weak.lock())
                s->onDelivery(std::move(msg), false);
        });
        m_noWaitSubscription = engine->subscribe(m_pullInbox + ".n.*", [weak](NatsMsgPtr msg) {
            if (auto s = weak.lock())
                s->onDelivery(std::move(msg), true);
        });
        if (m_pullInbox.isEmpty() || !m_pullSubscription || !m_noWaitSubscription ||
            !m_eventsSubscription) {
            return done(engine->errorFor(NATS_ERR, QStringLiteral("cannot subscribe to the "
                                                                  "replies of channel %1")
                                                       .arg(name)));
        }
        m_id = engine->addChannel(self);
        m_opened = true;
        if (m_closing) {
            seal(deadline, [self](std::exception_ptr) {
                self->m_closing = false;
                self->pollNow();
            });
        }
        done(nullptr);
        return;
    }
    default:
        return;
    }
}

// --- puts ------------------------------------------------------------------------------------

void NatsChannelState::updatePendingPuts() {
    pendingPuts.store(qsizetype(m_putQueue.size() + m_inFlight.size() + m_waitingRoom.size()),
                      std::memory_order_release);
}

bool NatsChannelState::postPut(std::shared_ptr<NatsPutOp> op) {
    // Puts from any thread queue here; one closure per batch carries them to the engine, in
    // call order, and before anything posted after them.
    bool first;
    {
        std::lock_guard lock(m_incomingMutex);
        first = m_incomingPuts.empty();
        m_incomingPuts.push_back(std::move(op));
    }
    if (!first)
        return true;
    auto self = shared_from_this();
    if (engine->post([self] { self->takeIncomingPuts(); }))
        return true;
    std::lock_guard lock(m_incomingMutex);
    m_incomingPuts.clear(); // the engine stopped: the callers settle their operations
    return false;
}

void NatsChannelState::takeIncomingPuts() {
    std::vector<std::shared_ptr<NatsPutOp>> batch;
    {
        std::lock_guard lock(m_incomingMutex);
        batch.swap(m_incomingPuts);
    }
    for (auto &op : batch)
        put(std::move(op));
}

void NatsChannelState::put(std::shared_ptr<NatsPutOp> op) {
    op->seq = m_nextPutSeq++;
    op->msgId = instanceId + '.' + QByteArray::number(op->seq);
    if (m_lost) {
        settlePut(op, PutResult::Closed,
                  natsError(NatsError::Kind::Connection,
                            QStringLiteral("the connection of channel %1 is closed").arg(name)));
        return;
    }
    if (m_detached || closed.load(std::memory_order_relaxed)) {
        settlePut(op, PutResult::Closed, channelClosed());
        return;
    }
    if (op->mode == NatsPutOp::Mode::Try && !m_waitingRoom.empty()) {
        // Puts of this process already wait for room: a try is never served before them.
        m_spaceArmed = true;
        settlePut(op, PutResult::Full);
        return;
    }
    m_putQueue.push_back(op);
    updatePendingPuts();
    pumpPuts();
}

bool NatsChannelState::withdrawIfGone(const std::shared_ptr<NatsPutOp> &op) {
    if (op->mode == NatsPutOp::Mode::Future) {
        if (!op->promise.isCanceled())
            return false;
        op->promise.reportFinished(); // canceled while waiting: never sent
        return true;
    }
    std::lock_guard lock(op->mutex);
    return op->withdrawn;
}

void NatsChannelState::pumpPuts() {
    if (!m_opened || m_lost || !engine->isConnected())
        return;
    const auto now = NatsClock::now();
    if (!m_waitingRoom.empty()) {
        // Puts were refused (no room, or the server could not take them): they go first, in
        // call order, one at a time, until one is accepted.
        while (!m_waitingRoom.empty()) {
            auto it = m_waitingRoom.begin();
            if (withdrawIfGone(it->second)) {
                m_waitingRoom.erase(it);
                updatePendingPuts();
                continue;
            }
            break;
        }
        if (!m_waitingRoom.empty()) {
            if (m_probe == 0 && now >= m_roomRetryAt) {
                auto op = m_waitingRoom.begin()->second;
                m_waitingRoom.erase(m_waitingRoom.begin());
                m_probe = op->seq;
                send(op);
            } else if (m_probe == 0) {
                armTimer(m_roomRetryAt);
            }
            return;
        }
    }
    const auto window = std::max<qsizetype>(1, m_options.putWindow);
    while (!m_putQueue.empty() && qsizetype(m_inFlight.size()) < window) {
        auto op = m_putQueue.front();
        m_putQueue.pop_front();
        if (withdrawIfGone(op)) {
            updatePendingPuts();
            continue;
        }
        send(op);
        if (!m_waitingRoom.empty())
            break; // send() failed and parked it
    }
}

void NatsChannelState::send(const std::shared_ptr<NatsPutOp> &op) {
    if (op->mode != NatsPutOp::Mode::Future) {
        std::lock_guard lock(op->mutex);
        op->stage = NatsPutOp::Stage::InFlight;
    }
    ++op->attempt;
    op->sentAt = NatsClock::now();
    if (m_putReply.isEmpty())
        m_putReply = engine->inbox() + ".a." + QByteArray::number(m_id) + '.';
    const QByteArray reply = m_putReply + QByteArray::number(op->seq);
    const natsStatus s = engine->publish(itemsSubject, reply, op->payload.constData(),
                                         int(op->payload.size()), "Nats-Msg-Id", op->msgId);
    if (s != NATS_OK) {
        if (m_probe == op->seq)
            m_probe = 0;
        retryLater(op, milliseconds(50));
        return;
    }
    m_inFlight[op->seq] = op;
    updatePendingPuts();
    armPutTimer(op->sentAt + m_options.requestTimeout);
}

// One timer for every put on the wire (not one each): at the earliest deadline, it looks at
// all of them.
void NatsChannelState::armPutTimer(NatsClock::time_point when) {
    if (when >= m_putTimerAt)
        return;
    m_putTimerAt = when;
    std::weak_ptr<NatsChannelState> weak = shared_from_this();
    engine->at(when, [weak] {
        if (auto self = weak.lock())
            self->checkPutTimeouts();
    });
}

void NatsChannelState::checkPutTimeouts() {
    m_putTimerAt = NatsClock::time_point::max();
    const auto now = NatsClock::now();
    std::vector<std::pair<quint64, int>> due;
    NatsClock::time_point next = NatsClock::time_point::max();
    for (const auto &[seq, op] : m_inFlight) {
        const auto deadline = op->sentAt + m_options.requestTimeout;
        if (deadline <= now)
            due.emplace_back(seq, op->attempt);
        else
            next = std::min(next, deadline);
    }
    for (const auto &[seq, attempt] : due)
        onPutTimeout(seq, attempt); // may send again (and arm the timer)
    if (next != NatsClock::time_point::max())
        armPutTimer(next);
}

void NatsChannelState::onPutTimeout(quint64 seq, int attempt) {
    auto it = m_inFlight.find(seq);
    if (it == m_inFlight.end() || it->second->attempt != attempt)
        return;
    auto op = it->second;
    const auto now = NatsClock::now();
    markMaybeStored(*op);
    // A retry is recognised as a duplicate only within the duplicate window: past three
    // quarters of it, failing is safer than a retry that might land twice.
    const auto window = m_options.duplicateWindow;
    const bool pastWindow = now - op->firstLostAt >= window * 3 / 4;
    const bool pastDeadline = op->mode != NatsPutOp::Mode::Future && op->deadline.hasExpired();
    if (pastWindow || pastDeadline) {
        m_inFlight.erase(it);
        if (m_probe == seq)
            m_probe = 0;
        settlePut(op, PutResult::Full,
                  natsError(NatsError::Kind::OutcomeUnknown,
                            QStringLiteral("the server did not acknowledge a put to channel %1 in "
                                           "time: the item may or may not be in the channel")
                                .arg(name)));
        pumpPuts();
        return;
    }
    if (!engine->isConnected())
        return; // onReconnected() sends it again
    send(op);   // the same message id: the server drops it if the first attempt was stored
}

void NatsChannelState::markMaybeStored(NatsPutOp &op) {
    if (op.maybeStored)
        return;
    op.maybeStored = true;
    op.firstLostAt = op.sentAt;
    if (op.mode != NatsPutOp::Mode::Future) {
        std::lock_guard lock(op.mutex);
        op.uncertain = true; // its caller may no longer give up on it
    }
}

void NatsChannelState::retryLater(const std::shared_ptr<NatsPutOp> &op,
                                  std::chrono::milliseconds firstBackoff) {
    const auto now = NatsClock::now();
    if (op->mode != NatsPutOp::Mode::Future) {
        const bool expired = op->deadline.hasExpired();
        if (expired && !op->maybeStored) {
            settlePut(op, PutResult::Full); // not accepted by the deadline, and not stored
            return;
        }
        std::lock_guard lock(op->mutex);
        op->stage = NatsPutOp::Stage::WaitingRoom;
    }
    if (op->mode != NatsPutOp::Mode::Future)
        op->cv.notify_all(); // the caller looks at its deadline again
    if (m_waitingRoom.empty() && m_probe == 0) {
        m_roomBackoff = firstBackoff;
        m_roomRetryAt = now + m_roomBackoff;
    } else if (m_probe == 0 || m_probe == op->seq) {
        m_roomBackoff = std::min(m_roomBackoff * 2, std::max(firstBackoff, m_options.pollInterval));
        m_roomRetryAt = now + m_roomBackoff;
    }
    m_waitingRoom[op->seq] = op;
    updatePendingPuts();
    armTimer(m_roomRetryAt);
    schedulePoll(); // learn when room is made
}

void NatsChannelState::putAccepted(const std::shared_ptr<NatsPutOp> &op) {
    if (m_probe == op->seq) {
        // Room again: the waiting puts go back into the pipeline, first in line and in call
        // order (one probe at a time would cost a round trip per put on a busy bounded channel).
        m_probe = 0;
        m_roomBackoff = milliseconds(1);
        m_roomRetryAt = NatsClock::now();
        for (auto it = m_waitingRoom.rbegin(); it != m_waitingRoom.rend(); ++it)
            m_putQueue.push_front(it->second);
        m_waitingRoom.clear();
    }
    settlePut(op, PutResult::Ok);
}

void NatsChannelState::putRefusedFull(const std::shared_ptr<NatsPutOp> &op) {
    // The server looks for duplicates before it looks at the limits: "full" means that no
    // attempt of this put was stored.
    op->maybeStored = false;
    if (op->mode != NatsPutOp::Mode::Future) {
        std::lock_guard lock(op->mutex);
        op->uncertain = false;
    }
    m_spaceArmed = true;
    if (m_probe == op->seq)
        m_probe = 0;
    if (op->mode == NatsPutOp::Mode::Try) {
        settlePut(op, PutResult::Full);
        return;
    }
    retryLater(op, milliseconds(1));
}

void NatsChannelState::onPubAck(quint64 seq, NatsMsgPtr msg) {
    auto it = m_inFlight.find(seq);
    if (it == m_inFlight.end())
        return; // an answer to an earlier attempt of a put already settled
    auto op = it->second;
    m_inFlight.erase(it);
    QByteArray statusText;
    const int status = natsStatusOf(msg.get(), &statusText);
    const char *data = natsMsg_GetData(msg.get());
    const int length = natsMsg_GetDataLength(msg.get());
    const bool hasError = data && memmem(data, size_t(length), "\"error\"", 7);
    if (status != 0 || !data || (!hasError && !memmem(data, size_t(length), "\"seq\"", 5))) {
        // Not an acknowledgement: 503 no responders (no stream leader right now), or anything
        // else the server may say. Only a JetStream acknowledgement counts; send it again.
        qCDebug(lcNats) << "put" << op->msgId << "answered without an acknowledgement:" << status
                        << statusText << QByteArray(data ? data : "", length);
        if (m_probe == seq)
            m_probe = 0;
        if (status != 503)
            markMaybeStored(*op); // unknown ground: it may have been stored
        retryLater(op, milliseconds(50));
        pumpPuts();
        return;
    }
    if (!hasError) {
        qCDebug(lcNats) << "put" << op->msgId << op->payload.right(12) << "attempt" << op->attempt
                        << "acknowledged:" << QByteArray(data, length);
        putAccepted(op); // {"stream":"...","seq":n} or {..., "duplicate":true}
        pumpPuts();
        return;
    }
    const QJsonObject error = QJsonDocument::fromJson(QByteArray(data, length))
                                  .object()
                                  .value(QLatin1String("error"))
                                  .toObject();
    const int code = error.value(QLatin1String("code")).toInt();
    const int errCode = error.value(QLatin1String("err_code")).toInt();
    const QString description = error.value(QLatin1String("description")).toString();
    if (errCode == 10077 && description.contains(QLatin1String("maximum messages"))) {
        putRefusedFull(op);
    } else if (errCode == 10109 || description.contains(QLatin1String("sealed"))) {
        if (m_probe == seq)
            m_probe = 0;
        settlePut(op, PutResult::Closed, closedPutError(*op));
        markClosed();
    } else if (code == 503 || errCode == 10008 || errCode == 10077) {
        if (m_probe == seq)
            m_probe = 0;
        retryLater(op, milliseconds(50)); // the store was busy or the cluster settling
    } else {
        if (m_probe == seq)
            m_probe = 0;
        settlePut(op, PutResult::Closed,
                  natsError(NatsError::Kind::JetStream,
                            QStringLiteral("the server refused a put to channel %1: %2 "
                                           "(JetStream error %3)")
                                .arg(name, description)
                                .arg(errCode),
                            errCode));
    }
    pumpPuts();
}

std::exception_ptr NatsChannelState::closedPutError(const NatsPutOp &op) const {
    if (!op.maybeStored)
        return channelClosed();
    // The stream refuses everything once sealed, before it looks for duplicates: an earlier
    // attempt may have been stored.
    return natsError(NatsError::Kind::OutcomeUnknown,
                     QStringLiteral("channel %1 was closed while a put's acknowledgement was "
                                    "lost: the item may or may not be in the channel")
                         .arg(name));
}

void NatsChannelState::settlePut(const std::shared_ptr<NatsPutOp> &op, PutResult result,
                                 std::exception_ptr error) {
    if (op->mode == NatsPutOp::Mode::Future) {
        if (result != PutResult::Ok) {
            if (!error)
                error = channelClosed();
            op->promise.reportException(error);
        }
        op->promise.reportFinished();
    } else {
        {
            std::lock_guard lock(op->mutex);
            op->stage = NatsPutOp::Stage::Done;
            op->result = result;
            // Blocking and try puts report a plain close as PutResult::Closed, not an error.
            bool plainClose = false;
            if (error && result == PutResult::Closed) {
                try {
                    std::rethrow_exception(error);
                } catch (const ChannelClosed &) {
                    plainClose = true;
                } catch (...) {
                }
            }
            op->error = plainClose ? std::exception_ptr() : error;
        }
        op->cv.notify_all();
    }
    updatePendingPuts();
    if (m_detached && m_inFlight.empty())
        engine->removeChannel(m_id);
}

void NatsChannelState::failUnsentPuts(
    const std::function<std::exception_ptr(const NatsPutOp &)> &why) {
    auto queue = std::move(m_putQueue);
    m_putQueue.clear();
    auto room = std::move(m_waitingRoom);
    m_waitingRoom.clear();
    m_probe = 0;
    for (auto &[seq, op] : room) {
        Q_UNUSED(seq);
        if (!withdrawIfGone(op))
            settlePut(op, PutResult::Closed, why(*op));
    }
    for (auto &op : queue) {
        if (!withdrawIfGone(op))
            settlePut(op, PutResult::Closed, why(*op));
    }
    updatePendingPuts();
}

// --- gets ------------------------------------------------------------------------------------

void NatsChannelState::updatePendingGets() {
    qsizetype n = 0;
    for (const auto &sink : m_line)
        if (!sink->isContinuous())
            ++n;
    pendingGets.store(n, std::memory_order_release);
}

void NatsChannelState::addGet(std::shared_ptr<NatsGetSink> sink) {
    if (m_lost) {
        sink->fail(natsError(NatsError::Kind::Connection,
                             QStringLiteral("the connection of channel %1 is closed").arg(name)));
        return;
    }
    if (m_detached) {
        sink->fail(channelClosed());
        return;
    }
    if (finished.load(std::memory_order_relaxed)) {
        sink->none();
        return;
    }
    m_itemArmed = true;
    m_line.push_back(std::move(sink));
    updatePendingGets();
    pumpGets();
    schedulePoll();
}

void NatsChannelState::flushLine() {
    m_flushArmed = false;
    for (const auto &sink : m_line)
        if (sink->isContinuous())
            sink->flush();
}

bool NatsChannelState::dropFromLine(const std::shared_ptr<NatsGetSink> &sink) {
    auto it = std::find(m_line.begin(), m_line.end(), sink);
    if (it == m_line.end())
        return false;
    m_line.erase(it);
    updatePendingGets();
    return true;
}

void NatsChannelState::endLine(const std::function<void(NatsGetSink &)> &how) {
    auto line = std::move(m_line);
    m_line.clear();
    updatePendingGets();
    for (auto &sink : line)
        how(*sink);
}

void NatsChannelState::pumpGets() {
    if (!m_opened || m_lost || m_detached)
        return;
    const auto now = NatsClock::now();
    // Pull requests whose expiry passed without the server's word are given up.
    for (auto it = m_pulls.begin(); it != m_pulls.end();) {
        if (it->second.expiresAt <= now) {
            m_outstanding = std::max<qsizetype>(0, m_outstanding - it->second.remaining);
            it = m_pulls.erase(it);
        } else {
            ++it;
        }
    }
    if (m_noWait && m_noWait->expiresAt <= now)
        endNoWaitPull();
    m_line.erase(std::remove_if(m_line.begin(), m_line.end(),
                                [](const auto &sink) { return sink->isWithdrawn(); }),
                 m_line.end());
    updatePendingGets();
    if (finished.load(std::memory_order_relaxed)) {
        endLine([](NatsGetSink &sink) { sink.none(); });
        return;
    }
    if (!engine->isConnected())
        return;

    qsizetype demand = 0;
    bool regularAhead = false;
    std::vector<std::shared_ptr<NatsGetSink>> hopeless;
    std::shared_ptr<NatsGetSink> nextNoWait;
    for (const auto &sink : m_line) {
        if (sink->isNoWait()) {
            if (regularAhead)
                hopeless.push_back(sink); // gets of this process wait before it: nothing for it
            else if (!nextNoWait)
                nextNoWait = sink;
            continue;
        }
        regularAhead = true;
        demand += sink->room();
    }
    for (auto &sink : hopeless) {
        dropFromLine(sink);
        m_itemArmed = true;
        sink->none();
    }
    if (nextNoWait && !m_noWait)
        sendNoWaitPull(nextNoWait);
    // Ask for what the line can take, but not item by item: while requests are out, a new one
    // waits until it can ask for at least half of the demand (a forEach() window draining one
    // item at a time would otherwise cost a request per item).
    const qsizetype want = demand - m_outstanding;
    if (want > 0 && (m_outstanding == 0 || want * 2 >= demand)) {
        if (now >= m_pullRetryAt)
            sendPull(std::min(want, MaxPullBatch));
        else
            armTimer(m_pullRetryAt);
    }
    NatsClock::time_point next = NatsClock::time_point::max();
    for (const auto &[id, pull] : m_pulls) {
        Q_UNUSED(id);
        next = std::min(next, pull.expiresAt);
    }
    if (m_noWait)
        next = std::min(next, m_noWait->expiresAt);
    if (next != NatsClock::time_point::max())
        armTimer(next);
}

void NatsChannelState::sendPull(qsizetype batch) {
    const quint64 id = m_nextPullId++;
    const QByteArray payload = toJson(QJsonObject{{QLatin1String("batch"), qint64(batch)},
                                                  {QLatin1String("expires"), nanos(PullExpiry)}});
    const natsStatus s = engine->publish("$JS.API.CONSUMER.MSG.NEXT." + stream + '.' + m_consumer,
                                         m_pullInbox + ".p." + QByteArray::number(id),
                                         payload.constData(), int(payload.size()));
    if (s != NATS_OK) {
        m_pullRetryAt = NatsClock::now() + milliseconds(50);
        armTimer(m_pullRetryAt);
        return;
    }
    // The server says when a request expires (408); past this, without its word, it is lost.
    m_pulls.emplace(id, Pull{batch, NatsClock::now() + PullExpiry + m_options.requestTimeout});
    m_outstanding += batch;
}

void NatsChannelState::sendNoWaitPull(std::shared_ptr<NatsGetSink> sink) {
    const quint64 id = m_nextPullId++;
    const QByteArray payload =
        toJson(QJsonObject{{QLatin1String("batch"), 1}, {QLatin1String("no_wait"), true}});
    const natsStatus s = engine->publish("$JS.API.CONSUMER.MSG.NEXT." + stream + '.' + m_consumer,
                                         m_pullInbox + ".n." + QByteArray::number(id),
                                         payload.constData(), int(payload.size()));
    if (s != NATS_OK) {
        dropFromLine(sink);
        sink->fail(
            engine->errorFor(s, QStringLiteral("cannot ask channel %1 for an item").arg(name)));
        return;
    }
    m_noWait = NoWaitPull{id, std::move(sink), NatsClock::now() + m_options.requestTimeout};
}

// The tryGet()'s request is over: if nothing reached its get, there was nothing to take.
void NatsChannelState::endNoWaitPull() {
    if (!m_noWait)
        return;
    auto sink = std::move(m_noWait->sink);
    m_noWait.reset();
    if (sink && !sink->isWithdrawn() &&
        std::find(m_line.begin(), m_line.end(), sink) != m_line.end()) {
        dropFromLine(sink);
        m_itemArmed = true;
        sink->none();
    }
}

void NatsChannelState::onDelivery(NatsMsgPtr msg, bool noWait) {
    QByteArray description;
    const int status = natsStatusOf(msg.get(), &description);
    if (status == 100)
        return; // idle heartbeat
    if (status != 0) {
        // 404 no messages (no-wait), 408 expired, 409 refused or ended: the request is over,
        // with Nats-Pending-Messages items it did not deliver.
        const QByteArray subject(natsMsg_GetSubject(msg.get()));
        const quint64 id = subject.mid(subject.lastIndexOf('.') + 1).toULongLong();
        if (noWait) {
            if (m_noWait && m_noWait->id == id)
                endNoWaitPull();
        } else if (auto it = m_pulls.find(id); it != m_pulls.end()) {
            const char *pending = nullptr;
            qsizetype undelivered = it->second.remaining;
            if (natsMsgHeader_Get(msg.get(), "Nats-Pending-Messages", &pending) == NATS_OK &&
                pending)
                undelivered = std::atoll(pending);
            m_outstanding = std::max<qsizetype>(0, m_outstanding - undelivered);
            m_pulls.erase(it);
        }
        if (status == 409) {
            // Too many waiting requests, or the consumer is moving: ask again a little later.
            m_pullRetryAt = NatsClock::now() + milliseconds(100);
            if (description.contains("Consumer Deleted"))
                channelLost(QStringLiteral("its consumer was deleted"));
        }
        pumpGets();
        return;
    }
    std::shared_ptr<NatsGetSink> preferred;
    if (noWait) {
        if (m_noWait) {
            preferred = m_noWait->sink;
            m_noWait.reset(); // a batch of one: answered
        }
    } else {
        // The server serves pull requests in the order they came: the oldest one got it.
        m_outstanding = std::max<qsizetype>(0, m_outstanding - 1);
        if (!m_pulls.empty()) {
            auto it = m_pulls.begin();
            if (--it->second.remaining <= 0)
                m_pulls.erase(it);
        }
    }
    NatsMessage message;
    const char *data = natsMsg_GetData(msg.get());
    message.payload = QByteArray(data, natsMsg_GetDataLength(msg.get()));
    const char *reply = natsMsg_GetReply(msg.get());
    message.ackSubject = QByteArray(reply ? reply : "");
    parseAckSubject(message.ackSubject, message);
    if (m_detached || m_lost) {
        engine->nak(message.ackSubject);
        return;
    }
    dispatch(message, preferred);
    if (preferred && !preferred->isWithdrawn() &&
        std::find(m_line.begin(), m_line.end(), preferred) != m_line.end()) {
        // Its item went to a get before it in line: nothing for the tryGet().
        dropFromLine(preferred);
        m_itemArmed = true;
        preferred->none();
    }
    pumpGets();
}

void NatsChannelState::dispatch(NatsMessage &message,
                                const std::shared_ptr<NatsGetSink> &preferred) {
    // The tryGet() whose request brought it first, then the line in order.
    for (qsizetype i = preferred ? -1 : 0; i < qsizetype(m_line.size());) {
        const std::shared_ptr<NatsGetSink> sink = i < 0 ? preferred : m_line[size_t(i)];
        ++i;
        if (i > 0 && sink == preferred)
            continue;
        if (sink->isWithdrawn()) {
            if (dropFromLine(sink) && i > 0)
                --i;
            continue;
        }
        if (sink->room() <= 0)
            continue;
        std::shared_ptr<NatsAckHandle> handle;
        if (!sink->wantsConfirmedAck() && sink->wantsHandle())
            handle = std::make_shared<NatsAckHandle>(engine, message, m_options.ackWait,
                                                     m_options.requestTimeout);
        const NatsGetSink::Claim claim = sink->claim(message, handle);
        switch (claim) {
        case NatsGetSink::Claim::Unwanted:
            if (handle)
                handle->markSettled(); // given back below, by the next taker or a nak
            if (dropFromLine(sink) && i > 0)
                --i;
            continue;
        case NatsGetSink::Claim::Undecodable:
            if (handle)
                handle->markSettled();
            dropFromLine(sink);
            engine->ack(message.ackSubject); // the item went into the get's error
            return;
        case NatsGetSink::Claim::Taken:
            break;
        }
        if (sink->isContinuous()) {
            if (!m_flushArmed) {
                m_flushArmed = true;
                std::weak_ptr<NatsChannelState> weak = shared_from_this();
                engine->afterBatch([weak] {
                    if (auto self = weak.lock())
                        self->flushLine();
                });
            }
            // Served: to the back of the line, so that other gets of this process get a turn.
            if (m_line.size() > 1) {
                auto it = std::find(m_line.begin(), m_line.end(), sink);
                if (it != m_line.end()) {
                    m_line.erase(it);
                    m_line.push_back(sink);
                }
            }
        } else {
            dropFromLine(sink);
        }
        if (sink->wantsConfirmedAck()) {
            // Taken once the server confirms the acknowledgement; asked again until then, up
            // to the ack wait, after which the server may deliver the item again anyway.
            engine->ack(
                message.ackSubject, [sink](bool confirmed) { sink->complete(confirmed); },
                NatsClock::now() + m_options.ackWait, m_options.requestTimeout);
        }
        return;
    }
    // Nobody here wants it (a get was canceled after its request went out): give it back.
    engine->nak(message.ackSubject);
}

// --- state -----------------------------------------------------------------------------------

bool NatsChannelState::needsPolling() const {
    if (!m_opened || m_detached || m_lost || finished.load(std::memory_order_relaxed))
        return false;
    for (const auto &n : listeners)
        if (n.load(std::memory_order_relaxed) > 0)
            return true;
    return !m_line.empty() || !m_waitingRoom.empty() || !m_joiners.empty() ||
           !m_refreshWaiters.empty();
}

void NatsChannelState::armTimer(NatsClock::time_point when) {
    if (when >= m_timerAt)
        return;
    m_timerAt = when;
    std::weak_ptr<NatsChannelState> weak = shared_from_this();
    engine->at(when, [weak] {
        if (auto self = weak.lock()) {
            self->m_timerAt = NatsClock::time_point::max();
            self->pump();
        }
    });
}

void NatsChannelState::pump() {
    pumpPuts();
    pumpGets();
    schedulePoll();
}

void NatsChannelState::schedulePoll() {
    if (m_pollInFlight || !needsPolling())
        return;
    const auto due = m_lastPollAt + m_options.pollInterval;
    if (NatsClock::now() >= due)
        pollNow();
    else
        armTimer(due);
}

void NatsChannelState::pollNow() {
    if (m_pollInFlight || !m_opened || m_lost || m_detached)
        return;
    m_pollInFlight = true;
    auto self = shared_from_this();
    const NatsChannelOptions &o = m_options;
    engine->apiRequest("$JS.API.STREAM.INFO." + stream, {}, o.requestTimeout,
                       [self](NatsApiReply reply) { self->onStreamInfo(reply); });
    if (listened(ItemAvailable) && m_itemArmed && !m_consumerPollInFlight) {
        m_consumerPollInFlight = true;
        engine->apiRequest("$JS.API.CONSUMER.INFO." + stream + '.' + m_consumer, {},
                           o.requestTimeout,
                           [self](NatsApiReply reply) { self->onConsumerInfo(reply); });
    }
}

void NatsChannelState::emitSize(qsizetype n) {
    size.store(n, std::memory_order_release);
    if (n == m_reportedSize)
        return;
    m_reportedSize = n;
    if (listened(SizeChanged))
        toOwner([n](NatsChannelBase *o) { Q_EMIT o->sizeChanged(n); });
}

void NatsChannelState::onStreamInfo(const NatsApiReply &reply) {
    m_pollInFlight = false;
    m_lastPollAt = NatsClock::now();
    if (m_detached || m_lost)
        return;
    auto waiters = std::move(m_refreshWaiters);
    m_refreshWaiters.clear();
    if (!reply.ok()) {
        if (reply.errCode == 10059)
            channelLost(QStringLiteral("its stream was deleted"));
        const std::exception_ptr error =
            apiError(reply, QStringLiteral("cannot read the state of channel %1").arg(name));
        for (auto &w : waiters)
            w(error);
        pump();
        return;
    }
    const QJsonObject state = reply.json.value(QLatin1String("state")).toObject();
    const QJsonObject cfg = reply.json.value(QLatin1String("config")).toObject();
    const qsizetype msgs = qsizetype(state.value(QLatin1String("messages")).toInteger());
    const bool sealed = cfg.value(QLatin1String("sealed")).toBool();
    // Once finished, what is left in the stream is nothing a get can take (checkRemainder()).
    emitSize(finished.load(std::memory_order_relaxed) ? 0 : msgs);
    if (sealed)
        markClosed();
    if (sealed && msgs == 0)
        markFinished();
    else if (sealed && msgs == m_lastSealedSize)
        checkRemainder(msgs, state.value(QLatin1String("first_seq")).toInteger(),
                       state.value(QLatin1String("last_seq")).toInteger());
    m_lastSealedSize = sealed ? msgs : -1;
    const qsizetype cap = capacity();
    if (!sealed && (cap == Unbounded || msgs < cap)) {
        if (m_spaceArmed && listened(SpaceAvailable)) {
            m_spaceArmed = false;
            toOwner([](NatsChannelBase *o) { Q_EMIT o->spaceAvailable(); });
        }
        if (!m_waitingRoom.empty() && m_probe == 0)
            m_roomRetryAt = NatsClock::now(); // room was made: ask again now
    }
    if (!sealed && !m_closing && ++m_pollCount % 10 == 0)
        checkCloseMarker();
    for (auto &w : waiters)
        w(nullptr);
    pump();
}

void NatsChannelState::onConsumerInfo(const NatsApiReply &reply) {
    m_consumerPollInFlight = false;
    if (!reply.ok() || m_detached)
        return;
    const qint64 pending = reply.json.value(QLatin1String("num_pending")).toInteger();
    if (pending > 0 && m_itemArmed && listened(ItemAvailable)) {
        m_itemArmed = false;
        toOwner([](NatsChannelBase *o) { Q_EMIT o->itemAvailable(); });
    }
}

// The stream is sealed and still holds items, and did not change since the last poll: are they
// still to be taken? A single server killed with -9 can come back with a consumer state that
// counts items as acknowledged (below its acknowledgement floor) while the stream, whose removal
// of them was not written yet, still holds them. The server never delivers those again, and no
// put can come after the seal: the channel is drained although the stream is not empty. Without
// this check, every get and join() would wait for them forever.
void NatsChannelState::checkRemainder(qsizetype msgs, qint64 firstSeq, qint64 lastSeq) {
    if (m_remainderCheckInFlight || finished.load(std::memory_order_relaxed))
        return;
    m_remainderCheckInFlight = true;
    auto self = shared_from_this();
    engine->apiRequest("$JS.API.CONSUMER.INFO." + stream + '.' + m_consumer, {},
                       m_options.requestTimeout,
                       [self, msgs, firstSeq, lastSeq](NatsApiReply reply) {
                           self->onRemainderInfo(reply, msgs, firstSeq, lastSeq);
                       });
}

void NatsChannelState::onRemainderInfo(const NatsApiReply &reply, qsizetype msgs, qint64 firstSeq,
                                       qint64 lastSeq) {
    m_remainderCheckInFlight = false;
    if (!reply.ok() || m_detached || m_lost || finished.load(std::memory_order_relaxed))
        return;
    // Asked after the seal was seen: nothing can be put any more. Nothing left to deliver for
    // the first time (num_pending), nothing delivered and waiting for its acknowledgement or its
    // redelivery (num_ack_pending, which counts given back items too), and the acknowledgement
    // floor at or past the stream's last item: every item left is one the consumer counts as
    // acknowledged, and nothing will ever be delivered again.
    const qint64 pending = reply.json.value(QLatin1String("num_pending")).toInteger(-1);
    const qint64 ackPending = reply.json.value(QLatin1String("num_ack_pending")).toInteger(-1);
    const qint64 ackFloor = reply.json.value(QLatin1String("ack_floor"))
                                .toObject()
                                .value(QLatin1String("stream_seq"))
                                .toInteger(-1);
    if (pending != 0 || ackPending != 0 || ackFloor < lastSeq)
        return;
    qCWarning(lcNats).noquote()
        << QStringLiteral("channel %1 is sealed and drained, but its stream still holds %2 "
                          "item(s) (sequences %3 to %4) that its consumer counts as acknowledged "
                          "(acknowledgement floor %5): the server lost their removal (killed "
                          "before writing it); the channel is finished")
               .arg(name)
               .arg(msgs)
               .arg(firstSeq)
               .arg(lastSeq)
               .arg(ackFloor);
    emitSize(0);
    markFinished();
}

void NatsChannelState::checkCloseMarker() {
    auto self = shared_from_this();
    engine->apiRequest("$JS.API.STREAM.INFO." + closeStream, {}, options().requestTimeout,
                       [self](NatsApiReply reply) {
                           if (!reply.ok() || self->m_closing || self->closed.load())
                               return;
                           const qint64 markers = reply.json.value(QLatin1String("state"))
                                                      .toObject()
                                                      .value(QLatin1String("messages"))
                                                      .toInteger();
                           if (markers == 0)
                               return;
                           // A close() decided but did not seal (its process died): seal.
                           self->m_closing = true;
                           self->seal(NatsClock::now() + self->options().openTimeout,
                                      [self](std::exception_ptr) {
                                          self->m_closing = false;
                                          self->pollNow();
                                      });
                       });
}

void NatsChannelState::markClosed() {
    if (closed.exchange(true, std::memory_order_acq_rel))
        return;
    failUnsentPuts([this](const NatsPutOp &op) { return closedPutError(op); });
    if (listened(Closed))
        toOwner([](NatsChannelBase *o) { Q_EMIT o->closed(); });
    schedulePoll();
}

void NatsChannelState::markFinished() {
    markClosed();
    if (finished.exchange(true, std::memory_order_acq_rel))
        return;
    if (listened(Finished))
        toOwner([](NatsChannelBase *o) { Q_EMIT o->finished(); });
    auto joiners = std::move(m_joiners);
    m_joiners.clear();
    for (auto &j : joiners)
        j.reportFinished();
    endLine([](NatsGetSink &sink) { sink.none(); });
}

void NatsChannelState::channelLost(const QString &why) {
    if (m_lost)
        return;
    m_lost = true;
    const QString message = QStringLiteral("channel %1 is gone: %2").arg(name, why);
    const auto error = natsError(NatsError::Kind::JetStream, message);
    failUnsentPuts([error](const NatsPutOp &) { return error; });
    auto inFlight = std::move(m_inFlight);
    m_inFlight.clear();
    for (auto &[seq, op] : inFlight) {
        Q_UNUSED(seq);
        settlePut(op, PutResult::Closed, error);
    }
    endLine([error](NatsGetSink &sink) { sink.fail(error); });
    auto joiners = std::move(m_joiners);
    m_joiners.clear();
    for (auto &j : joiners) {
        j.reportException(error);
        j.reportFinished();
    }
}

void NatsChannelState::join(QFutureInterface<void> promise) {
    if (finished.load()) {
        promise.reportFinished();
        return;
    }
    if (m_lost || m_detached) {
        promise.reportException(
            natsError(NatsError::Kind::Connection,
                      QStringLiteral("channel %1 can no longer be watched").arg(name)));
        promise.reportFinished();
        return;
    }
    m_joiners.push_back(std::move(promise));
    schedulePoll();
}

void NatsChannelState::refresh(std::function<void(std::exception_ptr)> done) {
    if (m_lost || m_detached || !m_opened) {
        done(natsError(NatsError::Kind::Connection,
                       QStringLiteral("channel %1 can no longer be read").arg(name)));
        return;
    }
    m_refreshWaiters.push_back(std::move(done));
    pollNow();
}

// --- close -----------------------------------------------------------------------------------

void NatsChannelState::close(std::function<void(bool, std::exception_ptr)> done) {
    if (m_lost) {
        done(false,
             natsError(
                 NatsError::Kind::Connection,
                 QStringLiteral("cannot close channel %1: its connection is closed").arg(name)));
        return;
    }
    auto self = shared_from_this();
    const auto deadline = NatsClock::now() + options().openTimeout;
    // 1. Decide: the close marker's stream stores one message, ever. 2. Seal the items' stream
    // (every close does it, the winner and the others, so a winner that dies in between does
    // not leave the channel open). 3. Tell the other processes.
    // Each call has its own marker id: a retry of the same call is recognised as its own
    // duplicate (and still wins), while two calls of this process compete like any two.
    const QByteArray closer = instanceId + '.' + QByteArray::number(++m_closeCalls);
    publishCloseMarker(closer, 1, deadline,
                       [self, deadline, done](bool won, std::exception_ptr error) {
                           if (error)
                               return done(false, error);
                           self->m_closing = true;
                           self->seal(deadline, [self, won, done](std::exception_ptr sealError) {
                               self->m_closing = false;
                               if (sealError)
                                   return done(false, sealError);
                               self->markClosed();
                               self->engine->publish(self->eventsSubject, {}, "closed", 6);
                               self->pollNow();
                               done(won, nullptr);
                           });
                       });
}

void NatsChannelState::publishCloseMarker(const QByteArray &closer, int attempt,
                                          NatsClock::time_point deadline,
                                          std::function<void(bool, std::exception_ptr)> done) {
    auto self = shared_from_this();
    const QByteArray marker =
        toJson(QJsonObject{{QLatin1String("closer"), QString::fromUtf8(closer)},
                           {QLatin1String("host"), QSysInfo::machineHostName()},
                           {QLatin1String("pid"), qint64(QCoreApplication::applicationPid())}});
    engine->apiRequest(
        closeSubject, marker, options().requestTimeout,
        [self, closer, attempt, deadline, done](NatsApiReply reply) {
            if (reply.ok())
                return done(true, nullptr); // stored, or a duplicate of our own earlier attempt
            if (reply.errCode == 10077) {
                // Full: somebody's marker is there. If an earlier attempt of ours went
                // unanswered, it may be ours (past the duplicate window): read it back.
                if (attempt > 1)
                    return self->readBackCloseMarker(closer, deadline, done);
                return done(false, nullptr);
            }
            if (reply.isTransient() && NatsClock::now() + milliseconds(100) < deadline &&
                self->engine->state() != NatsConnection::State::Closed &&
                self->engine->recentPermissionError().isEmpty()) {
                self->engine->at(NatsClock::now() + milliseconds(100),
                                 [self, closer, attempt, deadline, done] {
                                     self->publishCloseMarker(closer, attempt + 1, deadline, done);
                                 });
                return;
            }
            done(false,
                 self->apiError(reply, QStringLiteral("cannot close channel %1").arg(self->name)));
        },
        "Nats-Msg-Id", "close." + closer);
}

void NatsChannelState::readBackCloseMarker(const QByteArray &closer, NatsClock::time_point deadline,
                                           std::function<void(bool, std::exception_ptr)> done) {
    auto self = shared_from_this();
    engine->apiRequest(
        "$JS.API.STREAM.MSG.GET." + closeStream, toJson(QJsonObject{{QLatin1String("seq"), 1}}),
        options().requestTimeout, [self, closer, deadline, done](NatsApiReply reply) {
            if (!reply.ok()) {
                if (reply.isTransient() && NatsClock::now() < deadline &&
                    self->engine->state() != NatsConnection::State::Closed)
                    return self->readBackCloseMarker(closer, deadline, done);
                return done(false,
                            self->apiError(
                                reply, QStringLiteral("cannot close channel %1").arg(self->name)));
            }
            const QByteArray data =
                QByteArray::fromBase64(reply.json.value(QLatin1String("message"))
                                           .toObject()
                                           .value(QLatin1String("data"))
                                           .toString()
                                           .toLatin1());
            const QString stored =
                QJsonDocument::fromJson(data).object().value(QLatin1String("closer")).toString();
            done(stored == QString::fromUtf8(closer), nullptr);
        });
}

void NatsChannelState::seal(NatsClock::time_point deadline,
                            std::function<void(std::exception_ptr)> done) {
    auto self = shared_from_this();
    const auto requestTimeout = options().requestTimeout;
    auto retryOr = [self, deadline, done](const NatsApiReply &reply) {
        if (reply.isTransient() && NatsClock::now() + milliseconds(100) < deadline &&
            self->engine->state() != NatsConnection::State::Closed) {
            self->engine->at(NatsClock::now() + milliseconds(100),
                             [self, deadline, done] { self->seal(deadline, done); });
            return;
        }
        done(self->apiError(reply, QStringLiteral("cannot close channel %1").arg(self->name)));
    };
    engine->apiRequest("$JS.API.STREAM.INFO." + stream, {}, requestTimeout,
                       [self, deadline, requestTimeout, done, retryOr](NatsApiReply reply) {
                           if (!reply.ok())
                               return retryOr(reply);
                           QJsonObject cfg = reply.json.value(QLatin1String("config")).toObject();
                           if (cfg.value(QLatin1String("sealed")).toBool())
                               return done(nullptr);
                           cfg.insert(QLatin1String("sealed"), true);
                           self->engine->apiRequest(
                               "$JS.API.STREAM.UPDATE." + self->stream, toJson(cfg), requestTimeout,
                               [self, deadline, done, retryOr](NatsApiReply update) {
                                   if (update.ok() || update.errCode == 10109)
                                       return done(nullptr); // sealed (by us or others)
                                   if (update.errCode == 10052 && NatsClock::now() < deadline) {
                                       // Another process sealed it between our look and our
                                       // update (sealing also denies deletes, which our older
                                       // configuration would cancel): look again.
                                       return self->seal(deadline, done);
                                   }
                                   retryOr(update);
                               });
                       });
}

// --- connection events and the end -----------------------------------------------------------

void NatsChannelState::onDisconnected() {}

void NatsChannelState::onReconnected() {
    if (!m_opened || m_detached || m_lost)
        return;
    // Pull requests may have died with the old connection; the ones that did not still deliver
    // to this inbox and their items are welcome (or given back).
    m_pulls.clear();
    m_outstanding = 0;
    endNoWaitPull();
    // Puts sent into the lost connection: send them again now (the same message ids).
    std::vector<std::shared_ptr<NatsPutOp>> again;
    for (auto &[seq, op] : m_inFlight) {
        Q_UNUSED(seq);
        again.push_back(op);
    }
    for (auto &op : again) {
        markMaybeStored(*op);
        m_inFlight.erase(op->seq);
        send(op);
    }
    pollNow();
    pump();
}

void NatsChannelState::onConnectionLost() {
    if (m_lost)
        return;
    m_lost = true;
    const QString message = QStringLiteral("the connection of channel %1 is closed").arg(name);
    const auto lost = natsError(NatsError::Kind::Connection, message);
    failUnsentPuts([lost, this](const NatsPutOp &op) {
        return op.maybeStored
                   ? natsError(NatsError::Kind::OutcomeUnknown,
                               QStringLiteral("the connection of channel %1 closed while a put's "
                                              "acknowledgement was lost: the item may or may not "
                                              "be in the channel")
                                   .arg(name))
                   : lost;
    });
    auto inFlight = std::move(m_inFlight);
    m_inFlight.clear();
    for (auto &[seq, op] : inFlight) {
        Q_UNUSED(seq);
        settlePut(op, PutResult::Closed,
                  natsError(NatsError::Kind::OutcomeUnknown,
                            QStringLiteral("the connection of channel %1 closed before a put was "
                                           "acknowledged: the item may or may not be in the "
                                           "channel")
                                .arg(name)));
    }
    endLine([lost](NatsGetSink &sink) { sink.fail(lost); });
    auto joiners = std::move(m_joiners);
    m_joiners.clear();
    for (auto &j : joiners) {
        j.reportException(lost);
        j.reportFinished();
    }
    auto waiters = std::move(m_refreshWaiters);
    m_refreshWaiters.clear();
    for (auto &w : waiters)
        w(lost);
}

void NatsChannelState::detach() {
    if (m_detached)
        return;
    m_detached = true;
    setOwner(nullptr);
    for (quint64 *sub : {&m_eventsSubscription, &m_pullSubscription, &m_noWaitSubscription}) {
        if (*sub)
            engine->unsubscribe(*sub);
        *sub = 0;
    }
    failUnsentPuts([this](const NatsPutOp &op) { return closedPutError(op); });
    endLine([](NatsGetSink &sink) { sink.detached(); });
    auto joiners = std::move(m_joiners);
    m_joiners.clear();
    for (auto &j : joiners) {
        j.reportCanceled();
        j.reportFinished();
    }
    auto waiters = std::move(m_refreshWaiters);
    m_refreshWaiters.clear();
    for (auto &w : waiters)
        w(channelClosed());
    // Puts on the wire finish with their real outcome; the registry lets go after the last.
    if (m_inFlight.empty() && m_id)
        engine->removeChannel(m_id);
}

} // namespace QtChannel::detail
