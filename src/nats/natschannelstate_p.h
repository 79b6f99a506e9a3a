// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

// One NatsChannel's state and protocol, run by the connection's engine thread
// (natsengine_p.h). docs/nats.md ("Design") explains the protocol; this file says
// who touches what:
// - "const after open": written by the engine thread before open() completes, which the opening
//   thread waits for (through a mutex), read by any thread afterwards.
// - atomics: the last known state, written by the engine thread, read lock-free by any thread
//   (NatsChannelBase's queries).
// - m_ownerMutex guards m_owner, the QObject whose signals the engine posts.
// - everything else: the engine thread only, no lock.

#include "natsengine_p.h"

#include <QtChannel/natschannelbase.h>
#include <QtChannel/natsdetail.h>

#include <QtCore/QFutureInterface>
#include <QtCore/QJsonObject>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace QtChannel::detail {

// A put of this process, from the call until the server's answer.
struct NatsPutOp {
    enum class Mode { Future, Blocking, Try };
    enum class Stage { Queued, InFlight, WaitingRoom, Done };

    NatsPutOp(Mode m, QByteArray p)
        : mode(m)
        , payload(std::move(p)) {}

    const Mode mode;
    const QByteArray payload;
    QFutureInterface<void> promise;                   // Mode::Future
    QDeadlineTimer deadline{QDeadlineTimer::Forever}; // Mode::Blocking

    // Guarded by mutex: the engine writes them, a blocked caller waits on cv for Done.
    std::mutex mutex;
    std::condition_variable cv;
    Stage stage = Stage::Queued;
    bool withdrawn = false; // the caller gave up (deadline) while it was not on the wire
    bool uncertain = false; // an attempt went unanswered: the caller may not give up
    PutResult result = PutResult::Full;
    std::exception_ptr error;

    // Engine thread only.
    quint64 seq = 0;  // this process's order of puts, and the key of its acknowledgement
    QByteArray msgId; // Nats-Msg-Id: the same for every attempt, so a retry never duplicates
    int attempt = 0;  // attempts sent so far
    bool maybeStored = false;            // an attempt went unanswered: it may have been stored
    NatsClock::time_point firstLostAt{}; // when the first unanswered attempt was sent
    NatsClock::time_point sentAt{};
};

class NatsChannelState : public std::enable_shared_from_this<NatsChannelState> {
public:
    NatsChannelState(std::shared_ptr<NatsEngine> engine, const QString &name, qsizetype capacity,
                     bool bindOnly, const NatsChannelOptions &options, const QByteArray &itemType);
    ~NatsChannelState();

    // --- any thread ------------------------------------------------------------------------
    const std::shared_ptr<NatsEngine> engine;
    const QString name;
    const QByteArray itemType;
    const QByteArray stream;        // QTCHANNEL_<name>: the items, a work-queue stream
    const QByteArray closeStream;   // QTCHANNEL_<name>_CLOSED: at most one close marker
    const QByteArray itemsSubject;  // qtchannel.<name>.items
    const QByteArray closeSubject;  // qtchannel.<name>.closed
    const QByteArray eventsSubject; // qtchannel.<name>.events: "closed" notices (plain NATS)
    const QByteArray instanceId;    // random, unique to this object: message ids, close marker

    // const after open
    qsizetype capacity() const noexcept { return m_capacity.load(std::memory_order_acquire); }
    NatsChannelOptions options() const;

    // Last known state.
    std::atomic<qsizetype> size{0};
    std::atomic<bool> closed{false};
    std::atomic<bool> finished{false};
    std::atomic<qsizetype> pendingPuts{0};
    std::atomic<qsizetype> pendingGets{0};
    // Receivers per signal (itemAvailable, spaceAvailable, sizeChanged, closed, finished).
    std::atomic<int> listeners[5] = {};

    void setOwner(NatsChannelBase *owner);

