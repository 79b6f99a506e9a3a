// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

#include <QtChannel/channelbase.h>
#include <QtChannel/detail/foreach.h>
#include <QtChannel/detail/ringbuffer.h>

#include <QtCore/QDeadlineTimer>
#include <QtCore/QFuture>
#include <QtCore/QList>

#include <functional>
#include <memory>
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
 * done". Items can be put and taken in three styles, which mix freely on one channel:
 *
 * | style | put | get | when it has to wait |
 * |---|---|---|---|
 * | futures | put() | get() | returns a pending QFuture |
 * | non-waiting | tryPut() | tryGet() | returns PutResult::Full / `std::nullopt` |
 * | blocking (worker threads) | putBlocking() | getBlocking() | blocks the thread, with a deadline
 * |
 *
 * and an event-loop consumer, forEach(), that calls a function for every item in a QObject's
 * thread until the channel is finished.
 *
 * **Guarantees.** FIFO: items come out in the order their puts were accepted, and pending puts
 * and gets of every style are served first come, first served. Exactly once: every accepted
 * item is taken exactly once or is still in the channel. Every member is thread-safe, and no
 * lock is held while user code (slots, continuations, callbacks) runs, so such code may call
 * back into the channel.
 *
 * **Cost.** put and get are O(1). tryPut(), tryGet() and blocking calls that do not wait
 * allocate nothing once the buffer has grown to its working size. A pending future costs one
 * allocation by the channel plus Qt's own for the future.
 *
 * **T** must be move-constructible; copyable types may be put by const reference. If T's move
 * constructor can throw, the channel copies where it can (as std::vector does), and an
 * exception thrown while moving an item fails the operation that owns the item: the caller of
 * put/tryPut/putBlocking, or, for an item waiting in a pending put, that put. Nothing else
 * changes and no item is lost.
 *
 * Examples: examples/01-pipeline/main.cpp, examples/02-futures/main.cpp.
 *
 * \tparam T the item type.
 */
