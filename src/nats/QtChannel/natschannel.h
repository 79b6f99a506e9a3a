// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

#include <QtChannel/natschannelbase.h>
#include <QtChannel/natscodec.h>
#include <QtChannel/natsdetail.h>

#include <QtCore/QFutureInterface>
#include <QtCore/QMetaObject>
#include <QtCore/QMutex>
#include <QtCore/QPointer>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <vector>

/*!
 * \file natschannel.h
 * \brief NatsChannel<T> and Delivery<T>. Include <QtChannel/NatsChannel>.
 */

namespace QtChannel {

/*!
 * \brief An item taken with explicit acknowledgement (NatsChannel::getDelivery(), or forEach()
 * with a function that takes a Delivery): the item, and the means to say whether it was
 * processed.
 *
 * Until ack() is called, the item is still in the channel: if this process dies, or does not
 * acknowledge within the channel's ack wait, it is delivered again (to any consumer), with
 * redelivered() true. That is at-least-once processing: acknowledge after the work is done.
 *
 * Copies share one acknowledgement. When the last copy is destroyed without ack() or nak(),
 * the item is given back (nak): a Delivery never swallows an item. Thread-safe.
 */
template <typename T> class Delivery {
public:
    //! An empty delivery (isValid() is false).
    Delivery() = default;

    //! Holds an item.
    bool isValid() const noexcept { return bool(m_d); }
    //! The item. Throws std::logic_error on an empty delivery.
    const T &item() const { return data().item; }
    //! The item, to move from.
    T &item() { return data().item; }
    //! The item was delivered before (to this or another process) and not acknowledged: it may
    //! have been processed already, in part or in full.
    bool redelivered() const { return deliveryCount() > 1; }
    //! How many times the item was delivered, this time included.
    int deliveryCount() const { return data().handle->deliveryCount(); }
    //! The item's sequence number in the channel's stream.
    quint64 sequence() const { return data().handle->sequence(); }

    /*!
     * Acknowledges the item: it is taken, for good. The future finishes once the server has
     * confirmed, or fails with NatsError when it could not confirm within the ack wait (the
     * item may then be delivered again, flagged redelivered()). Never blocks; a second call
     * returns the first one's future.
     */
    QFuture<void> ack() { return data().handle->ack(); }
    //! Gives the item back to the channel, to be delivered again after `delay`. Never blocks.
    void nak(std::chrono::milliseconds delay = std::chrono::milliseconds(0)) {
        data().handle->nak(delay);
    }
    //! Tells the server the item is still being processed: restarts its ack wait.
    void inProgress() { data().handle->inProgress(); }
    //! ack() or nak() was called.
    bool isSettled() const { return data().handle->isSettled(); }

    /// \cond INTERNAL
    Delivery(T &&item, std::shared_ptr<detail::NatsAckHandle> handle)
        : m_d(std::make_shared<Data>(Data{std::move(item), std::move(handle)})) {}
    detail::NatsAckHandle *handle() const { return data().handle.get(); }
    /// \endcond

private:
    struct Data {
        T item;
        std::shared_ptr<detail::NatsAckHandle> handle;
    };
    Data &data() const {
        if (!m_d)
            throw std::logic_error("QtChannel::Delivery: this delivery is empty");
        return *m_d;
    }
    std::shared_ptr<Data> m_d;
};

/// \cond INTERNAL
namespace detail {

// get(): taken once the engine's acknowledgement is confirmed.
template <typename T> class NatsFutureGetSink final : public NatsGetSink {
public:
    NatsFutureGetSink() { promise.reportStarted(); }

    Claim claim(NatsMessage &message, const std::shared_ptr<NatsAckHandle> &) override {
        if (promise.isCanceled())
            return Claim::Unwanted;
        std::optional<T> item;
        try {
            item.emplace(NatsCodec<T>::decode(message.payload));
        } catch (...) {
            fail(std::current_exception());
            return Claim::Undecodable;
        }
        // The cancellation check and the claim are one step under the future's mutex: a cancel
        // before it gets the item given back, a cancel after it keeps the item (resultAt(0)).
        QMutexLocker lock(&promise.mutex());
        if (promise.queryState(QFutureInterfaceBase::Canceled))
            return Claim::Unwanted;
        m_item = std::move(item);
        return Claim::Taken;
    }
    void complete(bool) override {
        {
            // QFutureInterface<T>::reportAndMoveResult(), with the mutex already held and
            // without its cancellation check: a get canceled after its claim keeps its item.
            QMutexLocker lock(&promise.mutex());
            QtPrivate::ResultStoreBase &store = promise.resultStoreBase();
            const int before = store.count();
            const int index = store.moveResult(-1, std::move(*m_item));
            if (index != -1 && !promise.queryState(QFutureInterfaceBase::Canceled) &&
                (!store.filterMode() || before < store.count()))
                promise.reportResultsReady(index, store.count());
        }
        m_item.reset();
        promise.reportFinished();
    }
    void fail(std::exception_ptr error) override {
        promise.reportException(error);
        promise.reportFinished();
    }
    void none() override { fail(std::make_exception_ptr(ChannelClosed())); }
    bool isWithdrawn() const override { return promise.isCanceled(); }

    QFutureInterface<T> promise;

private:
    std::optional<T> m_item; // engine thread: claimed, waiting for the confirmation
};

// getDelivery(): the Delivery is handed over at once; the user acknowledges.
template <typename T> class NatsFutureDeliverySink final : public NatsGetSink {
public:
    NatsFutureDeliverySink() { promise.reportStarted(); }

    bool wantsConfirmedAck() const override { return false; }
    Claim claim(NatsMessage &message, const std::shared_ptr<NatsAckHandle> &handle) override {
        if (promise.isCanceled())
            return Claim::Unwanted;
        std::optional<T> item;
        try {
            item.emplace(NatsCodec<T>::decode(message.payload));
        } catch (...) {
            fail(std::current_exception());
            return Claim::Undecodable;
        }
        // reportAndMoveResult() checks for cancellation under the future's mutex.
        Delivery<T> delivery(std::move(*item), handle);
        if (!promise.reportAndMoveResult(std::move(delivery)))
            return Claim::Unwanted;
        promise.reportFinished();
        return Claim::Taken;
    }
    void fail(std::exception_ptr error) override {
        promise.reportException(error);
        promise.reportFinished();
    }
    void none() override { fail(std::make_exception_ptr(ChannelClosed())); }
    bool isWithdrawn() const override { return promise.isCanceled(); }

    QFutureInterface<Delivery<T>> promise;
};

// getBlocking(), tryGet() and their Delivery forms: a thread waits on it.
template <typename T, bool WithDelivery> class NatsBlockingSink final : public NatsGetSink {
public:
    using Result = std::conditional_t<WithDelivery, Delivery<T>, T>;
    explicit NatsBlockingSink(bool noWait)
        : m_noWait(noWait) {}

    bool wantsConfirmedAck() const override { return !WithDelivery; }
    bool isNoWait() const override { return m_noWait; }
    Claim claim(NatsMessage &message, const std::shared_ptr<NatsAckHandle> &handle) override {
        if (isWithdrawn())
            return Claim::Unwanted;
        std::optional<T> item;
        try {
            item.emplace(NatsCodec<T>::decode(message.payload));
        } catch (...) {
            fail(std::current_exception());
            return Claim::Undecodable;
        }
        {
            std::lock_guard lock(m_mutex);
            if (m_state == State::Withdrawn)
                return Claim::Unwanted;
            if constexpr (WithDelivery) {
                m_result.emplace(std::move(*item), handle);
                m_state = State::Done;
            } else {
                m_result.emplace(std::move(*item));
                m_state = State::Claimed;
            }
        }
        m_cv.notify_all();
        return Claim::Taken;
    }
    void complete(bool) override { settle({}); }
    void fail(std::exception_ptr error) override { settle(std::move(error)); }
    void none() override { settle({}); }
    void detached() override { settle({}); } // a blocked thread returns empty-handed
    bool isWithdrawn() const override {
        std::lock_guard lock(m_mutex);
        return m_state == State::Withdrawn;
    }

    // The waiting thread: the item, or nothing at the deadline or once finished; rethrows the
    // failure. A claimed item is waited for past the deadline (its acknowledgement is on the way).
    std::optional<Result> wait(QDeadlineTimer deadline) {
        std::unique_lock lock(m_mutex);
        for (;;) {
            if (m_state == State::Done) {
                if (m_error)
                    std::rethrow_exception(m_error);
                return std::move(m_result);
            }
            if (m_state == State::Waiting && deadline.hasExpired()) {
                m_state = State::Withdrawn;
                return std::nullopt;
            }
            if (m_state == State::Claimed || deadline.isForever())
                m_cv.wait(lock);
            else
                m_cv.wait_until(lock, deadline.deadline<std::chrono::steady_clock>());
        }
    }

private:
    enum class State { Waiting, Claimed, Done, Withdrawn };
    void settle(std::exception_ptr error) {
        {
            std::lock_guard lock(m_mutex);
            if (m_state == State::Done || m_state == State::Withdrawn)
                return;
            if (error)
                m_result.reset();
            m_error = std::move(error);
            m_state = State::Done;
        }
        m_cv.notify_all();
    }

    const bool m_noWait;
    mutable std::mutex m_mutex;
    std::condition_variable m_cv;
    State m_state = State::Waiting; // guarded by m_mutex
    std::optional<Result> m_result; // guarded by m_mutex
    std::exception_ptr m_error;     // guarded by m_mutex
};

// forEach(): stays in the line, holds up to a window of items, and calls the function in the
// context's thread. Items are acknowledged after the function returns (or by the function, with
// a Delivery); items it never passed on go back to the channel.
template <typename T, typename F, bool WithDelivery>
class NatsForEachSink final
    : public NatsGetSink,
      public std::enable_shared_from_this<NatsForEachSink<T, F, WithDelivery>> {
public:
    NatsForEachSink(QObject *context, F f, qsizetype window, std::function<void()> nudge,
                    std::function<void(std::vector<QByteArray>, bool)> settle)
        : m_f(std::move(f))
        , m_window(window)
        , m_nudge(std::move(nudge))
        , m_settle(std::move(settle))
        , m_context(context) {
        promise.reportStarted();
    }

    // After construction (needs shared_from_this()).
    void watchContext() {
        std::weak_ptr<NatsForEachSink> weak = this->shared_from_this();
        m_destroyedConnection = QObject::connect(m_context, &QObject::destroyed, [weak] {
            if (auto self = weak.lock())
                self->contextDestroyed();
        });
    }

    qsizetype room() const override {
        std::lock_guard lock(m_mutex);
        return m_stopped ? 0 : m_window - m_held;
    }
    bool isContinuous() const override { return true; }
    bool wantsConfirmedAck() const override { return false; }
    bool wantsHandle() const override { return WithDelivery; }

    Claim claim(NatsMessage &message, const std::shared_ptr<NatsAckHandle> &handle) override {
        if (isWithdrawn())
            return Claim::Unwanted;
        std::optional<T> item;
        try {
            item.emplace(NatsCodec<T>::decode(message.payload));
        } catch (...) {
            fail(std::current_exception());
            return Claim::Undecodable;
        }
        std::lock_guard lock(m_mutex);
        if (m_stopped || !m_context)
            return Claim::Unwanted;
        if constexpr (WithDelivery)
            m_queue.push_back(Delivery<T>(std::move(*item), handle));
        else
            m_queue.emplace_back(std::move(*item), message.ackSubject);
        ++m_held;
        return Claim::Taken; // passed on by flush(), once per batch of the engine
    }

    void flush() override {
        std::lock_guard lock(m_mutex);
        if (m_drainPosted || m_stopped || !m_context || m_queue.empty())
            return;
        // Posted under the lock: contextDestroyed() clears m_context under it first, and Qt
        // drops the events posted to an object it destroys.
        m_drainPosted = true;
        QMetaObject::invokeMethod(
            m_context, [self = this->shared_from_this()] { self->drain(); }, Qt::QueuedConnection);
    }

    void none() override {
        {
            std::lock_guard lock(m_mutex);
            if (m_stopped)
                return;
            m_finishedSeen = true;
            if (m_held > 0)
                return; // drain() finishes once the last item is through
            m_stopped = true;
        }
        end();
        promise.reportFinished();
    }
    void fail(std::exception_ptr error) override {
        if (!stop())
            return;
        promise.reportException(error);
        promise.reportFinished();
    }
    void detached() override {
        if (!stop())
            return;
        promise.reportCanceled();
        promise.reportFinished();
    }
    bool isWithdrawn() const override {
        std::lock_guard lock(m_mutex);
        return m_stopped;
    }

    QFutureInterface<void> promise;

private:
    // The context's thread.
    void drain() {
        std::vector<QByteArray> acks; // sent in one go after the batch
        for (;;) {
            Entry entry;
            {
                std::lock_guard lock(m_mutex);
                if (m_stopped || m_queue.empty()) {
                    m_drainPosted = false;
                    break;
                }
                entry = std::move(m_queue.front());
                m_queue.pop_front();
            }
            struct Release { // one item less held, even if f throws
                NatsForEachSink *sink;
                ~Release() {
                    std::lock_guard lock(sink->m_mutex);
                    --sink->m_held;
                }
            } release{this};
            if constexpr (WithDelivery) {
                m_f(entry);
            } else {
                m_f(std::move(entry.first));
                acks.push_back(std::move(entry.second));
            }
        }
        bool finish = false;
        {
            std::lock_guard lock(m_mutex);
            if (m_finishedSeen && m_held == 0 && !m_stopped) {
                m_stopped = true;
                finish = true;
            }
        }
        // The acknowledgements, and room for more: one message to the engine.
        if (!acks.empty())
            m_settle(std::move(acks), true);
        else if (!finish)
            m_nudge();
        if (finish) {
            end();
            promise.reportFinished();
        }
    }

    void contextDestroyed() {
        {
            std::lock_guard lock(m_mutex);
            m_context = nullptr;
        }
        detached();
        m_nudge();
    }

    // Stops for good; the items not passed on go back (their handles give them back when
    // destroyed). Returns false if it was stopped already.
    bool stop() {
        std::deque<Entry> rest;
        {
            std::lock_guard lock(m_mutex);
            if (m_stopped)
                return false;
            m_stopped = true;
            rest.swap(m_queue);
            m_held -= qsizetype(rest.size());
        }
        end();
        if constexpr (!WithDelivery) {
            // Back to the channel (Deliveries give theirs back when destroyed).
            std::vector<QByteArray> back;
            for (auto &entry : rest)
                back.push_back(std::move(entry.second));
            if (!back.empty())
                m_settle(std::move(back), false);
        }
        return true;
    }
    void end() { QObject::disconnect(m_destroyedConnection); }

    F m_f; // the context's thread
    const qsizetype m_window;
    // A Delivery, or the item and its ack subject.
    using Entry = std::conditional_t<WithDelivery, Delivery<T>, std::pair<T, QByteArray>>;

    const std::function<void()> m_nudge;
    const std::function<void(std::vector<QByteArray>, bool)> m_settle;
    mutable std::mutex m_mutex;
    QObject *m_context;          // guarded by m_mutex; cleared when it is destroyed
    std::deque<Entry> m_queue;   // guarded by m_mutex: delivered, not yet passed on
    qsizetype m_held = 0;        // guarded by m_mutex: queued or being passed on
    bool m_stopped = false;      // guarded by m_mutex
    bool m_drainPosted = false;  // guarded by m_mutex
    bool m_finishedSeen = false; // guarded by m_mutex
    QMetaObject::Connection m_destroyedConnection;
};

} // namespace detail
/// \endcond

/*!
 * \brief The channel across processes and machines: Channel<T>'s API on a NATS JetStream
 * work-queue stream that any number of processes open by name.
 *
 * \code
 * QtChannel::NatsConnection connection(QUrl(QStringLiteral("nats://127.0.0.1:4222")));
 * connection.connectBlocking();
 * auto jobs = QtChannel::NatsChannel<Job>::open(&connection, QStringLiteral("jobs"), 64);
 * jobs->putBlocking(job);                                   // a producer, in any process
 * jobs->forEach(&worker, [&](Job job) { worker.run(job); }); // a consumer, in any process
 * \endcode
 *
 * T is QByteArray, QString, QJsonDocument, or any default-constructible type with QDataStream
 * operators `<<` and `>>`; items travel in a versioned envelope (natscodec.h), so a reader of
 * the wrong type or of a newer format fails with NatsError (Kind::Format) instead of misreading.
 *
 * **Taking.** get(), getBlocking(), tryGet(): an item is taken once the server has confirmed its
 * acknowledgement; only then is it handed over. forEach(): the function sees each item, and the
 * item is acknowledged after the function returns (at-least-once: a process that dies inside
 * the function leaves the item to be delivered again). getDelivery() and a forEach() function
 * that takes a Delivery<T>: you acknowledge, after processing.
 *
 * **Waiting.** put() on a full channel waits, retrying as consumers make room; a get waits
 * until an item arrives from any process, or the channel is finished.
 *
 * Futures are finished on the connection's engine thread. On Qt 6.4.2, attaching `then()` to a
 * future that another thread finishes races (QTBUG-109230): watch futures with a
 * QFutureWatcher, `co_await` them (QCoro), use forEach() or the signals, or the blocking calls
 * in a worker thread. A continuation without a context runs on the engine thread and must not
 * block there (the blocking calls throw NatsError of Kind::Usage there).
 *
 * Every member is thread-safe.
 */
template <typename T> class NatsChannel : public NatsChannelBase {
    static_assert(detail::NatsCodec<T>::supported,
                  "NatsChannel<T> needs T to be QByteArray, QString, QJsonDocument, or a "
                  "default-constructible type with QDataStream operators << and >>");

public:
    /*!
     * Opens the channel `name` on `connection`: creates it, or binds to it when it exists with
     * this configuration (capacity, item type, the definition part of `options`). Blocks for a
     * few round trips (up to NatsChannelOptions::openTimeout while the server is not ready).
     *
     * \param name letters, digits, '-' and '_' (at most 64).
     * \param capacity Unbounded, or the bound n ≥ 1. There is no rendezvous (0) over the
     *        network: a put cannot wait for a get in another process to take its item.
     * \throws std::invalid_argument for a bad name, capacity or option;
     *         NatsError (Kind::Mismatch) when the channel exists with another configuration;
     *         NatsError of another kind when the server cannot be reached or refuses.
     */
    static std::unique_ptr<NatsChannel> open(NatsConnection *connection, const QString &name,
                                             qsizetype capacity,
                                             const NatsChannelOptions &options = {}) {
        return std::unique_ptr<NatsChannel>(
            new NatsChannel(connection, name, capacity, false, options));
    }

    /*!
     * Binds to the existing channel `name`, adopting its capacity and definition (only this
     * process's part of `options` is used). For consumers and views that do not need to know
     * how the channel was made. Throws as open(), and NatsError (Kind::JetStream, error 10059)
     * when there is no such channel.
     */
    static std::unique_ptr<NatsChannel> bind(NatsConnection *connection, const QString &name,
                                             const NatsChannelOptions &options = {}) {
        return std::unique_ptr<NatsChannel>(
            new NatsChannel(connection, name, Unbounded, true, options));
    }

    /*!
     * Puts `item`. The future finishes once the server has stored it, waiting for room while the
     * channel is full; fails with ChannelClosed if the channel is closed before (the item is
     * then not in the channel), or with NatsError when the network fails it (Kind::OutcomeUnknown
     * when it cannot be known whether the item was stored). Never blocks; the item is encoded
     * at once.
     */
    QFuture<void> put(const T &item) { return putPayload(detail::NatsCodec<T>::encode(item)); }

    /*!
     * Puts `item` unless the channel is full or closed; does not wait for room, but does wait
     * for the server's answer (one round trip). `Full` also when puts of this process already
     * wait for room. Throws NatsError on network failures.
     */
    PutResult tryPut(const T &item) { return tryPutPayload(detail::NatsCodec<T>::encode(item)); }

    /*!
     * For worker threads: puts `item`, waiting for room until `deadline`. `Full` means the
     * deadline passed and the item was not stored. Throws NatsError on network failures
     * (Kind::OutcomeUnknown when an unanswered attempt is past the deadline).
     */
    PutResult putBlocking(const T &item,
                          QDeadlineTimer deadline = QDeadlineTimer(QDeadlineTimer::Forever)) {
        return putPayloadBlocking(detail::NatsCodec<T>::encode(item), deadline);
    }

    /*!
     * Takes the next item: the future finishes with it once the server has confirmed its
     * acknowledgement. Fails with ChannelClosed once the channel is finished, with NatsError on
     * network failures or an item that is not a T (Kind::Format, the item's bytes in
     * NatsError::payload()). A get canceled before an item reached it never takes one (an item
     * already on its way is given back); one canceled later keeps its item (resultAt(0)).
     * Never blocks.
     */
    QFuture<T> get() {
        auto sink = std::make_shared<detail::NatsFutureGetSink<T>>();
        QFuture<T> future = sink->promise.future();
        addGet(sink);
        return future;
    }

    /*!
     * Takes an item if one is available now, asking the server once (one round trip), without
     * waiting for one to arrive. `std::nullopt` when none is, or when gets of this process are
     * waiting already; isFinished() tells "none now" from "none ever". Throws NatsError on
     * network failures.
     */
    std::optional<T> tryGet() {
        assertMayBlock("NatsChannel::tryGet()");
        auto sink = std::make_shared<detail::NatsBlockingSink<T, false>>(true);
        addGet(sink);
        return sink->wait(QDeadlineTimer(QDeadlineTimer::Forever));
    }

    /*!
     * For worker threads: takes the next item, waiting until `deadline`. `std::nullopt` at the
     * deadline or once the channel is finished. Throws NatsError on network failures.
     */
    std::optional<T>
    getBlocking(QDeadlineTimer deadline = QDeadlineTimer(QDeadlineTimer::Forever)) {
        assertMayBlock("NatsChannel::getBlocking()");
        auto sink = std::make_shared<detail::NatsBlockingSink<T, false>>(false);
        // Taken before waiting: the channel may be destroyed while this thread waits.
        const std::function<void()> nudgeEngine = nudger();
        addGet(sink);
        auto item = sink->wait(deadline);
        if (!item)
            nudgeEngine(); // a withdrawn get: the engine asks for one item less
        return item;
    }

    /*!
     * Takes the next item for explicit acknowledgement: see Delivery. The future finishes as
     * soon as an item is delivered; fails as get() does. A canceled one never takes an item.
     */
    QFuture<Delivery<T>> getDelivery() {
        auto sink = std::make_shared<detail::NatsFutureDeliverySink<T>>();
        QFuture<Delivery<T>> future = sink->promise.future();
        addGet(sink);
        return future;
    }

    //! tryGet() for explicit acknowledgement.
    std::optional<Delivery<T>> tryGetDelivery() {
        assertMayBlock("NatsChannel::tryGetDelivery()");
        auto sink = std::make_shared<detail::NatsBlockingSink<T, true>>(true);
        addGet(sink);
        return sink->wait(QDeadlineTimer(QDeadlineTimer::Forever));
    }

    //! getBlocking() for explicit acknowledgement.
    std::optional<Delivery<T>>
    getDeliveryBlocking(QDeadlineTimer deadline = QDeadlineTimer(QDeadlineTimer::Forever)) {
        assertMayBlock("NatsChannel::getDeliveryBlocking()");
        auto sink = std::make_shared<detail::NatsBlockingSink<T, true>>(false);
        const std::function<void()> nudgeEngine = nudger();
        addGet(sink);
        auto item = sink->wait(deadline);
        if (!item)
            nudgeEngine();
        return item;
    }

    /*!
     * Takes items as they come, from every process's puts, and calls `f` in `context`'s thread
     * (from its event loop) for each, in the order they were delivered, until the channel is
     * finished; the future then finishes. Holds at most NatsChannelOptions::forEachWindow items
     * at a time; other consumers share the channel.
     *
     * `f(T)`: each item is acknowledged (without waiting for the confirmation) after `f`
     * returns: at-least-once, a process that dies inside `f` leaves the item to be delivered
     * again. `f(Delivery<T>)`: `f` acknowledges, or not (a delivery dropped unacknowledged is
     * given back). If `f` can take both, it gets T.
     *
     * If `context` is destroyed first, it stops, the future is canceled, and every item it had
     * not yet passed to `f` goes back to the channel. Fails with NatsError on network failures
     * or an item that is not a T. Never blocks.
     */
    template <typename F> QFuture<void> forEach(QObject *context, F &&f) {
        if (!context)
            throw std::invalid_argument("QtChannel::NatsChannel::forEach: context is null");
        using Fn = std::decay_t<F>;
        constexpr bool takesItem = std::is_invocable_v<Fn &, T>;
        constexpr bool takesDelivery = std::is_invocable_v<Fn &, Delivery<T> &>;
        static_assert(takesItem || takesDelivery,
                      "NatsChannel::forEach: f must be callable with T or with Delivery<T>");
        using Sink = detail::NatsForEachSink<T, Fn, !takesItem>;
        auto sink = std::make_shared<Sink>(context, Fn(std::forward<F>(f)),
                                           std::max<qsizetype>(1, options().forEachWindow),
                                           nudger(), settler());
        sink->watchContext();
        QFuture<void> future = sink->promise.future();
        addGet(sink);
        return future;
    }

private:
    NatsChannel(NatsConnection *connection, const QString &name, qsizetype capacity, bool bindOnly,
                const NatsChannelOptions &options)
        : NatsChannelBase(connection, name, capacity, bindOnly, options,
                          detail::NatsCodec<T>::typeName()) {}
};

} // namespace QtChannel