    // --- engine thread ---------------------------------------------------------------------
    void open(std::function<void(std::exception_ptr)> done);
    void put(std::shared_ptr<NatsPutOp> op);
    // Any thread: queues a put for the engine; false when the engine has stopped.
    bool postPut(std::shared_ptr<NatsPutOp> op);
    void addGet(std::shared_ptr<NatsGetSink> sink);
    void close(std::function<void(bool, std::exception_ptr)> done);
    void join(QFutureInterface<void> promise);
    void refresh(std::function<void(std::exception_ptr)> done);
    void pump(); // puts, gets and polling: look again
    void detach();

    void onPubAck(quint64 seq, NatsMsgPtr msg);
    // A message on this channel's pull inbox: an item, or the server's word on a pull request.
    void onDelivery(NatsMsgPtr msg, bool noWait);
    void onDisconnected();
    void onReconnected();
    void onConnectionLost();

private:
    enum Signal : int { ItemAvailable, SpaceAvailable, SizeChanged, Closed, Finished };

    // A pull request of this process, waiting on the server for items.
    struct Pull {
        qsizetype remaining = 0; // items not delivered yet (attributed in request order)
        NatsClock::time_point expiresAt;
    };
    // The no-wait pull request of a tryGet(): one at a time, on an inbox of its own, so that
    // what arrives there is its answer.
    struct NoWaitPull {
        quint64 id = 0;
        std::shared_ptr<NatsGetSink> sink;
        NatsClock::time_point expiresAt;
    };

    // open
    void openStep(int step, NatsClock::time_point deadline,
                  std::function<void(std::exception_ptr)> done);
    QJsonObject streamConfig() const;
    QJsonObject closeStreamConfig() const;
    QJsonObject consumerConfig() const;
    QString checkStream(const QJsonObject &info);
    QString checkCloseStream(const QJsonObject &info) const;
    QString checkConsumer(const QJsonObject &info);
    void adoptState(const QJsonObject &streamInfo);

    // puts
    void pumpPuts();
    void send(const std::shared_ptr<NatsPutOp> &op);
    void onPutTimeout(quint64 seq, int attempt);
    void armPutTimer(NatsClock::time_point when);
    void checkPutTimeouts();
    void takeIncomingPuts();
    // An attempt went unanswered: the put may be in the channel.
    void markMaybeStored(NatsPutOp &op);
    void retryLater(const std::shared_ptr<NatsPutOp> &op, std::chrono::milliseconds firstBackoff);
    void putAccepted(const std::shared_ptr<NatsPutOp> &op);
    void putRefusedFull(const std::shared_ptr<NatsPutOp> &op);
    void settlePut(const std::shared_ptr<NatsPutOp> &op, PutResult result,
                   std::exception_ptr error = {});
    bool withdrawIfGone(const std::shared_ptr<NatsPutOp> &op);
    std::exception_ptr closedPutError(const NatsPutOp &op) const;
    void failUnsentPuts(const std::function<std::exception_ptr(const NatsPutOp &)> &why);
    void updatePendingPuts();

    // gets
    void pumpGets();
    void sendPull(qsizetype batch);
    void sendNoWaitPull(std::shared_ptr<NatsGetSink> sink);
    void endNoWaitPull();
    void dispatch(NatsMessage &message, const std::shared_ptr<NatsGetSink> &preferred);
    bool dropFromLine(const std::shared_ptr<NatsGetSink> &sink);
    void flushLine();
    void endLine(const std::function<void(NatsGetSink &)> &how);
    void updatePendingGets();

    // state
    bool needsPolling() const;
    void schedulePoll();
    void pollNow();
    void onStreamInfo(const NatsApiReply &reply);
    void onConsumerInfo(const NatsApiReply &reply);
    void checkRemainder(qsizetype msgs, qint64 firstSeq, qint64 lastSeq);
    void onRemainderInfo(const NatsApiReply &reply, qsizetype msgs, qint64 firstSeq,
                         qint64 lastSeq);
    void checkCloseMarker();
    void seal(NatsClock::time_point deadline, std::function<void(std::exception_ptr)> done);
    void publishCloseMarker(const QByteArray &closer, int attempt, NatsClock::time_point deadline,
                            std::function<void(bool, std::exception_ptr)> done);
    void readBackCloseMarker(const QByteArray &closer, NatsClock::time_point deadline,
                             std::function<void(bool, std::exception_ptr)> done);
    void markClosed();
    void markFinished();
    void channelLost(const QString &why);
    void armTimer(NatsClock::time_point when);

