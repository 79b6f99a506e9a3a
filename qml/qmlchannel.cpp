// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#include "QtChannel/qmlchannel.h"

#include "QtChannel/channelitemmodel.h"

#include <QtCore/QFutureWatcher>
#include <QtCore/QThread>
#include <QtQml/QJSEngine>
#include <QtQml/QQmlEngine>
#include <QtQml/qqmlinfo.h>

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace QtChannel {

namespace {
// Property notifications at most once per frame; pending counts sampled while idle.
constexpr int FrameMs = 16;
constexpr int HeartbeatMs = 250;

// An invalid QVariant put from C++ would read as "nothing" in QML: it arrives as null.
QVariant forQml(QVariant item) {
    return item.isValid() ? std::move(item) : QVariant::fromValue(nullptr);
}
} // namespace

namespace detail {

// What the channel's threads use to reach the wrapper. The channel's signals are emitted by
// whichever thread caused them, possibly while the wrapper is being destroyed in its own
// thread, so they never touch the wrapper: they set bits here and post one delivery, and
// the wrapper detaches itself (under the mutex) before it goes.
struct QmlRelay {
    enum Bits : unsigned {
        Dirty = 1,    // the buffer changed: the items model must look again
        Counters = 2, // a counted put or take from another thread
        ItemAvailable = 4,
        SpaceAvailable = 8,
        Closed = 16,
        Finished = 32,
    };

    // Lock-free when a delivery is already on its way: one atomic operation per event.
    void raise(unsigned bits) {
        if (pending.fetch_or(bits, std::memory_order_acq_rel) != 0)
            return;
        std::lock_guard lock(mutex);
        if (target)
            QMetaObject::invokeMethod(
                target, [t = target] { t->deliver(); }, Qt::QueuedConnection);
    }
    void detach() {
        std::lock_guard lock(mutex);
        target = nullptr;
    }

    std::atomic<unsigned> pending{0}; // bits not yet delivered
    std::mutex mutex;
    QmlChannel *target = nullptr; // guarded by mutex
};

// A put() or get() from QML waiting for its future. Owned by QmlChannel::m_pending.
struct QmlPending {
    bool isGet = false;
    QJSValue callback;
    QPointer<QJSEngine> engine;
    QFuture<void> put;
    QFuture<QVariant> get;
    QFutureWatcherBase *watcher = nullptr; // owned
};

} // namespace detail

using detail::QmlRelay;

QmlChannel::QmlChannel(QObject *parent)
    : QObject(parent)
    , m_relay(std::make_shared<QmlRelay>()) {
    m_relay->target = this;
    m_shown.full = m_capacity == 0;
    m_frameTimer.setSingleShot(true);
    connect(&m_frameTimer, &QTimer::timeout, this, &QmlChannel::refresh);
    m_heartbeat.setInterval(HeartbeatMs);
    connect(&m_heartbeat, &QTimer::timeout, this, &QmlChannel::refresh);
    m_sinceRefresh.start();
}

QmlChannel::QmlChannel(std::shared_ptr<Channel<QVariant>> channel, QObject *parent)
    : QmlChannel(parent) {
    if (!channel)
        throw std::invalid_argument("QtChannel::QmlChannel: channel must not be null");
    std::lock_guard lock(m_createMutex);
    m_capacity = int(channel->capacity());
    m_shown.full = channel->isFull();
    m_shown.closed = channel->isClosed();
    m_shown.finished = channel->isFinished();
    m_shown.size = int(channel->size());
    m_shown.empty = m_shown.size == 0;
    attach(std::move(channel));
}

QmlChannel::~QmlChannel() {
    m_relay->detach();
    for (const QMetaObject::Connection &c : std::as_const(m_connections))
        disconnect(c);
    int dropped = 0;
    for (detail::QmlPending *op : std::as_const(m_pending)) {
        op->watcher->disconnect(this);
        // Withdraws a waiting put or get. A get that was handed its item before the cancel
        // keeps it (resultAt(0)): that item was taken from the channel, and is dropped here.
        if (op->isGet) {
            op->get.cancel();
            if (op->get.resultCount() > 0)
                ++dropped;
        } else {
            op->put.cancel();
        }
        delete op->watcher;
        delete op;
    }
    if (dropped > 0)
        qmlWarning(this) << QStringLiteral("Channel destroyed while %1 item(s) taken by get() "
                                           "waited for their callbacks: dropped")
                                .arg(dropped);
}

// --- the channel ------------------------------------------------------------------------

Channel<QVariant> *QmlChannel::ensureChannel() {
    if (Channel<QVariant> *ch = existingChannel())
        return ch;
    std::lock_guard lock(m_createMutex);
    if (!m_channel)
        attach(std::make_shared<Channel<QVariant>>(m_capacity));
    return existingChannel();
}

std::shared_ptr<Channel<QVariant>> QmlChannel::channel() {
    ensureChannel();
    std::lock_guard lock(m_createMutex);
    return m_channel;
}

// Under m_createMutex, in any thread.
void QmlChannel::attach(std::shared_ptr<Channel<QVariant>> channel) {
    Channel<QVariant> *ch = channel.get();
    const std::shared_ptr<QmlRelay> relay = m_relay;
    const auto raise = [relay](unsigned bits) { return [relay, bits] { relay->raise(bits); }; };
    // Direct connections: they run in the emitting thread and only set bits (see QmlRelay).
    m_connections << connect(
        ch, &ChannelBase::sizeChanged, ch, [relay](qsizetype) { relay->raise(QmlRelay::Dirty); },
        Qt::DirectConnection);
    m_connections << connect(ch, &ChannelBase::itemAvailable, ch, raise(QmlRelay::ItemAvailable),
                             Qt::DirectConnection);
    m_connections << connect(ch, &ChannelBase::spaceAvailable, ch, raise(QmlRelay::SpaceAvailable),
                             Qt::DirectConnection);
    m_connections << connect(ch, &ChannelBase::closed, ch, raise(QmlRelay::Closed),
                             Qt::DirectConnection);
    m_connections << connect(ch, &ChannelBase::finished, ch,
                             raise(QmlRelay::Finished | QmlRelay::Dirty), Qt::DirectConnection);
    m_channel = std::move(channel);
    m_raw.store(ch, std::memory_order_release);

    // Items that were there before we listened: the core signals their arrival only once.
    unsigned initial = QmlRelay::Dirty;
    if (!ch->isEmpty() || ch->pendingPuts() > 0)
        initial |= QmlRelay::ItemAvailable;
    m_relay->raise(initial);
    // The heartbeat belongs to the wrapper's thread; the first use may be a C++ worker's.
    QMetaObject::invokeMethod(
        this,
        [this] {
            if (!isFinished())
                m_heartbeat.start();
        },
        QThread::currentThread() == thread() ? Qt::DirectConnection : Qt::QueuedConnection);
}

QList<QVariant> QmlChannel::snapshot() const {
    const Channel<QVariant> *ch = existingChannel();
    return ch ? ch->snapshot() : QList<QVariant>();
}

// --- coalesced delivery ------------------------------------------------------------------

void QmlChannel::deliver() {
    const unsigned bits = m_relay->pending.exchange(0, std::memory_order_acq_rel);
    if (bits & QmlRelay::Dirty)
        m_itemsDirty = true;
    if (bits & (QmlRelay::Closed | QmlRelay::Finished))
        refresh(); // rare: show them at once, before the signals
    else if (bits)
        requestRefresh();

    const QPointer<QmlChannel> self(this);
    if (bits & QmlRelay::ItemAvailable)
        Q_EMIT itemAvailable();
    if (self && (bits & QmlRelay::SpaceAvailable))
        Q_EMIT spaceAvailable();
    if (self && (bits & QmlRelay::Closed))
        Q_EMIT closed();
    if (self && (bits & QmlRelay::Finished))
        Q_EMIT finished();
}

void QmlChannel::requestRefresh() const {
    if (QThread::currentThread() != thread() || m_frameTimer.isActive())
        return;
    const qint64 wait = FrameMs - m_sinceRefresh.elapsed();
    m_frameTimer.start(int(std::clamp<qint64>(wait, 0, FrameMs)));
}

void QmlChannel::refresh() {
    m_frameTimer.stop();
    m_sinceRefresh.restart();
    const quint16 stale = std::exchange(m_staleReads, 0);
    const QPointer<QmlChannel> self(this);

    // Each NOTIFY is emitted when the value differs from the last one notified, or when a
    // binding read a value that differed from it (and so may hold one that is gone by now).
    const auto update = [&](auto &shown, auto live, quint16 bit, void (QmlChannel::*signal)()) {
        if (!self || (shown == live && !(stale & bit)))
            return;
        shown = live;
        Q_EMIT(this->*signal)
        ();
    };
    const Channel<QVariant> *ch = existingChannel();
    update(m_shown.size, ch ? int(ch->size()) : 0, SizeBit, &QmlChannel::sizeChanged);
    update(m_shown.empty, ch ? ch->isEmpty() : true, EmptyBit, &QmlChannel::emptyChanged);
    update(m_shown.full, ch ? ch->isFull() : m_capacity == 0, FullBit, &QmlChannel::fullChanged);
    update(m_shown.closed, ch && ch->isClosed(), ClosedBit, &QmlChannel::closedChanged);
    update(m_shown.finished, ch && ch->isFinished(), FinishedBit, &QmlChannel::finishedChanged);
    update(m_shown.put, m_put.load(std::memory_order_relaxed), PutBit,
           &QmlChannel::itemsPutHereChanged);
    update(m_shown.taken, m_taken.load(std::memory_order_relaxed), TakenBit,
           &QmlChannel::itemsTakenHereChanged);
    update(m_shown.pendingPuts, ch ? int(ch->pendingPuts()) : 0, PendingPutsBit,
           &QmlChannel::pendingPutsChanged);
    update(m_shown.pendingGets, ch ? int(ch->pendingGets()) : 0, PendingGetsBit,
           &QmlChannel::pendingGetsChanged);
    if (!self)
        return;

    if (m_items && m_itemsDirty) {
        m_itemsDirty = false;
        const qint64 taken = m_taken.load(std::memory_order_relaxed);
        m_items->refresh(taken - m_takenAtSync);
        m_takenAtSync = taken;
    }
    if (ch && ch->isFinished())
        m_heartbeat.stop(); // nothing can change any more
}

// --- properties --------------------------------------------------------------------------

int QmlChannel::capacity() const {
    const Channel<QVariant> *ch = existingChannel();
    return ch ? int(ch->capacity()) : m_capacity;
}

void QmlChannel::setCapacity(int capacity) {
    {
        std::lock_guard lock(m_createMutex);
        if (m_channel) {
            if (capacity != m_channel->capacity())
                qmlWarning(this) << QStringLiteral("Channel: capacity can only be set before the "
                                                   "channel is first used; it stays %1")
                                        .arg(m_channel->capacity());
            return;
        }
        if (capacity < Unbounded) {
            qmlWarning(this) << QStringLiteral("Channel: invalid capacity %1 (use -1 for "
                                               "unbounded, 0 for rendezvous or a bound n >= 1; "
                                               "NaN and values out of range arrive as "
                                               "-2147483648); it stays %2")
                                    .arg(capacity)
                                    .arg(m_capacity);
            return;
        }
        if (capacity == m_capacity)
            return;
        m_capacity = capacity;
    }
    Q_EMIT capacityChanged();
    requestRefresh(); // `full` depends on it
}

int QmlChannel::size() const {
    const Channel<QVariant> *ch = existingChannel();
    return noteRead(ch ? int(ch->size()) : 0, m_shown.size, SizeBit);
}

bool QmlChannel::isEmpty() const {
    const Channel<QVariant> *ch = existingChannel();
    return noteRead(ch ? ch->isEmpty() : true, m_shown.empty, EmptyBit);
}

bool QmlChannel::isFull() const {
    const Channel<QVariant> *ch = existingChannel();
    return noteRead(ch ? ch->isFull() : m_capacity == 0, m_shown.full, FullBit);
}

bool QmlChannel::isClosed() const {
    const Channel<QVariant> *ch = existingChannel();
    return noteRead(ch && ch->isClosed(), m_shown.closed, ClosedBit);
}

bool QmlChannel::isFinished() const {
    const Channel<QVariant> *ch = existingChannel();
    return noteRead(ch && ch->isFinished(), m_shown.finished, FinishedBit);
}

double QmlChannel::itemsPutHere() const {
    return double(noteRead(m_put.load(std::memory_order_relaxed), m_shown.put, PutBit));
}

double QmlChannel::itemsTakenHere() const {
    return double(noteRead(m_taken.load(std::memory_order_relaxed), m_shown.taken, TakenBit));
}

int QmlChannel::pendingPuts() const {
    const Channel<QVariant> *ch = existingChannel();
    return noteRead(ch ? int(ch->pendingPuts()) : 0, m_shown.pendingPuts, PendingPutsBit);
}

int QmlChannel::pendingGets() const {
    const Channel<QVariant> *ch = existingChannel();
    return noteRead(ch ? int(ch->pendingGets()) : 0, m_shown.pendingGets, PendingGetsBit);
}

ChannelItemModel *QmlChannel::items() const {
    if (!m_items) {
        auto *self = const_cast<QmlChannel *>(this);
        m_items = new ChannelItemModel([self] { return self->snapshot(); }, self);
        self->m_takenAtSync = m_taken.load(std::memory_order_relaxed);
    }
    return m_items;
}

// --- errors ------------------------------------------------------------------------------

QJSEngine *QmlChannel::engine() const {
    return qjsEngine(this);
}

// True if `problem` is empty; otherwise throws it as a TypeError into the calling JavaScript
// (or warns, without an engine) and returns false.
bool QmlChannel::accept(const char *method, const QString &problem) const {
    if (problem.isEmpty())
        return true;
    const QString message =
        QLatin1String("Channel.") + QLatin1String(method) + QLatin1String("(): ") + problem;
    if (QJSEngine *e = engine())
        e->throwError(QJSValue::TypeError, message);
    else
        qmlWarning(this) << message;
    return false;
}

bool QmlChannel::checkItem(const QJSValue &value, const char *method) const {
    QString problem;
    if (value.isUndefined())
        problem = QStringLiteral("undefined cannot be put into a channel (tryGet() returns "
                                 "undefined for \"nothing\"); put null instead");
    else if (value.isCallable())
        problem = QStringLiteral("a function cannot be put into a channel");
    return accept(method, problem);
}

bool QmlChannel::checkCallback(const QJSValue &callback, const char *method, bool required) const {
    QString problem;
    if (callback.isUndefined() || callback.isNull()) {
        if (!required)
            return true;
        problem = QStringLiteral("a callback function is required");
    } else if (!callback.isCallable()) {
        problem = QStringLiteral("the callback must be a function");
    }
    return accept(method, problem);
}

void QmlChannel::refusedBecauseClosed() {
    if (std::exchange(m_warnedClosed, true))
        return;
    qmlWarning(this) << "Channel: put on a closed channel; the item was refused (further "
                        "refusals by this channel are not reported)";
}

// --- the QML API -------------------------------------------------------------------------

bool QmlChannel::tryPut(const QJSValue &value) {
    if (!checkItem(value, "tryPut"))
        return false;
    switch (ensureChannel()->tryPut(value.toVariant())) {
    case PutResult::Ok:
        m_put.fetch_add(1, std::memory_order_relaxed);
        requestRefresh();
        return true;
    case PutResult::Closed:
        refusedBecauseClosed();
        return false;
    case PutResult::Full:
        break;
    }
    return false;
}

QVariant QmlChannel::tryGet() {
    std::optional<QVariant> item = ensureChannel()->tryGet();
    if (!item)
        return QVariant();
    m_taken.fetch_add(1, std::memory_order_relaxed);
    requestRefresh();
    return forQml(std::move(*item));
}

void QmlChannel::put(const QJSValue &value, const QJSValue &callback) {
    if (!checkItem(value, "put") || !checkCallback(callback, "put", false))
        return;
    auto *op = new detail::QmlPending;
    op->callback = callback;
    op->engine = engine();
    op->put = ensureChannel()->put(value.toVariant());
    if (op->put.isFinished() && op->put.isCanceled())
        refusedBecauseClosed();
    auto *watcher = new QFutureWatcher<void>;
    op->watcher = watcher;
    m_pending.append(op);
    connect(watcher, &QFutureWatcherBase::finished, this, [this, op] { settle(op); });
    watcher->setFuture(op->put); // finished() comes from the event loop, even when ready now
}

void QmlChannel::get(const QJSValue &callback) {
    if (!checkCallback(callback, "get", true))
        return;
    auto *op = new detail::QmlPending;
    op->isGet = true;
    op->callback = callback;
    op->engine = engine();
    op->get = ensureChannel()->get();
    auto *watcher = new QFutureWatcher<QVariant>;
    op->watcher = watcher;
    m_pending.append(op);
    connect(watcher, &QFutureWatcherBase::finished, this, [this, op] { settle(op); });
    watcher->setFuture(op->get);
}

bool QmlChannel::close() {
    return ensureChannel()->close();
}

void QmlChannel::settle(detail::QmlPending *op) {
    m_pending.removeOne(op);
    op->watcher->disconnect(this);
    op->watcher->deleteLater(); // we are inside its signal
    const std::unique_ptr<detail::QmlPending> owned(op);

    QJSValueList args;
    if (op->isGet) {
        // A failed future (ChannelClosed) has no result; Qt 6.4 also marks it canceled.
        const bool ok = op->get.resultCount() > 0;
        QVariant value;
        if (ok) {
            value = forQml(op->get.resultAt(0));
            m_taken.fetch_add(1, std::memory_order_relaxed);
            requestRefresh();
        }
        if (op->engine)
            args << (ok ? op->engine->toScriptValue(value) : QJSValue()) << QJSValue(ok);
    } else {
        const bool ok = !op->put.isCanceled();
        if (ok) {
            m_put.fetch_add(1, std::memory_order_relaxed);
            requestRefresh();
        }
        args << QJSValue(ok);
    }
    if (op->callback.isCallable() && op->engine)
        callBack(op->callback, args, op->isGet ? "get" : "put");
}

void QmlChannel::callBack(const QJSValue &callback, const QJSValueList &args, const char *method) {
    const QJSValue result = callback.call(args);
    if (result.isError())
        qmlWarning(this) << QStringLiteral("Channel: a %1() callback threw: %2")
                                .arg(QLatin1String(method), result.toString());
}

// --- the C++ side ------------------------------------------------------------------------

PutResult QmlChannel::putBlocking(QVariant item, QDeadlineTimer deadline) {
    const PutResult result = ensureChannel()->putBlocking(std::move(item), deadline);
    if (result == PutResult::Ok) {
        m_put.fetch_add(1, std::memory_order_relaxed);
        m_relay->raise(QmlRelay::Counters);
    }
    return result;
}

std::optional<QVariant> QmlChannel::getBlocking(QDeadlineTimer deadline) {
    std::optional<QVariant> item = ensureChannel()->getBlocking(deadline);
    if (item) {
        m_taken.fetch_add(1, std::memory_order_relaxed);
        m_relay->raise(QmlRelay::Counters);
    }
    return item;
}

} // namespace QtChannel