template <typename T> class Channel : public ChannelBase {
    static_assert(std::is_move_constructible_v<T>, "QtChannel::Channel<T>: T must be movable");
    static_assert(!std::is_reference_v<T>, "QtChannel::Channel<T>: T must not be a reference");
    static_assert(!std::is_const_v<T>, "QtChannel::Channel<T>: T must not be const");

public:
    //! The item type.
    using value_type = T;

    /*!
     * \param capacity Unbounded (the default), 0 for a rendezvous channel (a put completes only
     * when a get takes its item), or the bound n ≥ 1. No storage is allocated up front.
     * \throws std::invalid_argument for any other negative capacity.
     */
    explicit Channel(qsizetype capacity = Unbounded, QObject *parent = nullptr)
        : ChannelBase(capacity, parent) {}

    //! Closes the channel; see ChannelBase::~ChannelBase().
    ~Channel() override {
        detail::RingBuffer<T> doomed;
        Batch b;
        {
            detail::Locker locker(m_lock);
            shutdownLocked(b);
            doomed.swap(m_buffer);
        }
        completeShutdown(b);
    }

    Channel(const Channel &) = delete;
    Channel &operator=(const Channel &) = delete;

    /*!
     * Puts `item`: ready at once when there is room (or a get is waiting for it), otherwise
     * pending until there is. Fails with ChannelClosed when the channel is closed before the
     * item is accepted; the item is then destroyed, never enqueued.
     *
     * Canceling the pending future (QFuture::cancel()) withdraws the put: its item is never
     * enqueued later. The channel finishes the canceled future when it next looks at its
     * pending puts (see docs/guide.md, "Canceling").
     *
     * Thread-safe, never blocks. Allocates the future, and a waiter when it has to wait.
     */
    QFuture<void> put(T item) {
        Batch b;
        QFuture<void> pending;
        bool accepted;
        {
            detail::Locker locker(m_lock);
            if (isClosedLocked())
                return QtFuture::makeExceptionalFuture<void>(detail::closedError());
            accepted = offerLocked(std::move(item), b);
            if (!accepted) {
                auto *w = new detail::FuturePutWaiter<T>(std::move(item));
                pending = w->promise.future();
                addPutterLocked(w, b);
            }
        }
        finish(b);
        return accepted ? QtFuture::makeReadyFuture() : pending;
    }

    /*!
     * Takes the oldest item: ready at once when one is available, otherwise pending. Fails with
     * ChannelClosed once the channel is closed and no item can reach this get (at once when the
     * channel is already finished).
     *
     * Canceling the pending future withdraws the get: it never swallows an item. If it was
     * canceled just after it was handed its item, it keeps the item, readable with
     * `resultAt(0)` (Qt 6.4's `results()` is empty on a canceled future).
     *
     * Thread-safe, never blocks. Allocates the future, and a waiter when it has to wait.
     */
    QFuture<T> get() {
        std::optional<QFutureInterface<T>> ready; // engaged only when an item is taken at once
        Batch b;
        QFuture<T> pending;
        bool taken;
        {
            detail::Locker locker(m_lock);
            // The item goes straight into the future's result store, which copies it if its
            // move may throw: if that throws, the item is still in the channel.
            taken = takeLocked(
                [&ready](T &source) {
                    ready.emplace(detail::startedPromise<T>());
                    ready->reportAndMoveResult(std::move(source));
                },
                b);
            if (!taken) {
                if (isClosedLocked())
                    return QtFuture::makeExceptionalFuture<T>(detail::closedError());
                auto *w = new detail::FutureGetWaiter<T>;
                pending = w->promise.future();
                addGetterLocked(w, b);
            }
        }
        finish(b);
        if (!taken)
            return pending;
        ready->reportFinished();
        return ready->future();
    }

    /*!
     * Puts `item` if that needs no waiting. Returns PutResult::Closed if the channel is closed
     * (whether or not it is also full), PutResult::Full if there is no room (rendezvous: no get
     * is waiting), PutResult::Ok otherwise. On Full and Closed `item` is untouched.
     * Thread-safe, never blocks, allocates nothing once the buffer has grown.
     */
    PutResult tryPut(const T &item) { return tryPutImpl(item); }
    //! \overload The item is moved from only when the result is PutResult::Ok.
    PutResult tryPut(T &&item) { return tryPutImpl(std::move(item)); }

    /*!
     * Takes the oldest item if one is available (rendezvous: from a waiting put). Returns
     * `std::nullopt` otherwise; isFinished() then tells "empty for now" from "empty for ever".
     * Thread-safe, never blocks, allocates nothing.
     */
    std::optional<T> tryGet() {
        std::optional<T> item;
        Batch b;
        {
            detail::Locker locker(m_lock);
            if (!takeLocked(item, b))
                nothingToTakeLocked();
        }
        finish(b);
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
    //! \overload The item is copied only when it is accepted.
    PutResult putBlocking(const T &item,
                          QDeadlineTimer deadline = QDeadlineTimer(QDeadlineTimer::Forever)) {
        const PutResult result = tryPutImpl(item);
        if (result != PutResult::Full || deadline.hasExpired())
            return result;
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
        Batch b;
        detail::Parker parker;
        detail::BlockingGetWaiter<T> w(&parker, &item);
        {
            detail::Locker locker(m_lock);
            if (takeLocked(item, b)) {
                locker.unlock();
                finish(b);
                return item;
            }
            nothingToTakeLocked();
            if (isClosedLocked() || deadline.hasExpired()) {
                locker.unlock();
                finish(b); // canceled puts the take met
                return item;
            }
            addGetterLocked(&w, b);
            beginBlockingLocked();
        }
        finish(b);
        block(w, /*isGetter=*/true, deadline); // fills `item` when served
        return item;
    }

    /*!
     * Calls `f(T)` in `context`'s thread, from its event loop, for every item the channel
     * yields, including items put after forEach() started, in order, until the channel is
     * finished; the returned future then finishes.
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
     * A copy of the buffered items, oldest first, without taking them. Thread-safe; copies
     * under the lock, so keep it for small channels or diagnostics.
     */
    QList<T> snapshot() const requires std::is_copy_constructible_v<T> {
        QList<T> items;
        detail::Locker locker(m_lock);
        items.reserve(m_buffer.size());
        m_buffer.forEach([&items](const T &item) { items.append(item); });
        return items;
    }

private:
    template <typename F> class Runner final : public detail::ForEachRunner {
    public:
        template <typename G>
        Runner(Channel *channel, QObject *context, G &&g)
            : ForEachRunner(channel, context)
            , m_f(std::forward<G>(g)) {}

    private:
        bool take(ChannelBase *channel, Batch &b) override {
            return static_cast<Channel *>(channel)->takeDeferred(m_item, b);
        }
        void call() override {
            T item(std::move(*m_item));
            m_item.reset();
            std::invoke(m_f, std::move(item));
        }

        F m_f;
        std::optional<T> m_item; // between take() and call(), in the context's thread
    };

    // A take for forEach: nothing is settled or emitted; that is left to the runner.
    bool takeDeferred(std::optional<T> &item, Batch &b) {
        detail::Locker locker(m_lock);
        if (takeLocked(item, b))
            return true;
        nothingToTakeLocked();
        return false;
    }

    template <typename U> PutResult tryPutImpl(U &&item) {
        Batch b;
        PutResult result = PutResult::Ok;
        {
            detail::Locker locker(m_lock);
            if (isClosedLocked())
                return PutResult::Closed;
            if (!offerLocked(std::forward<U>(item), b)) {
                noRoomLocked();
                result = PutResult::Full;
            }
        }
        finish(b); // also when Full: the offer may have met canceled gets
        return result;
    }

    PutResult putBlockingImpl(T &item, QDeadlineTimer deadline) {
        Batch b;
        detail::Parker parker;
        detail::BlockingPutWaiter<T> w(&parker, &item);
        {
            detail::Locker locker(m_lock);
            if (isClosedLocked())
                return PutResult::Closed;
            if (offerLocked(std::move(item), b)) {
                locker.unlock();
                finish(b);
                return PutResult::Ok;
            }
            noRoomLocked();
            if (deadline.hasExpired()) {
                locker.unlock();
                finish(b); // canceled gets the offer met
                return PutResult::Full;
            }
            addPutterLocked(&w, b);
            beginBlockingLocked();
        }
        finish(b);
        switch (block(w, /*isGetter=*/false, deadline)) {
        case Outcome::Done:
            return PutResult::Ok;
        case Outcome::Closed:
            return PutResult::Closed;
        case Outcome::Failed:
            std::rethrow_exception(w.error);
        default:
            return PutResult::Full; // the deadline passed
        }
    }

    // Offers an item without waiting: to the first pending get, else into the buffer.
    // Returns false, leaving `item` untouched, if neither can take it.
    template <typename U> bool offerLocked(U &&item, Batch &b) {
        while (Waiter *w = firstGetterLocked(b)) {
            if (detail::deliver<T>(w, std::forward<U>(item))) {
                servedGetterLocked(w, b);
                return true;
            }
            canceledGetterLocked(w, b); // canceled as we handed over; the item is untouched
        }
        if (!hasRoomLocked(m_buffer.size()))
            return false;
        m_buffer.push(std::forward<U>(item), capacity());
        bufferChangedLocked(m_buffer.size(), b);
        return true;
    }

    // Takes the oldest item into `item`: from the buffer (refilling it from pending puts), or
    // on a rendezvous channel straight from a pending put. False if there is none.
    bool takeLocked(std::optional<T> &item, Batch &b) {
        return takeLocked([&item](T &source) { item.emplace(std::move_if_noexcept(source)); }, b);
    }

    // The same, handing the item to `sink(T &source)`, which must leave `source` untouched if
    // it throws.
    template <typename Sink> bool takeLocked(Sink &&sink, Batch &b) {
        if (!m_buffer.isEmpty()) {
            sink(m_buffer.front());
            m_buffer.popFront();
            if (hasPuttersLocked())
                refillLocked(b);
            bufferChangedLocked(m_buffer.size(), b);
            return true;
        }
        while (Waiter *w = firstPutterLocked(b)) {
            auto *put = static_cast<detail::PutWaiter<T> *>(w);
            try {
                sink(*put->item);
            } catch (...) {
                failedPutterLocked(w, std::current_exception(), b);
                continue;
            }
            servedPutterLocked(w, b);
            return true;
        }
        return false;
    }

    // Moves pending puts' items into the room a take made, oldest put first.
    void refillLocked(Batch &b) {
        while (hasRoomLocked(m_buffer.size())) {
            Waiter *w = firstPutterLocked(b);
            if (!w)
                return;
            auto *put = static_cast<detail::PutWaiter<T> *>(w);
            try {
                m_buffer.push(std::move_if_noexcept(*put->item), capacity());
            } catch (...) {
                failedPutterLocked(w, std::current_exception(), b);
                continue;
            }
            servedPutterLocked(w, b);
        }
    }

    detail::RingBuffer<T> m_buffer; // guarded by m_lock
};

} // namespace QtChannel