    // signals
    bool listened(Signal s) const { return listeners[s].load(std::memory_order_relaxed) > 0; }
    template <typename F> void toOwner(F &&f);
    void emitSize(qsizetype n);

    std::exception_ptr apiError(const NatsApiReply &reply, const QString &what) const;

    std::atomic<qsizetype> m_capacity;
    bool m_bindOnly;
    NatsChannelOptions m_options; // written by the engine thread during open, then const;
                                  // other threads read it through options()
    mutable std::mutex m_optionsMutex;

    std::mutex m_ownerMutex;
    NatsChannelBase *m_owner = nullptr; // guarded by m_ownerMutex

    // Engine thread only.
    quint64 m_id = 0; // in the engine's registry
    bool m_opened = false;
    bool m_detached = false;
    bool m_lost = false;
    quint64 m_eventsSubscription = 0;
    QByteArray m_consumer; // the durable consumer every process shares

    std::mutex m_incomingMutex;
    std::vector<std::shared_ptr<NatsPutOp>> m_incomingPuts; // guarded by m_incomingMutex

    quint64 m_nextPutSeq = 1;
    QByteArray m_putReply; // this channel's prefix of put acknowledgements' subjects
    NatsClock::time_point m_putTimerAt = NatsClock::time_point::max();
    std::deque<std::shared_ptr<NatsPutOp>> m_putQueue;        // not sent yet, in call order
    std::map<quint64, std::shared_ptr<NatsPutOp>> m_inFlight; // sent, no answer yet
    // Refused (no room, or the server could not take it now), to be sent again in call order
    // before anything queued behind them.
    std::map<quint64, std::shared_ptr<NatsPutOp>> m_waitingRoom;
    quint64 m_probe = 0; // while puts wait: the one on the wire that asks again
    NatsClock::time_point m_roomRetryAt{};
    std::chrono::milliseconds m_roomBackoff{1};

    std::deque<std::shared_ptr<NatsGetSink>> m_line; // this process's gets, first come first
    bool m_flushArmed = false;
    // Deliveries carry the stream's subject, not the pull request's reply subject: they are told
    // apart by subscription. Items for this object arrive on m_pullInbox + ".p.<id>", a tryGet()'s
    // on m_pullInbox + ".n.<id>"; the server's status messages name the request.
    QByteArray m_pullInbox;
    quint64 m_pullSubscription = 0;
    quint64 m_noWaitSubscription = 0;
    std::map<quint64, Pull> m_pulls;
    std::optional<NoWaitPull> m_noWait;
    qsizetype m_outstanding = 0; // items asked for by regular pulls and not yet delivered
    quint64 m_nextPullId = 1;
    NatsClock::time_point m_pullRetryAt{};

    std::vector<QFutureInterface<void>> m_joiners;
    std::vector<std::function<void(std::exception_ptr)>> m_refreshWaiters;
    bool m_pollInFlight = false;
    bool m_consumerPollInFlight = false;
    bool m_remainderCheckInFlight = false;
    qsizetype m_lastSealedSize = -1; // the stream's size at the last poll, if it was sealed
    NatsClock::time_point m_lastPollAt{};
    int m_pollCount = 0;
    NatsClock::time_point m_timerAt = NatsClock::time_point::max();
    bool m_itemArmed = true;
    bool m_spaceArmed = true;
    qsizetype m_reportedSize = -1;
    bool m_closing = false;
    quint64 m_closeCalls = 0; // every close() call marks with an id of its own
};

} // namespace QtChannel::detail
