// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

// The engine behind one NatsConnection: a thread of its own that owns every piece of channel
// state, and the only thread that talks to nats.c after the connection is made. docs/nats.md
// ("Design") says why it is built this way.
//
// Threads and what they touch:
// - nats.c's threads (socket reader, flusher, a delivery thread per subscription, the
//   connection-callback thread) only push what arrives into the engine's inbox (post() and
//   postMessage(), under m_mutex) and wake the engine; they never touch channel state.
// - User threads call NatsConnection / NatsChannel members; those post closures to the engine
//   and, for blocking calls, wait on a waiter of their own (never on the engine's mutex for
//   long).
// - The engine thread runs the closures, the messages and the timers, one at a time, in order:
//   every member marked "engine thread" below is touched by it alone, without a lock.

#include <QtChannel/natsconnection.h>

#include <QtCore/QByteArray>
#include <QtCore/QJsonObject>
#include <QtCore/QLoggingCategory>
#include <QtCore/QString>

#include <nats/nats.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <queue>
#include <thread>
#include <unordered_map>
#include <vector>

// QT_LOGGING_RULES="qtchannel.nats.debug=true" traces the protocol.
Q_DECLARE_LOGGING_CATEGORY(lcNats)

namespace QtChannel::detail {

class NatsChannelState;

using NatsClock = std::chrono::steady_clock;

// Owns a natsMsg.
struct NatsMsgDeleter {
    void operator()(natsMsg *m) const noexcept { natsMsg_Destroy(m); }
};
using NatsMsgPtr = std::unique_ptr<natsMsg, NatsMsgDeleter>;

// The status line of a control message from the server ("NATS/1.0 408 Request Timeout"):
// 0 for an ordinary message.
int natsStatusOf(natsMsg *msg, QByteArray *description = nullptr);

// The answer to a JetStream API request.
struct NatsApiReply {
    enum class Outcome { Ok, Error, Timeout, NoResponders, NotSent };
    Outcome outcome = Outcome::Timeout;
    QJsonObject json;    // the whole reply (Ok and Error)
    int code = 0;        // Error: the HTTP-like code
    int errCode = 0;     // Error: JetStream's error code
    QString description; // Error: the server's words; otherwise ours

    bool ok() const { return outcome == Outcome::Ok; }
    // Worth asking again: the server did not answer, or JetStream was not ready.
    bool isTransient() const;
};

class NatsEngine : public std::enable_shared_from_this<NatsEngine> {
public:
    explicit NatsEngine(const NatsConnectionOptions &options);
    ~NatsEngine();
    NatsEngine(const NatsEngine &) = delete;
    NatsEngine &operator=(const NatsEngine &) = delete;

    // --- any thread ------------------------------------------------------------------------

    // Starts the engine thread (once).
    void start();
    // Runs `fn` on the engine thread, after everything posted before it. Returns false, and
    // drops it, once the engine is stopping.
    bool post(std::function<void()> fn);
    bool isEngineThread() const noexcept {
        return m_threadId.load(std::memory_order_acquire) == std::this_thread::get_id();
    }
    // Throws NatsError (Kind::Usage) on the engine thread: a blocking call there would wait for
    // the thread that is blocked.
    void assertNotEngineThread(const char *call) const;
    // Fails everything, closes the connection and joins the thread. Called by ~NatsConnection.
    void shutdown();
    bool isStopped() const noexcept { return m_stopped.load(std::memory_order_acquire); }

    NatsConnection::State state() const noexcept { return m_state.load(std::memory_order_acquire); }
    QString lastError() const;
    QUrl connectedUrl() const;
    const NatsConnectionOptions &options() const noexcept { return m_options; }

    // The NatsConnection object, for its signals; cleared by its destructor.
    void setOwner(NatsConnection *owner);

    // Starts connecting on the engine thread; `done` runs there with null or the error.
    void connectAsync(std::function<void(std::exception_ptr)> done);

