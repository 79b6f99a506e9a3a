// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#include "natsengine_p.h"

#include "natschannelstate_p.h"

#include <QtCore/QFile>
#include <QtCore/QJsonDocument>
#include <QtCore/QMetaObject>
#include <QtCore/QRegularExpression>

#include <cstring>

Q_LOGGING_CATEGORY(lcNats, "qtchannel.nats", QtWarningMsg)

namespace QtChannel::detail {

namespace {

using std::chrono::milliseconds;

inline void spinPause() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

// The engine's bookkeeping for one nats.c subscription; nats.c's callbacks get a pointer to it.
struct SubClosure {
    NatsEngine *engine;
    quint64 id;
};

NatsError::Kind kindOf(natsStatus status, const QString &text) {
    switch (status) {
    case NATS_CONNECTION_AUTH_FAILED:
    case NATS_NOT_PERMITTED:
        return NatsError::Kind::NotAuthorized;
    case NATS_SSL_ERROR:
    case NATS_SECURE_CONNECTION_WANTED:
    case NATS_SECURE_CONNECTION_REQUIRED:
        return NatsError::Kind::Tls;
    case NATS_TIMEOUT:
        return NatsError::Kind::Timeout;
    default:
        break;
    }
    if (text.contains(QLatin1String("Authorization Violation"), Qt::CaseInsensitive) ||
        text.contains(QLatin1String("Permissions Violation"), Qt::CaseInsensitive) ||
        text.contains(QLatin1String("authentication"), Qt::CaseInsensitive))
        return NatsError::Kind::NotAuthorized;
    if (text.contains(QLatin1String("SSL"), Qt::CaseInsensitive) ||
        text.contains(QLatin1String("certificate"), Qt::CaseInsensitive))
        return NatsError::Kind::Tls;
    return NatsError::Kind::Connection;
}

QString lastNatsError(natsStatus status) {
    natsStatus s = status;
    const char *text = nats_GetLastError(&s);
    QString message = QString::fromUtf8(text && *text ? text : natsStatus_GetText(status));
    // nats.c starts its messages with "(conn.c:733): ": the user does not need its line numbers.
    static const QRegularExpression location(QStringLiteral("^\\([A-Za-z_]+\\.c:\\d+\\): "));
    message.remove(location);
    return message;
}

} // namespace

int natsStatusOf(natsMsg *msg, QByteArray *description) {
    const char *value = nullptr;
    if (natsMsgHeader_Get(msg, "Status", &value) != NATS_OK || !value)
        return 0;
    if (description) {
        const char *desc = nullptr;
        if (natsMsgHeader_Get(msg, "Description", &desc) == NATS_OK && desc)
            *description = QByteArray(desc);
    }
    return std::atoi(value);
}

bool NatsApiReply::isTransient() const {
    switch (outcome) {
    case Outcome::Timeout:
    case Outcome::NoResponders:
    case Outcome::NotSent:
        return true;
    case Outcome::Error:
        // 10008: JetStream temporarily unavailable; 10005: no suitable peers yet (a cluster still
        // forming); 503s: no leader yet, insufficient resources while a cluster settles.
        return errCode == 10008 || errCode == 10005 || code == 503;
    case Outcome::Ok:
        break;
    }
    return false;
}

NatsEngine::NatsEngine(const NatsConnectionOptions &options)
    : m_options(options) {}

NatsEngine::~NatsEngine() {
    if (m_thread.joinable())
        m_thread.detach(); // only when destroyed by its own thread, see shutdown()
}

// --- any thread ------------------------------------------------------------------------------

void NatsEngine::start() {
    if (m_started.exchange(true))
        return;
    // The thread keeps the engine alive until it leaves run(): shutdown() may be called from
    // the engine thread itself (a continuation that destroys the NatsConnection).
    m_thread = std::thread([self = shared_from_this()] { self->run(); });
}

bool NatsEngine::post(std::function<void()> fn) {
    std::unique_lock lock(m_mutex);
    if (m_stopRequested)
        return false;
    m_events.push_back(Event{nullptr, 0, std::move(fn)});
    m_posted.fetch_add(1, std::memory_order_relaxed);
    const bool wake = m_sleeping;
    m_sleeping = false;
    lock.unlock();
    if (wake)
        m_wake.notify_one();
    return true;
}

void NatsEngine::postMessage(quint64 subscription, natsMsg *msg) {
    std::unique_lock lock(m_mutex);
    if (m_stopRequested) {
        lock.unlock();
        natsMsg_Destroy(msg);
        return;
    }
    m_events.push_back(Event{NatsMsgPtr(msg), subscription, {}});
    m_posted.fetch_add(1, std::memory_order_relaxed);
    const bool wake = m_sleeping;
    m_sleeping = false;
    lock.unlock();
    if (wake)
        m_wake.notify_one();
}

void NatsEngine::assertNotEngineThread(const char *call) const {
    if (isEngineThread())
        throw NatsError(NatsError::Kind::Usage,
                        QStringLiteral("%1 was called on the NATS engine thread (in a continuation "
                                       "without a context, or a slot connected directly to a "
                                       "signal emitted there): it would wait for itself. Use "
                                       "then(context, ...), a QFutureWatcher or a worker thread.")
                            .arg(QLatin1String(call)));
}

QString NatsEngine::lastError() const {
    std::lock_guard lock(m_mutex);
    return m_lastError;
}

QUrl NatsEngine::connectedUrl() const {
    std::lock_guard lock(m_mutex);
    return m_connectedUrl;
}

QString NatsEngine::recentPermissionError() const {
    std::lock_guard lock(m_mutex);
    if (m_lastPermissionError.isEmpty() ||
        NatsClock::now() - m_lastPermissionErrorAt > std::chrono::seconds(30))
        return {};
    return m_lastPermissionError;
}

void NatsEngine::setOwner(NatsConnection *owner) {
    std::lock_guard lock(m_ownerMutex);
    m_owner = owner;
}

template <typename F> void NatsEngine::toOwner(F &&f) {
    // Posting under the lock: the owner's destructor clears m_owner under it first, so the
    // object is alive when the event is posted; Qt drops the events of a destroyed object.
    std::lock_guard lock(m_ownerMutex);
    if (!m_owner)
        return;
    NatsConnection *owner = m_owner;
    QMetaObject::invokeMethod(
        owner, [owner, f = std::forward<F>(f)] { f(owner); }, Qt::QueuedConnection);
}

void NatsEngine::connectAsync(std::function<void(std::exception_ptr)> done) {
    start();
    {
        std::unique_lock lock(m_mutex);
        if (m_stopRequested) {
            lock.unlock();
            done(std::make_exception_ptr(NatsError(NatsError::Kind::Connection,
                                                   QStringLiteral("the connection is closed"))));
            return;
        }
    }
    post([this, done = std::move(done)]() mutable { doConnect(std::move(done)); });
}

void NatsEngine::shutdown() {
    std::lock_guard once(m_shutdownMutex);
    if (!m_started.load()) {
        std::lock_guard lock(m_mutex);
        m_stopRequested = true;
        m_stopped.store(true, std::memory_order_release);
        m_state.store(NatsConnection::State::Closed, std::memory_order_release);
        return;
    }
    if (isEngineThread()) {
        stopOnEngineThread();
        m_thread.detach(); // run() returns after the current event; it holds the engine alive
        return;
    }
    {
        std::unique_lock lock(m_mutex);
        if (!m_stopRequested) {
            m_events.push_back(Event{nullptr, 0, [this] { stopOnEngineThread(); }});
            m_sleeping = false;
        }
    }
    m_wake.notify_one();
    if (m_thread.joinable())
        m_thread.join();
}

// --- the engine thread ---------------------------------------------------------------------

void NatsEngine::run() {
    m_threadId.store(std::this_thread::get_id(), std::memory_order_release);
    std::vector<Event> batch;
    quint64 seen = 0;
    for (;;) {
        // Busy: look for the next event a little before sleeping. Waking a sleeping engine costs
        // a futex call on each side and a context switch, and under load the next message is
        // usually microseconds away (docs/nats.md, "Design": the engine's spin).
        if (m_spin.count() > 0) {
            const auto until = NatsClock::now() + m_spin;
            bool caught = false;
            for (int i = 0;; ++i) {
                if (m_posted.load(std::memory_order_relaxed) != seen) {
                    caught = true;
                    break;
                }
                if ((i & 15) == 15 && NatsClock::now() >= until)
                    break;
                spinPause();
            }
            // Adapts: a spin that catches work is worth repeating, one that does not is halved.
            m_spin = caught ? std::min(m_spin * 2, MaxSpin) : m_spin / 2;
        }
        {
            std::unique_lock lock(m_mutex);
            for (;;) {
                if (!m_events.empty() || m_stopped.load(std::memory_order_relaxed))
                    break;
                if (!m_timers.empty() && m_timers.top().when <= NatsClock::now())
                    break;
                m_sleeping = true;
                const auto slept = NatsClock::now();
                if (m_timers.empty())
                    m_wake.wait(lock);
                else
                    m_wake.wait_until(lock, m_timers.top().when);
                m_sleeping = false;
                // Woken soon after falling asleep: events come close together, spin next time.
                if (NatsClock::now() - slept < std::chrono::microseconds(200))
                    m_spin = std::max(m_spin, MinSpin);
            }
            if (m_stopped.load(std::memory_order_relaxed) && m_events.empty())
                break;
            batch.swap(m_events);
            seen = m_posted.load(std::memory_order_relaxed);
        }
        for (Event &event : batch) {
            processEvent(event);
            if (m_stopped.load(std::memory_order_relaxed))
                break;
        }
        batch.clear();
        if (m_stopped.load(std::memory_order_relaxed))
            break;
        runTimers();
        while (!m_afterBatch.empty()) {
            auto after = std::move(m_afterBatch);
            m_afterBatch.clear();
            for (auto &fn : after)
                fn();
        }
    }
    // Closures posted before the stop still run: the channels are closed now, so they settle
    // their operations with an error instead of leaving a caller waiting. Messages are dropped.
    std::vector<Event> rest;
    {
        std::lock_guard lock(m_mutex);
        rest.swap(m_events);
    }
    for (Event &event : rest)
        if (event.fn)
            event.fn();
}

void NatsEngine::processEvent(Event &event) {
    if (event.fn) {
        event.fn();
        return;
    }
    if (event.subscription == m_muxSubscription) {
        onMuxMessage(std::move(event.msg));
        return;
    }
    std::shared_ptr<Subscription> sub;
    {
        std::lock_guard lock(m_mutex);
        auto it = m_subs.find(event.subscription);
        if (it != m_subs.end())
            sub = it->second;
    }
    if (sub && sub->onMessage)
        sub->onMessage(std::move(event.msg));
}

void NatsEngine::runTimers() {
    const auto now = NatsClock::now();
    while (!m_timers.empty() && m_timers.top().when <= now) {
        std::function<void()> fn = std::move(const_cast<Timer &>(m_timers.top()).fn);
        m_timers.pop();
        fn();
        if (m_stopped.load(std::memory_order_relaxed))
            return;
    }
}

void NatsEngine::at(NatsClock::time_point when, std::function<void()> fn) {
    m_timers.push(Timer{when, m_timerOrder++, std::move(fn)});
}

void NatsEngine::doConnect(std::function<void(std::exception_ptr)> done) {
    if (m_nc && isConnected()) {
        done(nullptr);
        return;
    }
    m_connectWaiters.push_back(std::move(done));
    if (m_connecting || m_nc)
        return; // a connection attempt is running, or reconnecting: its outcome settles `done`
    m_connecting = true;
    setState(NatsConnection::State::Connecting);

    const NatsConnectionOptions &o = m_options;
    natsOptions *opts = nullptr;
    natsStatus s = natsOptions_Create(&opts);
    QString failedStep;
    auto step = [&](natsStatus status, const char *what) {
        if (s == NATS_OK && status != NATS_OK) {
            s = status;
            failedStep = QLatin1String(what);
        }
    };
    QList<QByteArray> urls;
    bool tls = o.tls.enabled;
    for (const QUrl &url : o.servers) {
        urls.append(url.toString(QUrl::FullyEncoded).toUtf8());
        if (url.scheme() == QLatin1String("tls"))
            tls = true;
    }
    if (urls.isEmpty())
        urls.append(QByteArrayLiteral("nats://127.0.0.1:4222"));
    std::vector<const char *> urlPointers;
    for (const QByteArray &u : urls)
        urlPointers.push_back(u.constData());
    if (s == NATS_OK) {
        step(natsOptions_SetServers(opts, urlPointers.data(), int(urlPointers.size())),
             "the server URLs");
        step(natsOptions_SetNoRandomize(opts, true), "the server order");
        if (!o.name.isEmpty())
            step(natsOptions_SetName(opts, o.name.toUtf8().constData()), "the client name");
        step(natsOptions_SetTimeout(opts, qint64(o.connectTimeout.count())), "the timeout");
        step(natsOptions_SetAllowReconnect(opts, o.maxReconnects != 0), "reconnection");
        step(natsOptions_SetMaxReconnect(opts, o.maxReconnects), "the reconnection limit");
        step(natsOptions_SetReconnectWait(opts, qint64(o.reconnectWait.count())),
             "the reconnection wait");
        step(natsOptions_SetReconnectBufSize(opts, int(o.reconnectBufferBytes)),
             "the reconnection buffer");
        step(natsOptions_SetPingInterval(opts, qint64(o.pingInterval.count())),
             "the ping interval");
        step(natsOptions_SetMaxPingsOut(opts, o.maxPingsOut), "the ping limit");
        step(natsOptions_SetDisconnectedCB(opts, &NatsEngine::onDisconnectedCb, this),
             "the callbacks");
        step(natsOptions_SetReconnectedCB(opts, &NatsEngine::onReconnectedCb, this),
             "the callbacks");
        step(natsOptions_SetClosedCB(opts, &NatsEngine::onClosedCb, this), "the callbacks");
        step(natsOptions_SetErrorHandler(opts, &NatsEngine::onErrorCb, this), "the callbacks");
        if (!o.credentialsFile.isEmpty())
            step(natsOptions_SetUserCredentialsFromFiles(
                     opts, QFile::encodeName(o.credentialsFile).constData(), nullptr),
                 "the credentials file");
        else if (!o.nkeySeedFile.isEmpty())
            step(natsOptions_SetNKeyFromSeed(opts, o.nkeyPublicKey.toUtf8().constData(),
                                             QFile::encodeName(o.nkeySeedFile).constData()),
                 "the NKey seed file");
        else if (!o.token.isEmpty())
            step(natsOptions_SetToken(opts, o.token.toUtf8().constData()), "the token");
        else if (!o.user.isEmpty())
            step(natsOptions_SetUserInfo(opts, o.user.toUtf8().constData(),
                                         o.password.toUtf8().constData()),
                 "the user and password");
        if (tls) {
            step(natsOptions_SetSecure(opts, true), "TLS");
            if (!o.tls.caFile.isEmpty())
                step(natsOptions_LoadCATrustedCertificates(
                         opts, QFile::encodeName(o.tls.caFile).constData()),
                     "the CA file");
            if (!o.tls.certificateFile.isEmpty())
                step(natsOptions_LoadCertificatesChain(
                         opts, QFile::encodeName(o.tls.certificateFile).constData(),
                         QFile::encodeName(o.tls.keyFile).constData()),
                     "the client certificate or its key");
            if (!o.tls.expectedHostname.isEmpty())
                step(natsOptions_SetExpectedHostname(opts,
                                                     o.tls.expectedHostname.toUtf8().constData()),
                     "the expected host name");
            if (!o.tls.verifyServer)
                step(natsOptions_SkipServerVerification(opts, true), "the server verification");
        }
    }
    QString failure;
    if (s != NATS_OK) {
        failure = QStringLiteral("cannot set %1: %2").arg(failedStep, lastNatsError(s));
    } else {
        s = natsConnection_Connect(&m_nc, opts);
        if (s != NATS_OK) {
            m_nc = nullptr;
            failure = QStringLiteral("cannot connect to %1: %2")
                          .arg(QString::fromUtf8(urls.join(", ")), lastNatsError(s));
        }
    }
    natsOptions_Destroy(opts);

    if (s == NATS_OK) {
        natsInbox *inbox = nullptr;
        s = natsInbox_Create(&inbox);
        if (s == NATS_OK) {
            m_inbox = QByteArray(inbox);
            natsInbox_Destroy(inbox);
            m_muxSubscription = subscribe(m_inbox + ".>", {});
            if (!m_muxSubscription)
                s = NATS_ERR;
        }
        if (s == NATS_OK) {
            // Replies must be subscribed before anything is asked: a round trip makes sure.
            s = natsConnection_FlushTimeout(m_nc, qint64(m_options.connectTimeout.count()));
        }
        if (s != NATS_OK)
            failure = QStringLiteral("cannot subscribe to its replies: %1").arg(lastNatsError(s));
    }

    m_connecting = false;
    std::exception_ptr error;
    if (failure.isEmpty()) {
        char url[512] = {};
        natsConnection_GetConnectedUrl(m_nc, url, sizeof url);
        {
            std::lock_guard lock(m_mutex);
            m_connectedUrl = QUrl(QString::fromUtf8(url));
        }
        setState(NatsConnection::State::Connected);
    } else {
        NatsError::Kind kind = kindOf(s, failure);
        if (tls && kind == NatsError::Kind::Connection &&
            (s == NATS_IO_ERROR || s == NATS_PROTOCOL_ERROR || s == NATS_CONNECTION_CLOSED ||
             s == NATS_SSL_ERROR)) {
            // With client certificates, TLS 1.3 reports a refused certificate after the
            // handshake: nats.c then only sees the server hang up.
            kind = NatsError::Kind::Tls;
            failure += QStringLiteral(" (the server ended the TLS session: it may require a client "
                                      "certificate, or not trust the one given)");
        }
        error = std::make_exception_ptr(NatsError(kind, failure, int(s)));
        {
            std::lock_guard lock(m_mutex);
            m_lastError = failure;
        }
        if (m_nc) {
            natsConnection_Destroy(m_nc); // never connected: nats.c makes no callbacks
            m_nc = nullptr;
        }
        setState(NatsConnection::State::Unconnected);
    }
    auto waiters = std::move(m_connectWaiters);
    m_connectWaiters.clear();
    for (auto &w : waiters)
        w(error);
}

void NatsEngine::setState(NatsConnection::State state) {
    const NatsConnection::State old = m_state.exchange(state, std::memory_order_acq_rel);
    if (old == state)
        return;
    toOwner([old, state](NatsConnection *owner) {
        Q_EMIT owner->stateChanged(state);
        using S = NatsConnection::State;
        if (state == S::Connected && old == S::Connecting)
            Q_EMIT owner->connected();
        else if (state == S::Connected)
            Q_EMIT owner->reconnected();
        else if (state == S::Reconnecting)
            Q_EMIT owner->disconnected();
        else if (state == S::Closed)
            Q_EMIT owner->closed();
    });
}

quint64 NatsEngine::subscribe(const QByteArray &subject,
                              std::function<void(NatsMsgPtr)> onMessage) {
    if (!m_nc)
        return 0;
    const quint64 id = m_nextId++;
    auto sub = std::make_shared<Subscription>();
    sub->onMessage = std::move(onMessage);
    auto *closure = new SubClosure{this, id};
    {
        std::lock_guard lock(m_mutex);
        m_subs.emplace(id, sub);
    }
    natsSubscription *s = nullptr;
    natsStatus status =
        natsConnection_Subscribe(&s, m_nc, subject.constData(), &NatsEngine::onMessageCb, closure);
    if (status == NATS_OK) {
        // The engine bounds what it asks for (put windows, pull batches): never drop.
        natsSubscription_SetPendingLimits(s, -1, -1);
        natsSubscription_SetOnCompleteCB(s, &NatsEngine::onSubscriptionCompleteCb, closure);
        sub->sub = s;
        return id;
    }
    delete closure;
    std::lock_guard lock(m_mutex);
    m_subs.erase(id);
    return 0;
}

void NatsEngine::unsubscribe(quint64 id) {
    std::shared_ptr<Subscription> sub;
    {
        std::lock_guard lock(m_mutex);
        auto it = m_subs.find(id);
        if (it == m_subs.end())
            return;
        sub = it->second;
    }
    if (sub->sub) {
        // nats.c calls onSubscriptionCompleteCb after the last message callback; the entry
        // (and the closure) go then. Destroyed only once the connection is closed (m_retired).
        natsSubscription_Unsubscribe(sub->sub);
        m_retired.push_back(sub->sub);
        sub->sub = nullptr;
    }
    sub->onMessage = nullptr;
}

void NatsEngine::onMessageCb(natsConnection *, natsSubscription *, natsMsg *msg, void *closure) {
    auto *c = static_cast<SubClosure *>(closure);
    c->engine->postMessage(c->id, msg);
}

// These two run on nats.c's threads, and what they signal lets stopOnEngineThread() go on and
// the engine be destroyed: each notifies under the lock and touches the engine no more after
// it. (Notified after unlocking, the condition variable could already be destroyed:
// ThreadSanitizer saw ~NatsEngine race this thread's notify_all() in qtchannel-demo's view.)
void NatsEngine::onSubscriptionCompleteCb(void *closure) {
    auto *c = static_cast<SubClosure *>(closure);
    NatsEngine *engine = c->engine;
    std::lock_guard lock(engine->m_mutex);
    engine->m_subs.erase(c->id);
    delete c;
    engine->m_lifecycle.notify_all();
}

void NatsEngine::onDisconnectedCb(natsConnection *, void *closure) {
    auto *engine = static_cast<NatsEngine *>(closure);
    engine->post([engine] { engine->onConnectionEvent(NatsConnection::State::Reconnecting); });
}

void NatsEngine::onReconnectedCb(natsConnection *nc, void *closure) {
    auto *engine = static_cast<NatsEngine *>(closure);
    char url[512] = {};
    natsConnection_GetConnectedUrl(nc, url, sizeof url);
    {
        std::lock_guard lock(engine->m_mutex);
        engine->m_connectedUrl = QUrl(QString::fromUtf8(url));
    }
    engine->post([engine] { engine->onConnectionEvent(NatsConnection::State::Connected); });
}

void NatsEngine::onClosedCb(natsConnection *, void *closure) {
    auto *engine = static_cast<NatsEngine *>(closure);
    // Posted first: once the flag is set, the engine may be gone (see above).
    engine->post([engine] { engine->onConnectionEvent(NatsConnection::State::Closed); });
    std::lock_guard lock(engine->m_mutex);
    engine->m_closedCallbackSeen = true;
    engine->m_lifecycle.notify_all();
}

void NatsEngine::onErrorCb(natsConnection *nc, natsSubscription *, natsStatus err, void *closure) {
    auto *engine = static_cast<NatsEngine *>(closure);
    const char *text = nullptr;
    natsConnection_GetLastError(nc, &text);
    QString message = QString::fromUtf8(text && *text ? text : natsStatus_GetText(err));
    {
        std::lock_guard lock(engine->m_mutex);
        engine->m_lastError = message;
        if (err == NATS_NOT_PERMITTED ||
            message.contains(QLatin1String("Permissions Violation"), Qt::CaseInsensitive)) {
            engine->m_lastPermissionError = message;
            engine->m_lastPermissionErrorAt = NatsClock::now();
        }
    }
    engine->toOwner([message](NatsConnection *owner) { Q_EMIT owner->errorOccurred(message); });
}

void NatsEngine::onConnectionEvent(NatsConnection::State state) {
    if (!m_nc || isStopped())
        return;
    if (state == NatsConnection::State::Closed) {
        setState(state);
        failEverything();
        return;
    }
    if (this->state() == NatsConnection::State::Closed)
        return;
    setState(state);
    auto channels = m_channels; // a channel may leave the registry meanwhile
    for (auto &[id, channel] : channels) {
        Q_UNUSED(id);
        if (state == NatsConnection::State::Connected)
            channel->onReconnected();
        else
            channel->onDisconnected();
    }
    if (state == NatsConnection::State::Connected) {
        // Requests and acknowledgements sent into the lost connection: ask again now.
        for (auto &[id, ack] : m_acks) {
            Q_UNUSED(id);
            ack.retryAt = NatsClock::now();
        }
        checkAcks();
    }
}

natsStatus NatsEngine::publish(const QByteArray &subject, const QByteArray &reply, const char *data,
                               int size, const char *headerName, const QByteArray &headerValue) {
    if (!m_nc)
        return NATS_CONNECTION_CLOSED;
    qCDebug(lcNats) << "publish" << subject << "reply" << reply
                    << QByteArray(data, std::min(size, 200));
    if (!headerName && reply.isEmpty())
        return natsConnection_Publish(m_nc, subject.constData(), data, size);
    if (!headerName) // (PublishRequest refuses a null reply subject)
        return natsConnection_PublishRequest(m_nc, subject.constData(), reply.constData(), data,
                                             size);
    natsMsg *msg = nullptr;
    natsStatus s = natsMsg_Create(&msg, subject.constData(),
                                  reply.isEmpty() ? nullptr : reply.constData(), data, size);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(msg, headerName, headerValue.constData());
    if (s == NATS_OK)
        s = natsConnection_PublishMsg(m_nc, msg);
    natsMsg_Destroy(msg);
    return s;
}

void NatsEngine::apiRequest(const QByteArray &subject, const QByteArray &payload,
                            std::chrono::milliseconds timeout, std::function<void(NatsApiReply)> cb,
                            const char *headerName, const QByteArray &headerValue) {
    const quint64 id = m_nextId++;
    const natsStatus s = publish(subject, m_inbox + ".r." + QByteArray::number(id),
                                 payload.constData(), int(payload.size()), headerName, headerValue);
    if (s != NATS_OK) {
        NatsApiReply reply;
        reply.outcome = NatsApiReply::Outcome::NotSent;
        reply.description = lastNatsError(s);
        cb(std::move(reply));
        return;
    }
    const auto deadline = NatsClock::now() + timeout;
    m_requests.emplace(id, PendingRequest{std::move(cb), deadline});
    at(deadline, [this, id] {
        auto it = m_requests.find(id);
        if (it == m_requests.end())
            return;
        auto callback = std::move(it->second.cb);
        m_requests.erase(it);
        NatsApiReply reply;
        reply.outcome = NatsApiReply::Outcome::Timeout;
        reply.description = QStringLiteral("no answer from JetStream in time");
        callback(std::move(reply));
    });
}

void NatsEngine::onRequestReply(quint64 id, NatsMsgPtr msg) {
    auto it = m_requests.find(id);
    if (it == m_requests.end())
        return; // answered after its timeout
    auto cb = std::move(it->second.cb);
    m_requests.erase(it);
    NatsApiReply reply;
    QByteArray description;
    const int status = natsStatusOf(msg.get(), &description);
    if (status == 503) {
        reply.outcome = NatsApiReply::Outcome::NoResponders;
        reply.description = QStringLiteral("no JetStream responder (is JetStream enabled?)");
    } else if (status != 0) {
        reply.outcome = NatsApiReply::Outcome::Error;
        reply.code = status;
        reply.description = QString::fromUtf8(description);
    } else {
        QJsonParseError parseError;
        const QJsonDocument doc = QJsonDocument::fromJson(
            QByteArray(natsMsg_GetData(msg.get()), natsMsg_GetDataLength(msg.get())), &parseError);
        reply.json = doc.object();
        const QJsonObject error = reply.json.value(QLatin1String("error")).toObject();
        if (parseError.error != QJsonParseError::NoError) {
            reply.outcome = NatsApiReply::Outcome::Error;
            reply.description =
                QStringLiteral("unreadable reply: %1").arg(parseError.errorString());
        } else if (!error.isEmpty()) {
            reply.outcome = NatsApiReply::Outcome::Error;
            reply.code = error.value(QLatin1String("code")).toInt();
            reply.errCode = error.value(QLatin1String("err_code")).toInt();
            reply.description = error.value(QLatin1String("description")).toString();
        } else {
            reply.outcome = NatsApiReply::Outcome::Ok;
        }
    }
    cb(std::move(reply));
}

void NatsEngine::ack(const QByteArray &ackSubject, std::function<void(bool)> confirm,
                     NatsClock::time_point giveUpAt, std::chrono::milliseconds retry) {
    if (!confirm) {
        publish(ackSubject, {}, "+ACK", 4);
        return;
    }
    const quint64 id = m_nextId++;
    PendingAck &pending = m_acks[id];
    pending.ackSubject = ackSubject;
    pending.confirm = std::move(confirm);
    pending.giveUpAt = giveUpAt;
    pending.retry = retry;
    sendAck(id, pending);
}

void NatsEngine::sendAck(quint64 id, PendingAck &pending) {
    publish(pending.ackSubject, m_inbox + ".k." + QByteArray::number(id), "+ACK", 4);
    pending.retryAt = NatsClock::now() + pending.retry;
    at(std::min(pending.retryAt, pending.giveUpAt), [this] { checkAcks(); });
}

void NatsEngine::checkAcks() {
    const auto now = NatsClock::now();
    std::vector<quint64> due;
    for (auto &[id, pending] : m_acks) {
        if (pending.retryAt <= now || pending.giveUpAt <= now)
            due.push_back(id);
    }
    for (quint64 id : due) {
        auto it = m_acks.find(id);
        if (it == m_acks.end())
            continue;
        if (it->second.giveUpAt <= now) {
            auto confirm = std::move(it->second.confirm);
            m_acks.erase(it);
            confirm(false);
        } else {
            sendAck(id, it->second); // the acknowledgement is idempotent
        }
    }
}

void NatsEngine::onAckConfirmed(quint64 id) {
    auto it = m_acks.find(id);
    if (it == m_acks.end())
        return;
    auto confirm = std::move(it->second.confirm);
    m_acks.erase(it);
    confirm(true);
}

void NatsEngine::nak(const QByteArray &ackSubject, std::chrono::milliseconds delay) {
    if (delay.count() <= 0) {
        publish(ackSubject, {}, "-NAK", 4);
        return;
    }
    const QByteArray body =
        "-NAK {\"delay\":" + QByteArray::number(qint64(delay.count()) * 1000000) + "}";
    publish(ackSubject, {}, body.constData(), int(body.size()));
}

void NatsEngine::inProgress(const QByteArray &ackSubject) {
    publish(ackSubject, {}, "+WPI", 4);
}

quint64 NatsEngine::addChannel(std::shared_ptr<NatsChannelState> channel) {
    const quint64 id = m_nextId++;
    m_channels.emplace(id, std::move(channel));
    return id;
}

void NatsEngine::removeChannel(quint64 id) {
    m_channels.erase(id);
}

void NatsEngine::onMuxMessage(NatsMsgPtr msg) {
    // <inbox>.r.<id> | <inbox>.k.<id> | <inbox>.a.<channel>.<n>
    const char *subject = natsMsg_GetSubject(msg.get());
    qCDebug(lcNats) << "received" << subject << "status" << natsStatusOf(msg.get())
                    << QByteArray(natsMsg_GetData(msg.get()),
                                  std::min(natsMsg_GetDataLength(msg.get()), 2000));
    const qsizetype prefix = m_inbox.size();
    if (std::strncmp(subject, m_inbox.constData(), size_t(prefix)) != 0 || subject[prefix] != '.')
        return;
    const char kind = subject[prefix + 1];
    if (subject[prefix + 2] != '.')
        return;
    const char *rest = subject + prefix + 3;
    char *end = nullptr;
    const quint64 first = std::strtoull(rest, &end, 10);
    switch (kind) {
    case 'r':
        onRequestReply(first, std::move(msg));
        return;
    case 'k':
        onAckConfirmed(first);
        return;
    case 'a': {
        if (!end || *end != '.')
            return;
        const quint64 second = std::strtoull(end + 1, nullptr, 10);
        auto it = m_channels.find(first);
        if (it == m_channels.end())
            return; // a put's answer for a channel that is gone
        std::shared_ptr<NatsChannelState> channel = it->second; // may remove itself
        channel->onPubAck(second, std::move(msg));
        return;
    }
    default:
        return;
    }
}

std::exception_ptr NatsEngine::errorFor(natsStatus status, const QString &what) const {
    QString text = what;
    const QString permission = recentPermissionError();
    if (!permission.isEmpty())
        text += QStringLiteral(" (the server said: %1)").arg(permission);
    NatsError::Kind kind = kindOf(status, text);
    if (!permission.isEmpty())
        kind = NatsError::Kind::NotAuthorized;
    return std::make_exception_ptr(NatsError(kind, text, int(status)));
}

void NatsEngine::failEverything() {
    // Channels fail their operations; requests and acknowledgements get their negative answer.
    auto channels = m_channels;
    for (auto &[id, channel] : channels) {
        Q_UNUSED(id);
        channel->onConnectionLost();
    }
    auto requests = std::move(m_requests);
    m_requests.clear();
    for (auto &[id, request] : requests) {
        Q_UNUSED(id);
        NatsApiReply reply;
        reply.outcome = NatsApiReply::Outcome::NotSent;
        reply.description = QStringLiteral("the connection is closed");
        request.cb(std::move(reply));
    }
    auto acks = std::move(m_acks);
    m_acks.clear();
    for (auto &[id, ack] : acks) {
        Q_UNUSED(id);
        ack.confirm(false);
    }
    auto waiters = std::move(m_connectWaiters);
    m_connectWaiters.clear();
    for (auto &w : waiters)
        w(std::make_exception_ptr(
            NatsError(NatsError::Kind::Connection, QStringLiteral("the connection is closed"))));
}

void NatsEngine::stopOnEngineThread() {
    if (m_stopped.load())
        return;
    setState(NatsConnection::State::Closed);
    failEverything();
    m_channels.clear();
    {
        std::lock_guard lock(m_mutex);
        m_stopRequested = true; // no more events: nats.c's late callbacks are dropped
    }
    if (m_nc) {
        std::vector<std::shared_ptr<Subscription>> subs;
        {
            std::lock_guard lock(m_mutex);
            for (auto &[id, sub] : m_subs) {
                Q_UNUSED(id);
                subs.push_back(sub);
            }
        }
        for (auto &sub : subs) {
            if (sub->sub) {
                natsSubscription_Unsubscribe(sub->sub);
                m_retired.push_back(sub->sub);
                sub->sub = nullptr;
            }
        }
        natsConnection_Close(m_nc); // joins the read loop: no message is being read any more
        for (natsSubscription *s : m_retired)
            natsSubscription_Destroy(s);
        m_retired.clear();
        // nats.c calls back from its own threads until the closed callback and the subscriptions'
        // completion callbacks have run; `this` must live until then.
        std::unique_lock lock(m_mutex);
        m_lifecycle.wait_for(lock, std::chrono::seconds(5),
                             [this] { return m_closedCallbackSeen && m_subs.empty(); });
        lock.unlock();
        natsConnection_Destroy(m_nc);
        m_nc = nullptr;
    }
    while (!m_timers.empty())
        m_timers.pop();
    m_stopped.store(true, std::memory_order_release);
}

} // namespace QtChannel::detail
