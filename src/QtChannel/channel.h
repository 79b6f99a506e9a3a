// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

#include <QtChannel/channelbase.h>
#include <QtChannel/detail/foreach.h>
#include <QtChannel/detail/ringbuffer.h>

#include <QtCore/QDeadlineTimer>
#include <QtCore/QFuture>
#include <QtCore/QList>
#include <QtCore/QMutexLocker>
#include <QtCore/QScopeGuard>

#include <algorithm>
#include <cstddef>
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
 * done". Items can be put and taken in three styles, which mix freely on one channel:
 *
 * | style                     | put           | get           | when it has to wait       |
 * |---------------------------|---------------|---------------|---------------------------|
 * | futures                   | put()         | get()         | returns a pending QFuture |
 * | non-waiting               | tryPut()      | tryGet()      | Full / `std::nullopt`     |
 * | blocking (worker threads) | putBlocking() | getBlocking() | blocks, with a deadline   |
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
 * Examples: examples/01-pipeline/main.cpp, examples/02-futures/main.cpp.
 *
 * \tparam T the item type.
 */
template <typename T> class Channel : public ChannelBase {
    static_assert(std::is_move_constructible_v<T>, "QtChannel::Channel<T>: T must be movable");
    static_assert(!std::is_reference_v<T>, "QtChannel::Channel<T>: T must not be a reference");
    static_assert(!std::is_const_v<T>, "QtChannel::Channel<T>: T must not be const");

    // Items move through the lock-free ring only if moving them cannot throw: a transfer that
    // has claimed a slot cannot be undone.
    static constexpr bool UsesRing =
        std::is_nothrow_move_constructible_v<T> && std::is_nothrow_destructible_v<T>;
    static constexpr qsizetype MaxRing = 1024;
    static constexpr qsizetype ringSizeFor(qsizetype capacity) {
        if (!UsesRing || capacity == 0 || capacity < Unbounded)
            return 0;
        return capacity == Unbounded ? MaxRing : std::min(capacity, MaxRing);
    }

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
        : ChannelBase(capacity, ringSizeFor(capacity), parent) {}

    //! Closes the channel; see ChannelBase::~ChannelBase().
    ~Channel() override {
        detail::RingBuffer<T> doomed;
        Batch b;
        {
            detail::Locker locker(m_lock);
            shutdownLocked(b);
            doomed.swap(m_overflow);
            setOverflowCountLocked(0);
            destroyRingItemsLocked();
        }
        completeShutdown(b);
        if (Cell *cells = static_cast<Cell *>(m_cells.load(std::memory_order_acquire)))
            delete[] cells;
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
        Finisher finisher(this, b);
        if (pushFast(item, b) == Fast::Done)
            return QtFuture::makeReadyFuture();
        detail::Locker locker(m_lock);
        if (isClosedLocked())
            return QtFuture::makeExceptionalFuture<void>(detail::closedError());
        if (putLocked(item, b)) {
            syncFlagsLocked();
            locker.unlock();
            return QtFuture::makeReadyFuture();
        }
        auto *w = new detail::FuturePutWaiter<T>(std::move(item));
        QFuture<void> pending = w->promise.future();
        addPutterLocked(w, b);
        syncFlagsLocked();
        return pending;
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
        Batch b;
        Finisher finisher(this, b);
        if constexpr (UsesRing) {
            std::optional<T> item;
            if (popFast(item, b) == Fast::Done)
                return readyFuture(*item); // moving T cannot throw
        }
        detail::Locker locker(m_lock);
        // The item goes straight into the future's result store, which copies it if moving may
        // throw: if that throws, the item is still in the channel (or fails its pending put).
        std::optional<QFutureInterface<T>> ready;
        const auto intoFuture = [&ready](T &source) {
            QFutureInterface<T> promise = detail::startedPromise<T>();
            promise.reportAndMoveResult(std::move(source));
            ready.emplace(std::move(promise));
        };
        if (takeFirstInLineLocked(intoFuture, b)) {
            syncFlagsLocked();
            locker.unlock();
            ready->reportFinished();
            return ready->future();
        }
        if (isClosedLocked()) {
            finishIfDrainedLocked(b);
            syncFlagsLocked();
            return QtFuture::makeExceptionalFuture<T>(detail::closedError());
        }
        auto *w = new detail::FutureGetWaiter<T>;
        QFuture<T> pending = w->promise.future();
        addGetterLocked(w, b);
        syncFlagsLocked();
        return pending;
    }

    /*!
     * Puts `item` if that needs no waiting. Returns PutResult::Closed if the channel is closed
     * (whether or not it is also full), PutResult::Full if there is no room (rendezvous: no get
     * is waiting), PutResult::Ok otherwise. On Full and Closed `item` is untouched.
     * Thread-safe, never blocks, allocates nothing once the buffer has grown.
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
        Batch b;
        Finisher finisher(this, b);
        takeImpl(item, b);
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
        Batch b;
        Finisher finisher(this, b);
        // An item is often a moment away: spin on the ring before going to sleep.
        Fast fast = popFast(item, b);
        if (fast == Fast::Empty && quietRing()) {
            m_getSpin.spin([&] {
                fast = popFast(item, b);
                return fast != Fast::Empty || !quietRing();
            });
        }
        if (fast == Fast::Done)
            return item;
        detail::BlockingGetWaiter<T> w(&detail::Parker::forThisThread(), &item);
        {
            detail::Locker locker(m_lock);
            if (takeFirstInLineLocked(item, b)) {
                syncFlagsLocked();
                return item;
            }
            if (isClosedLocked() || deadline.hasExpired()) {
                finishIfDrainedLocked(b);
                syncFlagsLocked();
                return item;
            }
            addGetterLocked(&w, b);
            beginBlockingLocked();
            syncFlagsLocked();
        }
        finish(b);                             // before sleeping
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
     * A copy of the buffered items, oldest first, without taking them. Thread-safe; it holds
     * the channel still while it copies, so keep it for small channels and diagnostics.
     */
    QList<T> snapshot() const requires std::is_copy_constructible_v<T> {
        QList<T> items;
        detail::Locker locker(m_lock);
        // Freeze the ring: while both wait bits are set, no fast operation claims a slot.
        const quint64 headBit = m_head.fetch_or(WaitBit, std::memory_order_seq_cst) & WaitBit;
        const quint64 tailBit = m_tail.fetch_or(WaitBit, std::memory_order_seq_cst) & WaitBit;
        if (Cell *cells = static_cast<Cell *>(m_cells.load(std::memory_order_acquire))) {
            const quint64 tail = ticketOf(m_tail.load(std::memory_order_seq_cst));
            for (quint64 t = ticketOf(m_head.load(std::memory_order_seq_cst)); t < tail; ++t) {
                Cell &cell = cells[ringSlot(t)];
                for (detail::Backoff backoff;
                     cell.seq.load(std::memory_order_acquire) != 2 * t + 1;)
                    backoff.pause(); // a put that claimed the slot before the freeze
                items.append(*cell.item());
            }
        }
        m_overflow.forEach([&items](const T &item) { items.append(item); });
        if (!headBit)
            m_head.fetch_and(~WaitBit, std::memory_order_seq_cst);
        if (!tailBit)
            m_tail.fetch_and(~WaitBit, std::memory_order_seq_cst);
        return items;
    }

private:
    // One slot of the ring (Vyukov's bounded MPMC queue): `seq` says whose turn it is. A put
    // with ticket t may fill it when seq == 2t, a get with ticket t may empty it when
    // seq == 2t + 1, and emptying it sets seq to 2(t + ring size), the next lap's put. (Doubled
    // so that a ring of one slot works too: Vyukov's t / t + 1 needs two.)
    struct Cell {
        std::atomic<quint64> seq;
        alignas(T) std::byte storage[sizeof(T)];
        T *item() noexcept { return std::launder(reinterpret_cast<T *>(storage)); }
    };

    enum class Fast : quint8 { Done, Full, Empty, Slow };

    template <typename F> class Runner final : public detail::ForEachRunner {
    public:
        template <typename G>
        Runner(Channel *channel, QObject *context, G &&g)
            : ForEachRunner(channel, context)
            , m_f(std::forward<G>(g)) {}

    private:
        bool take(ChannelBase *channel, Batch &b) override {
            return static_cast<Channel *>(channel)->takeImpl(m_item, b);
        }
        void call() override {
            // Straight from the slot into f: no extra move that could throw in between.
            const auto reset = qScopeGuard([this] { m_item.reset(); });
            std::invoke(m_f, std::move(*m_item));
        }

        F m_f;
        std::optional<T> m_item; // between take() and call(), in the context's thread
    };

    // --- the lock-free fast paths ------------------------------------------------------------

    // Puts `item` into the ring without the lock. Done: it was moved in. Full: the ring is
    // full. Slow: the lock must decide (closed, puts or items waiting, ring not allocated).
    Fast pushFast(T &item, Batch &b) {
        if constexpr (!UsesRing) {
            Q_UNUSED(item);
            Q_UNUSED(b);
            return Fast::Slow;
        } else {
            Cell *cells = static_cast<Cell *>(m_cells.load(std::memory_order_acquire));
            if (!cells)
                return Fast::Slow; // no ring (rendezvous), or not allocated yet
            if (m_flags.load(std::memory_order_relaxed) & GetsWaiting)
                return Fast::Slow; // hand the item straight to the get that waits
            quint64 t = m_tail.load(std::memory_order_relaxed);
            for (;;) {
                if (t & (WaitBit | ClosedBit))
                    return Fast::Slow;
                Cell &cell = cells[ringSlot(t)];
                const qint64 diff = qint64(cell.seq.load(std::memory_order_acquire) - 2 * t);
                if (diff == 0) {
                    if (m_tail.compare_exchange_weak(t, t + 1, std::memory_order_seq_cst,
                                                     std::memory_order_relaxed)) {
                        // Read after the claim: a get that announced itself before it is seen
                        // here, and one that announces itself later sees the claim.
                        const quint32 flags = m_flags.load(std::memory_order_seq_cst);
                        const bool armed = m_itemArmed.load(std::memory_order_seq_cst);
                        ::new (static_cast<void *>(cell.storage)) T(std::move(item));
                        cell.seq.store(2 * t + 1, std::memory_order_release);
                        afterPush(flags, armed, b);
                        return Fast::Done;
                    }
                } else if (diff < 0) {
                    return Fast::Full; // the slot still holds the previous lap's item
                } else {
                    t = m_tail.load(std::memory_order_relaxed);
                }
            }
        }
    }

    // Takes the oldest item from the ring without the lock. Done: it is in `item`. Empty: the
    // ring has no item ready. Slow: gets are waiting, who go first.
    Fast popFast(std::optional<T> &item, Batch &b) {
        if constexpr (!UsesRing) {
            Q_UNUSED(item);
            Q_UNUSED(b);
            return Fast::Empty;
        } else {
            Cell *cells = static_cast<Cell *>(m_cells.load(std::memory_order_acquire));
            if (!cells)
                return Fast::Empty;
            quint64 h = m_head.load(std::memory_order_relaxed);
            for (;;) {
                if (h & WaitBit)
                    return Fast::Slow;
                Cell &cell = cells[ringSlot(h)];
                const qint64 diff = qint64(cell.seq.load(std::memory_order_acquire) - (2 * h + 1));
                if (diff == 0) {
                    if (m_head.compare_exchange_weak(h, h + 1, std::memory_order_seq_cst,
                                                     std::memory_order_relaxed)) {
                        const quint32 flags = m_flags.load(std::memory_order_seq_cst);
                        const bool armed = m_spaceArmed.load(std::memory_order_seq_cst);
                        item.emplace(std::move(*cell.item()));
                        cell.item()->~T();
                        cell.seq.store(2 * (h + quint64(m_ringSize)), std::memory_order_release);
                        afterPop(flags, armed, b);
                        return Fast::Done;
                    }
                } else if (diff < 0) {
                    return Fast::Empty; // nothing there, or a put is still filling it
                } else {
                    h = m_head.load(std::memory_order_relaxed);
                }
            }
        }
    }

    // Whether a put that spins on a full ring should try again: once a few slots are free
    // (16, or a quarter of a small ring). Pushing into each slot the moment a get empties it
    // would move that slot's cache line between the two cores for every item; waiting for a
    // few lets the put refill them in a burst. It only delays a put that waits anyway: when
    // the spin ends, the put takes the slow path, which uses any room there is.
    bool roomForBurst() const noexcept {
        if constexpr (!UsesRing) {
            return true;
        } else {
            const Cell *cells = static_cast<const Cell *>(m_cells.load(std::memory_order_acquire));
            const quint64 burst =
                quint64(std::min<qsizetype>(16, std::max<qsizetype>(1, m_ringSize / 4)));
            const quint64 last = ticketOf(m_tail.load(std::memory_order_relaxed)) + burst - 1;
            return !cells || cells[ringSlot(last)].seq.load(std::memory_order_acquire) >= 2 * last;
        }
    }

    // True when the fast paths alone decide: nothing waits behind the ring, no get waits, and
    // the channel is open.
    bool quietRing() const noexcept {
        return m_ringSize > 0 && m_flags.load(std::memory_order_relaxed) == 0;
    }

    void afterPush(quint32 flags, bool armed, Batch &b) {
        b.events |= Batch::SizeChanged;
        if (flags & GetsWaiting) {
            // A get announced itself while we claimed the slot: hand it the ring's items.
            detail::Locker locker(m_lock);
            serveGettersLocked(b);
            syncFlagsLocked();
            if (ringCount() == 0)
                return; // all taken: nothing to announce
        }
        itemArrived(b, armed);
    }

    void afterPop(quint32 flags, bool armed, Batch &b) {
        b.events |= Batch::SizeChanged;
        if (flags & (Backlog | ClosedFlag)) {
            detail::Locker locker(m_lock);
            refillLocked(b); // move what waits behind the ring into the room just made
            if (hasRoomLocked())
                spaceMade(b);
            finishIfDrainedLocked(b);
            syncFlagsLocked();
        } else {
            spaceMade(b, armed);
        }
    }

    // --- the ring under the lock -------------------------------------------------------------
    // The slow paths use the ring with the same compare-and-swap protocol as the fast ones, but
    // ignore the wait bits (the lock orders them) and wait for fast operations that claimed a
    // slot and have not yet filled or emptied it.

    Cell *cellsLocked() {
        Q_ASSERT(m_ringSize > 0);
        if (auto *cells = static_cast<Cell *>(m_cells.load(std::memory_order_relaxed)))
            return cells;
        auto *cells = new Cell[size_t(m_ringSize)];
        for (qsizetype i = 0; i < m_ringSize; ++i)
            cells[i].seq.store(2 * quint64(i), std::memory_order_relaxed);
        m_cells.store(cells, std::memory_order_release);
        return cells;
    }

    // Moves `item` into the ring if it has room. Never throws once the ring exists.
    bool pushLocked(T &item) {
        if constexpr (!UsesRing) {
            Q_UNUSED(item);
            return false;
        } else {
            if (m_ringSize == 0)
                return false;
            Cell *cells = cellsLocked();
            quint64 t = m_tail.load(std::memory_order_seq_cst);
            for (detail::Backoff backoff;;) {
                const quint64 ticket = ticketOf(t);
                if (ticket - ticketOf(m_head.load(std::memory_order_seq_cst)) >=
                    quint64(m_ringSize))
                    return false;
                Cell &cell = cells[ringSlot(ticket)];
                if (cell.seq.load(std::memory_order_acquire) != 2 * ticket) {
                    backoff.pause(); // a get claimed the slot's old item and is moving it out
                    t = m_tail.load(std::memory_order_seq_cst);
                    continue;
                }
                if (m_tail.compare_exchange_weak(t, t + 1, std::memory_order_seq_cst)) {
                    ::new (static_cast<void *>(cell.storage)) T(std::move(item));
                    cell.seq.store(2 * ticket + 1, std::memory_order_release);
                    return true;
                }
            }
        }
    }

    // Hands the ring's oldest item to `sink`, if it has one. Moving T cannot throw (or the ring
    // is not used), so neither can a sink that only moves it.
    template <typename Sink> bool popLocked(Sink &sink) {
        if constexpr (!UsesRing) {
            Q_UNUSED(sink);
            return false;
        } else {
            Cell *cells = static_cast<Cell *>(m_cells.load(std::memory_order_relaxed));
            if (!cells)
                return false;
            quint64 h = m_head.load(std::memory_order_seq_cst);
            for (detail::Backoff backoff;;) {
                const quint64 ticket = ticketOf(h);
                if (ticketOf(m_tail.load(std::memory_order_seq_cst)) <= ticket)
                    return false;
                Cell &cell = cells[ringSlot(ticket)];
                if (cell.seq.load(std::memory_order_acquire) != 2 * ticket + 1) {
                    backoff.pause(); // a put claimed the slot and is still filling it
                    h = m_head.load(std::memory_order_seq_cst);
                    continue;
                }
                if (m_head.compare_exchange_weak(h, h + 1, std::memory_order_seq_cst)) {
                    sink(*cell.item());
                    cell.item()->~T();
                    cell.seq.store(2 * (ticket + quint64(m_ringSize)), std::memory_order_release);
                    return true;
                }
            }
        }
    }

    void destroyRingItemsLocked() noexcept {
        if (auto *cells = static_cast<Cell *>(m_cells.load(std::memory_order_relaxed))) {
            const quint64 head = ticketOf(m_head.load(std::memory_order_seq_cst));
            const quint64 tail = ticketOf(m_tail.load(std::memory_order_seq_cst));
            for (quint64 t = head; t < tail; ++t)
                cells[ringSlot(t)].item()->~T();
            m_head.store(m_head.load(std::memory_order_relaxed) + (tail - head),
                         std::memory_order_seq_cst);
        }
    }

    // --- the slow paths, under the lock --------------------------------------------------------
    // The order of the buffered items is: the ring, then the overflow behind it, then the
    // items of waiting puts.

    // Takes the oldest buffered item (rendezvous: a waiting put's) into `item`, and refills.
    bool takeLocked(std::optional<T> &item, Batch &b) {
        return takeLocked([&item](T &source) { item.emplace(std::move_if_noexcept(source)); }, b);
    }

    // The same, handing the item to `sink(T &source)`, which moves or copies it out and must
    // leave `source` untouched if it throws: the item then stays where it was.
    template <typename Sink> bool takeLocked(Sink &&sink, Batch &b) {
        if (popLocked(sink)) {
        } else if (!m_overflow.isEmpty()) {
            sink(m_overflow.front());
            m_overflow.popFront();
            setOverflowCountLocked(m_overflow.size());
        } else {
            while (Waiter *w = firstPutterLocked(b)) {
                try {
                    sink(*static_cast<detail::PutWaiter<T> *>(w)->item);
                } catch (...) {
                    failedPutterLocked(w, std::current_exception(), b);
                    continue;
                }
                servedPutterLocked(w, b);
                return true; // rendezvous: no buffer to change
            }
            return false;
        }
        b.events |= Batch::SizeChanged;
        if (hasBacklogLocked())
            refillLocked(b);
        if (hasRoomLocked())
            spaceMade(b);
        finishIfDrainedLocked(b);
        return true;
    }

    // takeLocked() for a take that arrives now: gets already waiting go first.
    template <typename Target> bool takeFirstInLineLocked(Target &&target, Batch &b) {
        serveGettersLocked(b);
        if (hasGettersLocked())
            return false;
        if (takeLocked(target, b))
            return true;
        // Nothing: announce a waiting get, then look once more. A put that claimed a slot
        // before the announcement is seen now; one after it sees the announcement.
        announceGetsWaitingLocked();
        armItem();
        return takeLocked(target, b);
    }

    // Moves what waits behind the ring into the ring's free slots, oldest first: the overflow,
    // then the items of waiting puts (into the ring, or the overflow if it has room).
    void refillLocked(Batch &b) {
        while (!m_overflow.isEmpty() && pushLocked(m_overflow.front())) {
            m_overflow.popFront();
            setOverflowCountLocked(m_overflow.size());
        }
        while (Waiter *w = firstPutterLocked(b)) {
            T &source = *static_cast<detail::PutWaiter<T> *>(w)->item;
            if (m_overflow.isEmpty() && pushLocked(source)) {
                servedPutterLocked(w, b);
                continue;
            }
            if (!overflowHasRoomLocked())
                return;
            try {
                m_overflow.push(std::move_if_noexcept(source), capacity());
            } catch (...) {
                failedPutterLocked(w, std::current_exception(), b);
                continue;
            }
            setOverflowCountLocked(m_overflow.size());
            servedPutterLocked(w, b);
        }
    }

    // Accepts `item` without waiting: to the first waiting get, else into the ring, else into
    // the overflow. False (item untouched) if it has to wait; the backlog is then announced.
    bool putLocked(T &item, Batch &b) {
        serveGettersLocked(b);
        while (Waiter *w = firstGetterLocked(b)) {
            if (detail::deliver<T>(w, std::move(item))) {
                servedGetterLocked(w, b);
                return true;
            }
            canceledGetterLocked(w, b); // canceled as we handed over; the item is untouched
        }
        if (!hasBacklogLocked()) {
            if (pushLocked(item)) {
                b.events |= Batch::SizeChanged;
                itemArrived(b);
                return true;
            }
            // Full: announce the backlog, then look once more. A get that claimed a slot before
            // the announcement is seen now; one after it sees the announcement and refills.
            announceBacklogLocked();
            if (pushLocked(item)) {
                b.events |= Batch::SizeChanged;
                itemArrived(b);
                return true;
            }
        }
        if (!hasPuttersLocked() && overflowHasRoomLocked()) {
            announceBacklogLocked();
            m_overflow.push(std::move_if_noexcept(item), capacity()); // may throw: unchanged
            setOverflowCountLocked(m_overflow.size());
            b.events |= Batch::SizeChanged;
            itemArrived(b);
            return true;
        }
        announceBacklogLocked();
        armSpace();
        return false;
    }

    // Hands buffered items to the gets that wait, oldest first. A future get is checked for
    // cancellation under its own mutex, so an item is never taken for a get that cannot keep
    // it.
    void serveGettersLocked(Batch &b) override {
        while (Waiter *w = firstGetterLocked(b)) {
            if (w->parker) {
                if (!takeLocked(*static_cast<detail::BlockingGetWaiter<T> *>(w)->slot, b))
                    return;
                servedGetterLocked(w, b);
                continue;
            }
            QFutureInterface<T> &promise = static_cast<detail::FutureGetWaiter<T> *>(w)->promise;
            {
                QMutexLocker futureLocker(&promise.mutex());
                if (!promise.queryState(QFutureInterfaceBase::Canceled)) {
                    std::optional<T> item;
                    if (!takeLocked(item, b))
                        return;
                    // QFutureInterface<T>::reportAndMoveResult(), with its mutex already held.
                    QtPrivate::ResultStoreBase &store = promise.resultStoreBase();
                    const int before = store.count();
                    const int index = store.moveResult(-1, std::move(*item));
                    if (index != -1 && (!store.filterMode() || before < store.count()))
                        promise.reportResultsReady(index, store.count());
                    futureLocker.unlock();
                    servedGetterLocked(w, b);
                    continue;
                }
            }
            canceledGetterLocked(w, b);
        }
    }

    // --- whole operations ------------------------------------------------------------------------

    // A take that never waits; its follow-up work stays in `b` (tryGet() and forEach()).
    bool takeImpl(std::optional<T> &item, Batch &b) {
        Fast fast = popFast(item, b);
        if (fast == Fast::Done)
            return true;
        if (fast == Fast::Empty && quietRing()) {
            // Arm the notification, then look once more: a put that claimed a slot before
            // arming is counted in the ring (we wait for it to fill its slot); one after it
            // sees the arming and notifies.
            armItem();
            for (detail::Backoff backoff; ringCount() > 0; backoff.pause()) {
                fast = popFast(item, b);
                if (fast == Fast::Done)
                    return true;
                if (fast == Fast::Slow || !quietRing())
                    break;
            }
            if (fast == Fast::Empty && ringCount() == 0)
                return false;
        }
        detail::Locker locker(m_lock);
        serveGettersLocked(b);
        bool taken = !hasGettersLocked() && takeLocked(item, b);
        if (!taken && !hasGettersLocked()) {
            armItem();
            taken = takeLocked(item, b);
        }
        finishIfDrainedLocked(b);
        syncFlagsLocked();
        return taken;
    }

    PutResult tryPutImpl(T &item) {
        Batch b;
        Finisher finisher(this, b);
        for (;;) {
            const Fast fast = pushFast(item, b);
            if (fast == Fast::Done)
                return PutResult::Ok;
            if (fast == Fast::Slow || capacity() != m_ringSize)
                break; // the lock decides, and room may be behind the ring
            // Full: arm the notification, then look once more. A get that claimed a slot
            // before arming is seen now (we wait for it to empty it); one after it sees the
            // arming and notifies.
            armSpace();
            if (ringCount() >= m_ringSize)
                return PutResult::Full;
            detail::cpuRelax();
        }
        detail::Locker locker(m_lock);
        if (isClosedLocked())
            return PutResult::Closed;
        const bool accepted = putLocked(item, b);
        syncFlagsLocked();
        return accepted ? PutResult::Ok : PutResult::Full;
    }

    PutResult putBlockingImpl(T &item, QDeadlineTimer deadline) {
        Batch b;
        Finisher finisher(this, b);
        // Room is often a moment away: spin on the ring before going to sleep (unless there is
        // room behind it).
        Fast fast = pushFast(item, b);
        if (fast == Fast::Full && capacity() == m_ringSize) {
            m_putSpin.spin([&] {
                if (!roomForBurst())
                    return !quietRing();
                fast = pushFast(item, b);
                return fast != Fast::Full || !quietRing();
            });
        }
        if (fast == Fast::Done)
            return PutResult::Ok;
        detail::BlockingPutWaiter<T> w(&detail::Parker::forThisThread(), &item);
        {
            detail::Locker locker(m_lock);
            if (isClosedLocked())
                return PutResult::Closed;
            if (putLocked(item, b)) {
                syncFlagsLocked();
                return PutResult::Ok;
            }
            if (deadline.hasExpired()) {
                syncFlagsLocked();
                return PutResult::Full;
            }
            addPutterLocked(&w, b);
            beginBlockingLocked();
        }
        finish(b); // before sleeping
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

    static QFuture<T> readyFuture(T &item) {
        QFutureInterface<T> promise = detail::startedPromise<T>();
        promise.reportAndMoveResult(std::move(item));
        promise.reportFinished();
        return promise.future();
    }

    // Items behind the ring, oldest first. Guarded by m_lock.
    detail::RingBuffer<T> m_overflow;
};

} // namespace QtChannel