    // --- engine thread ---------------------------------------------------------------------

    bool isConnected() const noexcept { return state() == NatsConnection::State::Connected; }
    natsConnection *connection() const noexcept { return m_nc; }
    // The prefix of this connection's reply subjects: "_INBOX.<unique>".
    const QByteArray &inbox() const noexcept { return m_inbox; }

    // Publishes a message, with a reply subject and headers (name, value pairs) when given.
    // Returns nats.c's status (NATS_OK when buffered for sending).
    natsStatus publish(const QByteArray &subject, const QByteArray &reply, const char *data,
                       int size, const char *headerName = nullptr,
                       const QByteArray &headerValue = {});

    // A JetStream API request: `cb` runs on the engine thread with the reply, exactly once.
    // With `headerName`, the request carries that header (a Nats-Msg-Id).
    void apiRequest(const QByteArray &subject, const QByteArray &payload,
                    std::chrono::milliseconds timeout, std::function<void(NatsApiReply)> cb,
                    const char *headerName = nullptr, const QByteArray &headerValue = {});

    // Acknowledges a delivered item (publishes "+ACK" to its ack subject). With `confirm`, asks
    // the server to confirm it and calls `confirm(true)` once it did, or `confirm(false)` when
    // no confirmation came before `giveUpAt` (each retry waits `retry`). Without, fire and
    // forget.
    void ack(const QByteArray &ackSubject, std::function<void(bool)> confirm = {},
             NatsClock::time_point giveUpAt = {},
             std::chrono::milliseconds retry = std::chrono::milliseconds(1000));
    // Negatively acknowledges it: the server delivers it again (after `delay`).
    void nak(const QByteArray &ackSubject, std::chrono::milliseconds delay = {});
    // Tells the server the item is still being worked on (resets its ack timer).
    void inProgress(const QByteArray &ackSubject);

    // Subscribes to a plain subject; messages go to `onMessage` on the engine thread. Returns 0
    // on failure.
    quint64 subscribe(const QByteArray &subject, std::function<void(NatsMsgPtr)> onMessage);
    void unsubscribe(quint64 id);

    // Channels: their messages arrive on inbox() + ".c<id>.<kind>.<n>".
    quint64 addChannel(std::shared_ptr<NatsChannelState> channel);
    void removeChannel(quint64 id);

    // Runs `fn` on the engine thread at `when` (or soon after).
    void at(NatsClock::time_point when, std::function<void()> fn);
    // Runs `fn` once the current batch of events is processed (before the engine waits again).
    void afterBatch(std::function<void()> fn) { m_afterBatch.push_back(std::move(fn)); }

    // The error for a failed nats.c call or request, with the server's last words if they
    // explain it (a permissions violation, an authorization error).
    std::exception_ptr errorFor(natsStatus status, const QString &what) const;
    // The server reported a permissions violation recently: its message, else empty.
    QString recentPermissionError() const;

private:
    struct Event {
        NatsMsgPtr msg; // a message of subscription `subscription`, or
        quint64 subscription = 0;
        std::function<void()> fn; // a closure
    };
    struct Timer {
        NatsClock::time_point when;
        quint64 order;
        std::function<void()> fn;
        bool operator>(const Timer &o) const {
            return when != o.when ? when > o.when : order > o.order;
        }
    };
    struct Subscription {
        natsSubscription *sub = nullptr;
        std::function<void(NatsMsgPtr)> onMessage;
        // Set by nats.c's completion callback: no more callbacks for it.
        bool complete = false; // guarded by m_mutex
    };
    struct PendingRequest {
        std::function<void(NatsApiReply)> cb;
        NatsClock::time_point deadline;
    };
    struct PendingAck {
        QByteArray ackSubject;
        std::function<void(bool)> confirm;
        NatsClock::time_point giveUpAt;
        NatsClock::time_point retryAt;
        std::chrono::milliseconds retry;
    };

