// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

#include <QtChannel/channelbase.h>
#include <QtChannel/detail/awaiters.h>
#include <QtChannel/detail/foreach.h>
#include <QtChannel/detail/typed.h>

#include <QtCore/QDeadlineTimer>
#include <QtCore/QFuture>
#include <QtCore/QList>
#include <QtCore/QScopeGuard>

#include <functional>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

/*!
 * \file channel.h
 * \brief Channel<T>, the typed channel. Include <QtChannel/Channel>.
 */

namespace QtChannel {

/*!
 * \brief A closable FIFO channel of T, for any number of producers and consumers in any
 * threads: Go's channels and Python's aiochannel, for Qt.
 *
 * A channel is *closed* by close(), after which it accepts nothing; once closed and drained
 * it is *finished*, for ever, so join() means "all the work that could ever appear here is
 * done". Items can be put and taken in several styles, which mix freely on one channel:
 *
 * | style                     | put           | get           | when it has to wait       |
 * |---------------------------|---------------|---------------|---------------------------|
 * | non-waiting               | tryPut()      | tryGet()      | Full / `std::nullopt`     |
 * | blocking (worker threads) | putBlocking() | getBlocking() | blocks, with a deadline   |
 * | futures                   | put()         | get()         | returns a pending QFuture |
 * | batches                   | tryPutMany()  | tryGetMany(), getMany(), getManyBlocking() | as
 * above |
 *
 * and an event-loop consumer, forEach(), that calls a function for every item in a QObject's
 * thread until the channel is finished.
 *
 * **Guarantees.** FIFO: items come out in the order their puts were accepted, and pending puts
 * and gets of every style are served first come, first served. Exactly once: every accepted
 * item is taken exactly once, or is handed to the undelivered handler exactly once, or is still
 * in the channel. Every member is thread-safe, and no lock is held while callbacks, slots,
 * continuations or the undelivered handler run, so they may call back into the channel.
 * (Item constructors and destructors, which should not call into the channel, may run under
 * the lock: moving an item into a waiting get's future, and copying in snapshot().)
 *
 * **Cost.** put and get are O(1). When nobody has to wait, a put and a get meet in a lock-free
 * ring and never take the channel's lock; tryPut(), tryGet() and blocking calls that do not
 * wait allocate nothing. A pending future costs one allocation by the channel plus Qt's own
 * for the future. Memory: on first use a channel allocates its ring, min(capacity, 1024)
 * slots (1024 when unbounded); items beyond the ring wait in a second buffer behind it that
 * grows with them, so a huge bound costs nothing until it is used.
 *
 * **T** must be move-constructible; copyable types may be put by const reference. Types whose
 * move constructor may throw bypass the lock-free ring. If moving an item throws, the
 * operation that owns the item fails: the caller of put/tryPut/putBlocking, or, for an item
 * waiting in a pending put, that put. Nothing else changes and no item is lost.
 *
 * Examples: examples/01-pipeline/main.cpp, examples/03-signals/main.cpp.
 *
 * \tparam T the item type.
 */
template <typename T> class Channel : public ChannelBase {
    static_assert(std::is_move_constructible_v<T>, "QtChannel::Channel<T>: T must be movable");
    static_assert(!std::is_reference_v<T>, "QtChannel::Channel<T>: T must not be a reference");
    static_assert(!std::is_const_v<T>, "QtChannel::Channel<T>: T must not be const");

    using Ops = detail::ItemOpsOf<T>;
    using Step = detail::Ring::Step;
    static constexpr bool ViaRing = Ops::ops.viaRing;
    // Batches hand items over in a QList, which (in Qt 6.4) copies its items when it detaches
    // and moves them by assignment: move-only items cannot be batched.
    static constexpr bool BatchesWork =
        std::is_copy_constructible_v<T> && std::is_move_assignable_v<T>;

public:
    //! The item type.
    using value_type = T;

    /*!
     * \param capacity Unbounded (the default), 0 for a rendezvous channel (a put completes only
     * when a get takes its item), or the bound n ≥ 1. Nothing is allocated until first use.
     * \param parent the QObject parent, as for any QObject.
     * \throws std::invalid_argument for any other negative capacity.
     */
    explicit Channel(qsizetype capacity = Unbounded, QObject *parent = nullptr)
        : ChannelBase(Ops::ops, capacity, Overflow::Wait, parent) {}

    /*!
     * A channel with an overflow policy: what a put does when the channel is full.
     * Overflow::DropOldest evicts the oldest buffered item and accepts the put;
     * Overflow::DropNewest completes the put (PutResult::Ok) and discards its item. Either way a
     * put never waits, and the dropped item goes to the undelivered handler.
     * `Channel<T>(1, Overflow::DropOldest)` is a conflated channel: the latest value wins.
     * \throws std::invalid_argument for an invalid capacity, or a drop policy with a capacity
     * below 1.
     */
    Channel(qsizetype capacity, Overflow overflow, QObject *parent = nullptr)
        : ChannelBase(Ops::ops, capacity, overflow, parent) {}

    //! Closes the channel; see ChannelBase::~ChannelBase().
    ~Channel() override {
        // While this is still a Channel<T>: forEach loops in other threads take through it
        // until they are stopped.
        destroyChannel();
    }

    Channel(const Channel &) = delete;
    Channel &operator=(const Channel &) = delete;

    /*!
     * Puts `item`: ready at once when there is room (or a get is waiting for it), otherwise
     * pending until there is. Fails with ChannelClosed (or the close reason) when the channel
     * is closed before the item is accepted; the item is then not in the channel (a put on a
     * channel already closed destroys it; one that was waiting hands it to the undelivered
     * handler).
     *
     * Canceling the pending future (QFuture::cancel()) withdraws the put: its item is never
     * enqueued later.
     *
     * Thread-safe, never blocks. Allocates the future, and a waiter when it has to wait.
     */
    QFuture<void> put(T item) {
        Deferred d;
        Flusher flusher(this, d);
        if (pushFast(item, d) == Step::Ok)
            return QtFuture::makeReadyFuture();
        switch (putSlow(&item, d)) {
        case PutResult::Ok:
            return QtFuture::makeReadyFuture();
        case PutResult::Closed:
            return QtFuture::makeExceptionalFuture<void>(closedError());
        case PutResult::Full:
            break;
        }
        return wait(std::make_unique<detail::FuturePut<T>>(anchor(), std::move(item)), d);
    }

    /*!
     * Takes the oldest item: ready at once when one is available, otherwise pending. Fails with
     * ChannelClosed (or the close reason) once the channel is closed and no item can reach this
     * get (at once when the channel is already finished).
     *
     * Canceling the pending future withdraws the get: it never swallows an item. If it was
     * canceled just after it was handed its item, it keeps the item, readable with
     * `resultAt(0)` (Qt 6.4's `results()` is empty on a canceled future).
     *
     * Thread-safe, never blocks. Allocates the future, and a waiter when it has to wait.
     */
    QFuture<T> get() {
        Deferred d;
        Flusher flusher(this, d);
        if constexpr (ViaRing) {
            std::optional<T> item;
            if (popFast(item, d) == Step::Ok) {
                QFutureInterface<T> promise = detail::startedPromise<T>();
                promise.reportAndMoveResult(std::move(*item)); // moving T cannot throw
                promise.reportFinished();
                return promise.future();
            }
        }
        return wait(std::make_unique<detail::FutureGet<T>>(anchor()), d);
    }

    /*!
     * Puts `item` if that needs no waiting. Returns PutResult::Closed if the channel is closed
     * (whether or not it is also full), PutResult::Full if there is no room (rendezvous: no get
     * is waiting), PutResult::Ok otherwise (with a drop policy, always Ok unless closed). On
     * Full and Closed `item` is untouched. Thread-safe, never blocks, allocates nothing once the
     * buffer has grown.
     */
    PutResult tryPut(const T &item) {
        T copy(item); // a copy that throws must not happen after a slot was claimed
        return tryPutImpl(copy);
    }
    /*!
     * \overload
     * The item is moved from only when the result is PutResult::Ok.
     */
    PutResult tryPut(T &&item) { return tryPutImpl(item); }

    /*!
     * Takes the oldest item if one is available (rendezvous: from a waiting put). Returns
     * `std::nullopt` otherwise; isFinished() then tells "empty for now" from "empty for ever".
     * Thread-safe, never blocks, allocates nothing.
     */
    std::optional<T> tryGet() {
        std::optional<T> item;
        Deferred d;
        Flusher flusher(this, d);
        takeNow(item, d);
        return item;
    }

    /*!
     * For worker threads: puts `item`, waiting for room until `deadline`. Returns
     * PutResult::Ok, PutResult::Full when the deadline passed, or PutResult::Closed when the
     * channel is or becomes closed first. On Full and Closed `item` is untouched.
     *
     * Blocks the calling thread: never call it from a thread that must run an event loop,
     * nor from the only thread that could make room (it would wait for itself until the
     * deadline). Thread-safe; allocates nothing.
     */
    PutResult putBlocking(T &&item,
                          QDeadlineTimer deadline = QDeadlineTimer(QDeadlineTimer::Forever)) {
        return putBlockingImpl(item, deadline);
    }
    /*!
     * \overload
     * The item is copied first.
     */
    PutResult putBlocking(const T &item,
                          QDeadlineTimer deadline = QDeadlineTimer(QDeadlineTimer::Forever)) {
        T copy(item);
        return putBlockingImpl(copy, deadline);
    }

    /*!
     * For worker threads: takes the oldest item, waiting until `deadline`. Returns
     * `std::nullopt` when the deadline passed or the channel is finished.
     *
     * Blocks the calling thread: never call it from a thread that must run an event loop, nor
     * from the only thread that could put (it would wait for itself until the deadline).
     * Thread-safe; allocates nothing but the item's own storage.
     */
    std::optional<T>
    getBlocking(QDeadlineTimer deadline = QDeadlineTimer(QDeadlineTimer::Forever)) {
        std::optional<T> item;
        Deferred d;
        Flusher flusher(this, d);
        // An item is often a moment away: spin on the ring before going to sleep.
        Step step = popFast(item, d);
        if (step == Step::Empty && quietRing()) {
            m_getSpin.spin([&] {
                step = popFast(item, d);
                return step != Step::Empty || !quietRing();
            });
        }
        if (step != Step::Ok) {
            detail::Parker &parker = detail::Parker::forThisThread();
            detail::OptionalGetter<T> w(item, &parker);
            block(w, parker, deadline, d); // fills `item` when served
        }
        return item;
    }

    /*!
     * Takes up to `max` items that are available now, oldest first, in one step (one pass over
     * the ring, or one lock): items in the buffer, and items of waiting puts that get room as
     * the batch drains (rendezvous: of waiting puts). Never waits; an empty list when nothing
     * is available. Thread-safe.
     *
     * A call that returns fewer than `max` items arms itemAvailable(), as a tryGet() that finds
     * nothing does: a slot connected to itemAvailable() that takes batches until one comes back
     * short sees every item, without the extra call that would come back empty:
     * \code
     * do {
     *     batch = channel.tryGetMany(64);
     *     process(batch);
     * } while (batch.size() == 64);
     * \endcode
     * \throws std::invalid_argument if `max` < 1.
     */
    QList<T> tryGetMany(qsizetype max) {
        static_assert(BatchesWork,
                      "QtChannel::Channel<T>::tryGetMany: QList<T> needs a copyable, assignable T");
        checkBatch(max, "tryGetMany");
        QList<T> items;
        Deferred d;
        Flusher flusher(this, d);
        takeManyNow(items, max, d);
        return items;
    }

    /*!
     * Waits until at least one item can be taken, then takes up to `max` at once (those
     * available when it is served). Fails as get() does; canceling it withdraws it, and a batch
     * canceled while it is being served gives its items back to the head of the line.
     * Thread-safe, never blocks.
     * \throws std::invalid_argument if `max` < 1.
     */
    QFuture<QList<T>> getMany(qsizetype max) {
        static_assert(BatchesWork,
                      "QtChannel::Channel<T>::getMany: QList<T> needs a copyable, assignable T");
        checkBatch(max, "getMany");
        Deferred d;
        Flusher flusher(this, d);
        QList<T> items;
        takeManyNow(items, max, d);
        if (!items.isEmpty())
            return QtFuture::makeReadyFuture(std::move(items));
        return wait(std::make_unique<detail::FutureGetMany<T>>(anchor(), max), d);
    }

    /*!
     * For worker threads: waits until `deadline` for at least one item, then takes up to `max`
     * at once. An empty list when the deadline passed or the channel is finished.
     * \throws std::invalid_argument if `max` < 1.
     */
    QList<T> getManyBlocking(qsizetype max,
                             QDeadlineTimer deadline = QDeadlineTimer(QDeadlineTimer::Forever)) {
        static_assert(
            BatchesWork,
            "QtChannel::Channel<T>::getManyBlocking: QList<T> needs a copyable, assignable T");
        checkBatch(max, "getManyBlocking");
        QList<T> items;
        Deferred d;
        Flusher flusher(this, d);
        if (takeFastBatch(items, max, d) == Step::Empty && quietRing()) {
            m_getSpin.spin(
                [&] { return takeFastBatch(items, max, d) != Step::Empty || !quietRing(); });
        }
        // The items of pending puts that the batch made room for are available too (as
        // tryGetMany() takes them): take on while the ring gives, then under the lock if it
        // says more waits beside it.
        if (!items.isEmpty() && items.size() < max) {
            Step step;
            do {
                step = takeFastBatch(items, max - items.size(), d);
            } while (step == Step::Ok && items.size() < max);
            if (step == Step::Slow) {
                detail::ListGetter<T> target(items, max - items.size());
                takeManySlow(target, d);
            }
        }
        if (items.isEmpty()) {
            detail::Parker &parker = detail::Parker::forThisThread();
            detail::ListGetter<T> w(items, max, &parker);
            block(w, parker, deadline, d);
        }
        return items;
    }

    /*!
     * Accepts the longest prefix of `items` that fits now, in order (to waiting gets, into the
     * buffer), removes it from `items` and returns its length. With a drop policy everything
     * is accepted (evicting or discarding as the policy says). 0, and `items` untouched, when
     * the channel is closed. Never waits. Thread-safe.
     */
    qsizetype tryPutMany(QList<T> &items) {
        static_assert(BatchesWork,
                      "QtChannel::Channel<T>::tryPutMany: QList<T> needs a copyable, assignable T");
        if (items.isEmpty())
            return 0;
        Deferred d;
        Flusher flusher(this, d);
        qsizetype accepted = putFastBatch(items, d);
        const auto removeAccepted = qScopeGuard([&] { items.remove(0, accepted); });
        if (accepted < items.size())
            putManySlow(reinterpret_cast<std::byte *>(items.data()), items.size(), accepted, d);
        return accepted;
    }

    /*!
     * A coroutine's get: `co_await channel.receive()` gives the next item, or `std::nullopt`
     * once the channel is finished, so the loop is
     * `while (std::optional<T> item = co_await channel.receive())`. Works in any C++20
     * coroutine type (QCoro's Task, or your own); needs neither QFuture nor QCoro.
     *
     * Ready at once (no suspension, no allocation) when an item can be taken now (rendezvous:
     * from a waiting put) or the channel is finished. Otherwise the coroutine suspends as one
     * waiter in the channel's line (first come, first served with every other style), and
     * resumes in the thread that awaited, from its event loop (that thread must run one),
     * never inline in the thread that served it. A suspended receive counts as a waiting get.
     * Destroying the suspended coroutine (in its own thread) withdraws it: it never swallows an
     * item (one it was already handed goes back to the head of the line). Destroying the
     * channel resumes it with `std::nullopt`.
     *
     * Example: examples/04-coroutines/main.cpp.
     */
    detail::ReceiveAwaiter<T> receive() { return detail::ReceiveAwaiter<T>(*this); }

    /*!
     * A coroutine's put: `co_await channel.send(item)` gives PutResult::Ok once the item is
     * accepted, or PutResult::Closed when the channel is or becomes closed first (the item is
     * then destroyed; one that was waiting goes to the undelivered handler); never Full.
     * Ready at once when the item can be accepted now or the channel is closed; otherwise it
     * suspends and resumes as receive() does. Destroying the suspended coroutine withdraws
     * the send: its item is never accepted later (it goes to the undelivered handler).
     */
    detail::SendAwaiter<T> send(T item) { return detail::SendAwaiter<T>(*this, std::move(item)); }

    /*!
     * Calls `handler` with every item that was handed to the channel but will never be taken:
     * evicted or discarded by the overflow policy, removed by clear(), buffered when the
     * channel is destroyed (oldest first, then the items of pending puts in line order), and
     * the items of pending put() futures that failed because of close or destruction or were
     * withdrawn (canceled). Each such item exactly once, outside any lock, in the thread that
     * caused it. Not: items refused at the door (a put that returns PutResult::Closed or Full
     * leaves its argument to the caller; a put() on an already-closed channel destroys its
     * item; a Select's put arm that does not fire keeps its item, the Select's). Whatever the
     * handler captures must outlive the channel. It must not throw (an exception is reported with
     * qWarning and ignored). Thread-safe; replaces the previous handler; an empty function removes
     * it.
     */
    void setUndeliveredHandler(std::function<void(T &&)> handler) {
        if (!handler) {
            ChannelBase::setUndeliveredHandler({});
            return;
        }
        ChannelBase::setUndeliveredHandler(
            [h = std::move(handler)](void *item) { h(std::move(*detail::itemCast<T>(item))); });
    }

    /*!
     * Calls `f(T)` in `context`'s thread, from its event loop, for every item the channel
     * yields, including items put after forEach() started, in order, until the channel is
     * finished; the returned future then finishes (or fails with the close reason).
     *
     * Other consumers may share the channel; each item goes to exactly one of them. forEach()
     * takes an item only just before it calls `f` with it, so:
     * - if `context` is destroyed first, the loop stops, the future is canceled, and every item
     *   it had not yet passed to `f` is still in the channel;
     * - if `f` throws, the future fails with that exception and no other item is taken;
     * - canceling the future stops the loop before its next item.
     * Destroying the channel cancels the future.
     *
     * \throws std::invalid_argument if `context` is null.
     */
    template <typename F> QFuture<void> forEach(QObject *context, F &&f) {
        static_assert(std::is_invocable_v<std::decay_t<F> &, T &&>,
                      "QtChannel::Channel<T>::forEach: f must be callable with a T");
        if (!context)
            throw std::invalid_argument("QtChannel::Channel::forEach: context must not be null");
        return detail::ForEachRunner::start(
            std::make_shared<Runner<std::decay_t<F>>>(this, context, std::forward<F>(f)));
    }

    /*!
     * A copy of the buffered items, oldest first, without taking them. Thread-safe; it holds
     * the channel still while it copies (the copies run under the channel's lock), so keep it
     * for small channels and diagnostics. If a copy throws, the exception propagates and the
     * channel is unchanged.
     */
    QList<T> snapshot() const requires std::is_copy_constructible_v<T> {
        QList<T> items;
        snapshotInto(
            [](void *list, const void *item) {
                static_cast<QList<T> *>(list)->append(*std::launder(static_cast<const T *>(item)));
            },
            &items);
        return items;
    }

private:
    template <typename U> friend class detail::ReceiveAwaiter;
    template <typename U> friend class detail::SendAwaiter;

    // The awaiters' steps: a non-waiting attempt, then joining the line.
    bool readyToReceive(std::optional<T> &item) {
        Deferred d;
        Flusher flusher(this, d);
        return takeNow(item, d) || isFinished();
    }
    PutResult readyToSend(T &item) { return tryPutImpl(item); }
    detail::Queued suspendAwaiter(Waiter *node) { return enqueueAndFlush(node); }

    template <typename F> class Runner final : public detail::ForEachRunner {
    public:
        template <typename G>
        Runner(Channel *channel, QObject *context, G &&g)
            : ForEachRunner(channel, context)
            , m_f(std::forward<G>(g)) {}

    private:
        bool take(ChannelBase *channel, Deferred &d) override {
            return static_cast<Channel *>(channel)->takeNow(m_item, d);
        }
        void call() override {
            // Straight from the slot into f: no extra move that could throw in between.
            const auto reset = qScopeGuard([this] { m_item.reset(); });
            std::invoke(m_f, std::move(*m_item));
        }

        F m_f;
        std::optional<T> m_item; // between take() and call(), in the context's thread
    };

    static void checkBatch(qsizetype max, const char *what) {
        if (max < 1)
            throw std::invalid_argument(std::string("QtChannel::Channel::") + what +
                                        ": max must be at least 1, got " + std::to_string(max));
    }

    std::exception_ptr closedError() const {
        if (std::exception_ptr reason = closeReason())
            return reason;
        return std::make_exception_ptr(ChannelClosed());
    }

    // The end of put(), get() and getMany() that go to their line: the future is ready at
    // once (served, or refused because the channel is closed) or pending, the line owning the
    // waiter. If serving it throws, the waiter is deleted and the exception propagates.
    template <typename W> auto wait(std::unique_ptr<W> w, Deferred &d) {
        auto pending = w->promise.future();
        switch (enqueue(w.get(), d)) {
        case Queued::Waiting:
            w.release(); // the channel's now
            break;
        case Queued::Served:
            w->promise.reportFinished();
            break;
        case Queued::Closed: // refused at the door: its item, if any, is destroyed
            w->promise.reportException(closedError());
            w->promise.reportFinished();
            break;
        }
        return pending;
    }

    // --- the lock-free fast paths: claim a slot, construct or move, publish or release -----

    // Puts `item` into the ring without the lock. Ok: moved in. Full: no free slot. Slow: the
    // lock must decide (a flag: closed, gets or puts waiting; or no ring yet).
    Step pushFast(T &item, Deferred &d) {
        if constexpr (!ViaRing) {
            Q_UNUSED(item);
            Q_UNUSED(d);
            return Step::Slow;
        } else {
            std::byte *cells = m_ring.cells();
            if (!cells || (m_ring.flags() & detail::Ring::GetsWaiting))
                return Step::Slow; // no ring yet, or hand the item to the get that waits
            quint64 ticket;
            std::byte *cell;
            const Step step = m_ring.claimPut<false>(cells, ticket, cell);
            if (step != Step::Ok)
                return step;
            // Read after the claim: a get that announced itself before it is seen here, and
            // one that announces itself later sees the claim.
            const quint32 flags = m_ring.flagsAfterClaim();
            const bool armed = itemArmed();
            ::new (m_ring.itemOf(cell)) T(std::move(item));
            detail::Ring::publish(cell, ticket);
            d.events |= Deferred::SizeChanged;
            if (flags & detail::Ring::GetsWaiting) {
                afterFastPut(d); // hand the ring's items to the gets that wait
                if (m_ring.count() == 0)
                    return Step::Ok; // all taken: nothing to announce
            }
            itemArrived(d, armed);
            return Step::Ok;
        }
    }

    // Takes the oldest item from the ring without the lock. Ok: it is in `slot`. Empty: no
    // item ready. Slow: the head is held (gets wait, or items were given back).
    Step popFast(std::optional<T> &out, Deferred &d) {
        if constexpr (!ViaRing) {
            Q_UNUSED(out);
            Q_UNUSED(d);
            return Step::Empty;
        } else {
            std::byte *cells = m_ring.cells();
            if (!cells)
                return Step::Empty;
            quint64 ticket;
            std::byte *cell;
            const Step step = m_ring.claimGet(cells, ticket, cell);
            if (step != Step::Ok)
                return step;
            const quint32 flags = m_ring.flagsAfterClaim();
            const bool armed = spaceArmed();
            T *item = detail::itemCast<T>(m_ring.itemOf(cell));
            out.emplace(std::move(*item));
            item->~T();
            m_ring.release(cell, ticket);
            afterPop(flags, armed, d);
            return Step::Ok;
        }
    }

    // Takes up to `max` items from the ring with one compare-and-swap, appending to `items`.
    Step takeFastBatch(QList<T> &items, qsizetype max, Deferred &d) {
        if constexpr (!ViaRing) {
            Q_UNUSED(items);
            Q_UNUSED(max);
            Q_UNUSED(d);
            return Step::Empty;
        } else {
            std::byte *cells = m_ring.cells();
            if (!cells)
                return Step::Empty;
            // Room first: once the slots are claimed, nothing may fail.
            items.reserve(items.size() + std::min(max, m_ring.slotCount()));
            quint64 ticket;
            bool slow = false;
            const qsizetype n = m_ring.claimGets(cells, max, ticket, slow);
            if (n == 0)
                return slow ? Step::Slow : Step::Empty;
            const quint32 flags = m_ring.flagsAfterClaim();
            const bool armed = spaceArmed();
            if constexpr (std::is_nothrow_default_constructible_v<T> &&
                          std::is_nothrow_move_assignable_v<T>) {
                // Within the room reserved above: no allocation, nothing throws. One resize and
                // a plain store per item, instead of an append's checks per item.
                const qsizetype first = items.size();
                items.resize(first + n);
                T *out = items.data() + first;
                detail::Ring::Cursor c(m_ring, cells, ticket);
                for (qsizetype i = 0; i < n; ++i, c.next()) {
                    std::byte *cell = c.cell();
                    T *item = detail::itemCast<T>(m_ring.itemOf(cell));
                    out[i] = std::move(*item);
                    item->~T();
                    m_ring.release(cell, ticket + quint64(i));
                }
            } else {
                detail::Ring::Cursor c(m_ring, cells, ticket);
                for (qsizetype i = 0; i < n; ++i, c.next()) {
                    std::byte *cell = c.cell();
                    T *item = detail::itemCast<T>(m_ring.itemOf(cell));
                    items.append(std::move(*item));
                    item->~T();
                    m_ring.release(cell, ticket + quint64(i));
                }
            }
            afterPop(flags, armed, d);
            return Step::Ok;
        }
    }

    // Puts a prefix of `items` into the ring with one compare-and-swap; returns its length.
    qsizetype putFastBatch(QList<T> &items, Deferred &d) {
        if constexpr (!ViaRing) {
            Q_UNUSED(items);
            Q_UNUSED(d);
            return 0;
        } else {
            std::byte *cells = m_ring.cells();
            if (!cells || (m_ring.flags() & detail::Ring::GetsWaiting))
                return 0;
            quint64 ticket;
            bool slow = false;
            const qsizetype n = m_ring.claimPuts(cells, items.size(), ticket, slow);
            if (n == 0)
                return 0;
            const quint32 flags = m_ring.flagsAfterClaim();
            const bool armed = itemArmed();
            T *from = items.data(); // detached once, not per item
            detail::Ring::Cursor c(m_ring, cells, ticket);
            for (qsizetype i = 0; i < n; ++i, c.next()) {
                std::byte *cell = c.cell();
                ::new (m_ring.itemOf(cell)) T(std::move(from[i]));
                detail::Ring::publish(cell, ticket + quint64(i));
            }
            d.events |= Deferred::SizeChanged;
            if (flags & detail::Ring::GetsWaiting)
                afterFastPut(d);
            itemArrived(d, armed);
            return n;
        }
    }

    void afterPop(quint32 flags, bool armed, Deferred &d) {
        d.events |= Deferred::SizeChanged;
        if (flags & (detail::Ring::Backlog | detail::Ring::Closed))
            afterFastTake(d); // refill from behind the ring, or finish the channel
        else
            spaceMade(d, armed);
    }

    // --- whole operations ----------------------------------------------------------------------

    // A take that never waits; its follow-up work stays in `d` (tryGet() and forEach()).
    bool takeNow(std::optional<T> &item, Deferred &d) {
        Step step = popFast(item, d);
        if (step == Step::Ok)
            return true;
        if (step == Step::Empty && quietRing()) {
            // Arm the notification, then look once more: a put that claimed a slot before
            // arming is counted in the ring (we wait for it to fill its slot); one after it
            // sees the arming and notifies.
            armItem();
            for (detail::Backoff backoff; m_ring.count() > 0; backoff.pause()) {
                step = popFast(item, d);
                if (step == Step::Ok)
                    return true;
                if (step == Step::Slow || !quietRing())
                    break;
            }
            if (step == Step::Empty && m_ring.count() == 0 && quietRing())
                return false;
        }
        detail::OptionalGetter<T> target(item);
        return takeSlow(target, d);
    }

    // Takes up to `max` items that are available now, appending to `items`. A take that
    // returns fewer than `max` arms itemAvailable() and then looks once more, so a slot that
    // drains until a batch comes back short misses nothing: a put that claimed a slot before
    // the arming is taken by that look, one after it sees the arming and notifies.
    void takeManyNow(QList<T> &items, qsizetype max, Deferred &d) {
        const qsizetype start = items.size();
        takeAvailable(items, max, d);
        if (items.size() - start == max)
            return;
        armItem();
        takeAvailable(items, max - (items.size() - start), d);
    }

    // Up to `max` items, appending to `items`: from the ring in batches (a take may refill it
    // from behind), waiting for the slots that puts have claimed but not filled yet, then
    // under the lock if anything is left elsewhere.
    void takeAvailable(QList<T> &items, qsizetype max, Deferred &d) {
        const qsizetype end = items.size() + max;
        Step step;
        do {
            step = takeFastBatch(items, end - items.size(), d);
        } while (step == Step::Ok && items.size() < end);
        if (items.size() == end)
            return;
        if (step == Step::Empty && quietRing()) {
            for (detail::Backoff backoff; m_ring.count() > 0; backoff.pause()) {
                step = takeFastBatch(items, end - items.size(), d);
                if (items.size() == end)
                    return;
                if (step == Step::Slow || !quietRing())
                    break;
            }
            if (step != Step::Slow && quietRing())
                return; // the ring was all there was
        }
        detail::ListGetter<T> target(items, end - items.size());
        takeManySlow(target, d);
    }

    PutResult tryPutImpl(T &item) {
        Deferred d;
        Flusher flusher(this, d);
        for (;;) {
            const Step step = pushFast(item, d);
            if (step == Step::Ok)
                return PutResult::Ok;
            if (step == Step::Slow || capacity() != m_ring.slotCount() ||
                overflow() != Overflow::Wait)
                break; // the lock decides: room may be behind the ring, or a policy applies
            // Full: arm the notification, then look once more. A get that claimed a slot
            // before arming is seen now (we wait for it to empty it); one after it sees the
            // arming and notifies.
            armSpace();
            if (m_ring.count() >= m_ring.slotCount())
                return PutResult::Full;
            detail::cpuRelax();
        }
        return putSlow(&item, d);
    }

    PutResult putBlockingImpl(T &item, QDeadlineTimer deadline) {
        Deferred d;
        Flusher flusher(this, d);
        // Room is often a moment away: spin on the ring before going to sleep (unless there is
        // room behind it, or a policy decides).
        Step step = pushFast(item, d);
        if (step == Step::Full && capacity() == m_ring.slotCount() &&
            overflow() == Overflow::Wait) {
            m_putSpin.spin([&] {
                if (!roomForBurst())
                    return !quietRing();
                step = pushFast(item, d);
                return step != Step::Full || !quietRing();
            });
        }
        if (step == Step::Ok)
            return PutResult::Ok;
        detail::Parker &parker = detail::Parker::forThisThread();
        detail::BlockingPutter w(&item, &parker);
        switch (block(w, parker, deadline, d)) {
        case Waiter::Outcome::Done:
            return PutResult::Ok;
        case Waiter::Outcome::Closed:
            return PutResult::Closed;
        case Waiter::Outcome::Failed:
            std::rethrow_exception(w.error);
        default:
            return PutResult::Full; // the deadline passed
        }
    }

    // Whether a put that spins on a full ring should try again: once a few slots are free
    // (16, or a quarter of a small ring). Pushing into each slot the moment a get empties it
    // would move that slot's cache line between the two cores for every item; waiting for a
    // few lets the put refill them in a burst. It only delays a put that waits anyway: when
    // the spin ends, the put takes the slow path, which uses any room there is.
    bool roomForBurst() const noexcept {
        std::byte *cells = m_ring.cells();
        if (!cells)
            return true;
        const quint64 burst =
            quint64(std::min<qsizetype>(16, std::max<qsizetype>(1, m_ring.slotCount() / 4)));
        const quint64 last = m_ring.tailTicket() + burst - 1;
        return detail::Ring::seqOf(m_ring.cellAt(cells, last)).load(std::memory_order_acquire) >=
               2 * last;
    }
};

} // namespace QtChannel