    void run();
    void processEvent(Event &event);
    void runTimers();
    void onMuxMessage(NatsMsgPtr msg);
    void onRequestReply(quint64 id, NatsMsgPtr msg);
    void onAckConfirmed(quint64 id);
    void checkRequests();
    void checkAcks();
    void sendAck(quint64 id, PendingAck &ack);
    void doConnect(std::function<void(std::exception_ptr)> done);
    void onConnectionEvent(NatsConnection::State state);
    void failEverything();
    void stopOnEngineThread();
    void setState(NatsConnection::State state);
    template <typename F> void toOwner(F &&f);

    // nats.c callbacks (their threads).
    static void onMessageCb(natsConnection *, natsSubscription *, natsMsg *msg, void *closure);
    static void onSubscriptionCompleteCb(void *closure);
    static void onDisconnectedCb(natsConnection *, void *closure);
    static void onReconnectedCb(natsConnection *, void *closure);
    static void onClosedCb(natsConnection *, void *closure);
    static void onErrorCb(natsConnection *, natsSubscription *, natsStatus err, void *closure);
    void postMessage(quint64 subscription, natsMsg *msg);

    const NatsConnectionOptions m_options;

    // Inbox and lifecycle; guarded by m_mutex.
    mutable std::mutex m_mutex;
    std::condition_variable m_wake;      // the engine waits on it for events
    std::condition_variable m_lifecycle; // shutdown() waits on it for nats.c's last callbacks
    std::vector<Event> m_events;
    bool m_sleeping = false;
    bool m_stopRequested = false;
    bool m_closedCallbackSeen = false;
    std::unordered_map<quint64, std::shared_ptr<Subscription>> m_subs;
    // Unsubscribed, not yet destroyed: the engine thread's only. nats.c 3.4's read loop looks a
    // subscription up and uses it without a reference of its own (fixed in 3.5, nats.c pull
    // request 638), so a subscription destroyed while a message for it is being read crashes the
    // read loop. Ours are destroyed once the connection is closed and its read loop joined.
    std::vector<natsSubscription *> m_retired;
    QString m_lastError;
    QString m_lastPermissionError;
    NatsClock::time_point m_lastPermissionErrorAt;
    QUrl m_connectedUrl;
    NatsConnection *m_owner = nullptr; // guarded by m_ownerMutex
    std::mutex m_ownerMutex;

    std::mutex m_shutdownMutex; // one shutdown() at a time
    std::thread m_thread;
    std::atomic<std::thread::id> m_threadId{};
    std::atomic<NatsConnection::State> m_state{NatsConnection::State::Unconnected};
    std::atomic<bool> m_stopped{false};
    std::atomic<bool> m_started{false};

    // Events posted so far: the engine spins on it before it sleeps (written under m_mutex).
    std::atomic<quint64> m_posted{0};

    // Engine thread only.
    static constexpr std::chrono::microseconds MinSpin{5};
    static constexpr std::chrono::microseconds MaxSpin{50};
    std::chrono::microseconds m_spin{0};
    natsConnection *m_nc = nullptr;
    QByteArray m_inbox;
    quint64 m_muxSubscription = 0;
    quint64 m_nextId = 1;
    std::priority_queue<Timer, std::vector<Timer>, std::greater<>> m_timers;
    quint64 m_timerOrder = 0;
    std::unordered_map<quint64, PendingRequest> m_requests;
    std::multimap<NatsClock::time_point, quint64> m_requestDeadlines;
    std::unordered_map<quint64, PendingAck> m_acks;
    std::multimap<NatsClock::time_point, quint64> m_ackRetries;
    std::unordered_map<quint64, std::shared_ptr<NatsChannelState>> m_channels;
    std::vector<std::function<void()>> m_afterBatch;
    bool m_requestCheckArmed = false;
    bool m_ackCheckArmed = false;
    bool m_connecting = false;
    std::vector<std::function<void(std::exception_ptr)>> m_connectWaiters;
};

} // namespace QtChannel::detail
