// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

#include <QtChannel/detail/lock.h>
#include <QtChannel/detail/waiter.h>
#include <QtChannel/qtchannel_export.h>

#include <QtCore/QException>
#include <QtCore/QFuture>
#include <QtCore/QObject>

#include <atomic>
#include <exception>
#include <memory>

/*!
 * \file channelbase.h
 * \brief ChannelBase, ChannelClosed, PutResult and Unbounded. Include <QtChannel/Channel>.
 */

//! Everything QtChannel offers.
namespace QtChannel {

//! The capacity of a channel without a bound: puts never wait and tryPut() is never Full.
inline constexpr qsizetype Unbounded = -1;

/*!
 * \brief What a put() or get() future fails with when the channel is closed.
 *
 * A put() future fails with it when the channel was closed before the item was accepted; a
 * get() future fails with it once the channel is closed and no item can ever reach it. Catch it
 * with `.onFailed([](const QtChannel::ChannelClosed &) { ... })`, or from `result()` and
 * `waitForFinished()`, which rethrow it.
 *
 * As for every failed QFuture, `isCanceled()` is also true on such a future (Qt 6.4).
 */
class QTCHANNEL_EXPORT ChannelClosed : public QException {
public:
    void raise() const override;
    ChannelClosed *clone() const override;
    const char *what() const noexcept override;
};

//! The outcome of tryPut() and putBlocking().
enum class PutResult {
    Ok,     //!< The item is in the channel (or was handed to a waiting get).
    Full,   //!< No room (tryPut), or the deadline passed (putBlocking). The item is untouched.
    Closed, //!< The channel is closed. The item is untouched. Wins over Full.
};

namespace detail {
class ForEachRunner;
QTCHANNEL_EXPORT std::exception_ptr closedError();
} // namespace detail

/*!
 * \brief The part of a channel that does not depend on its item type: state, close(),
 * join(), signals and properties.
 *
 * You create a Channel<T>, never a ChannelBase; ChannelBase is what you connect to and what
 * QML and meta-object code see (moc cannot process a class template).
 *
 * Every member is thread-safe: it may be called from any thread at the same time as any
 * other. Signals are emitted by the thread whose call caused them, after the channel's lock
 * is released, so a slot may call back into the channel. Receivers in other threads get them
 * queued, by Qt's usual rules.
 *
 * \par Notifications are coalesced, never lost
 * itemAvailable() is emitted when an item becomes available while the channel is *armed*;
 * emitting disarms it, and any take that finds nothing (tryGet() returning `std::nullopt`, a
 * get() or getBlocking() that has to wait) re-arms it. So a slot that takes items with tryGet()
 * until it gets `std::nullopt` sees every item, and a producer thread cannot flood a receiver's
 * event queue: between two drains there is at most one notification. spaceAvailable() works
 * the same way with tryPut() returning PutResult::Full. A receiver that connects while items
 * are already waiting should drain once after connecting.
 */
class QTCHANNEL_EXPORT ChannelBase : public QObject {
    Q_OBJECT
    //! Buffered items; see size().
    Q_PROPERTY(qsizetype size READ size NOTIFY sizeChanged)
    //! See capacity().
    Q_PROPERTY(qsizetype capacity READ capacity CONSTANT)
    //! See isClosed().
    Q_PROPERTY(bool closed READ isClosed NOTIFY closed)
    //! See isFinished().
    Q_PROPERTY(bool finished READ isFinished NOTIFY finished)

public:
    /*!
     * Destroying a channel closes it. Pending put() and get() futures fail with ChannelClosed,
     * threads blocked in putBlocking()/getBlocking() return (PutResult::Closed,
     * `std::nullopt`), unfinished join() and forEach() futures are canceled, and buffered items
     * are destroyed. No signal is emitted. As for any QObject, no other thread may be calling a
     * member when the destructor starts, except the blocked ones.
     */
    ~ChannelBase() override;

    /*!
     * Closes the channel: no item will be accepted any more. Thread-safe, never blocks.
     *
     * Fails every pending put (their items are destroyed, not enqueued) and every pending get
     * that no buffered item can reach. Buffered items can still be taken; once they are, the
     * channel is finished. Returns true for the call that closed the channel, false if it was
     * already closed (a second close is harmless). Emits closed(), and finished() if the
     * channel was empty.
     */
    bool close();

    /*!
     * A future that finishes when the channel is finished: closed and drained, so no item will
     * ever come out again. Ready at once when it already is. Thread-safe, never blocks;
     * allocates one future. Canceled if the channel is destroyed first.
     */
    QFuture<void> join() const;

    //! close() was called. Thread-safe, lock-free.
    bool isClosed() const noexcept { return m_closed.load(std::memory_order_acquire); }

    //! Closed and drained: no item will ever come out again. Permanent. Thread-safe, lock-free.
    bool isFinished() const noexcept { return m_finished.load(std::memory_order_acquire); }

    /*!
     * Buffered items (always 0 for a rendezvous channel), between 0 and capacity(). Thread-safe,
     * lock-free; while other threads put and take, it is only an estimate (it may miss an item
     * that is moving), but never outside that range.
     */
    qsizetype size() const noexcept {
        // The ring first, then what waits behind it: an item moving from behind the ring into it
        // meanwhile is missed rather than counted twice.
        const qsizetype inRing = ringCount();
        return inRing + m_overflowCount.load(std::memory_order_seq_cst);
    }

    //! The capacity given to the constructor: Unbounded, 0 (rendezvous) or the bound.
    qsizetype capacity() const noexcept { return m_capacity; }

    //! No buffered item. Thread-safe, lock-free.
    bool isEmpty() const noexcept { return size() == 0; }

    /*!
     * A put would have to wait. An unbounded channel is never full; a bounded one is full at
     * its capacity; a rendezvous channel is full unless a get is waiting. Thread-safe; takes
     * the lock for a rendezvous channel.
     */
    bool isFull() const;

    /*!
     * Puts waiting for room: pending put() futures and threads blocked in putBlocking().
     * Canceled futures count until the channel notices them (see put()). For diagnostics and
     * UIs; the value may be stale by the time it is read. Thread-safe, takes the lock.
     */
    qsizetype pendingPuts() const;

    //! Gets waiting for an item, counted as pendingPuts() counts puts.
    qsizetype pendingGets() const;

Q_SIGNALS:
    //! An item became available to take (rendezvous: a put started waiting). Coalesced.
    void itemAvailable();
    //! Room became available to put (rendezvous: a get started waiting). Coalesced.
    void spaceAvailable();
    //! The number of buffered items changed; `size` is its value when the signal was emitted.
    void sizeChanged(qsizetype size);
    //! Emitted once, by the first close().
    void closed();
    //! Emitted once, when the channel is closed and drained (at once if empty when closed).
    void finished();

protected:
    /*!
     * \param capacity Unbounded, 0 for a rendezvous channel, or the bound (n ≥ 1).
     * \param ringSize slots of the lock-free ring Channel<T> uses for its fast path (0: none).
     * \param parent the QObject parent.
     * \throws std::invalid_argument for any other negative capacity.
     */
    ChannelBase(qsizetype capacity, qsizetype ringSize, QObject *parent);

    /// \cond INTERNAL
    // The machinery Channel<T> is built from; docs/design.md explains it. Members named
    // ...Locked() require m_lock.
    using Waiter = detail::Waiter;
    using Batch = detail::Batch;
    using Outcome = detail::Waiter::Outcome;

    // --- the ring's indices ------------------------------------------------------------------
    // m_tail and m_head count the tickets of the ring's slots (the low 62 bits) and carry
    // flags that make the lock-free fast paths fail their compare-and-swap and take the lock:
    // WaitBit in m_head while gets wait (so that they are served first), in m_tail while
    // items or puts wait behind the ring (so that new puts queue behind them); ClosedBit in
    // m_tail once closed. m_flags mirrors them in a rarely written word that each side reads
    // after its own compare-and-swap.
    static constexpr quint64 TicketMask = (quint64(1) << 62) - 1;
    static constexpr quint64 ClosedBit = quint64(1) << 62;
    static constexpr quint64 WaitBit = quint64(1) << 63;
    enum Flag : quint32 { GetsWaiting = 1, Backlog = 2, ClosedFlag = 4 };

    static constexpr quint64 ticketOf(quint64 word) noexcept { return word & TicketMask; }
    // Items in the ring, counting puts that claimed a slot and have not yet filled it. The tail
    // is read first: tail - head never exceeds the ring size at any instant, and the head only
    // grows, so an older tail minus a newer head stays within it too (the other order could
    // return more than the capacity).
    qsizetype ringCount() const noexcept {
        const quint64 tail = ticketOf(m_tail.load(std::memory_order_seq_cst));
        const quint64 head = ticketOf(m_head.load(std::memory_order_seq_cst));
        return tail > head ? qsizetype(tail - head) : 0;
    }
    qsizetype ringSlot(quint64 ticket) const noexcept {
        return qsizetype(m_ringPow2 ? (ticket & m_ringMask) : (ticket % quint64(m_ringSize)));
    }

    // Sets or clears the flags that send the fast paths to the lock. Setting comes before the
    // caller's last look at the ring (so a fast operation either sees the flag or is seen);
    // syncFlagsLocked() clears what is no longer true.
    void announceGetsWaitingLocked() noexcept;
    void announceBacklogLocked() noexcept;
    void syncFlagsLocked() noexcept;

    bool isClosedLocked() const noexcept { return m_closed.load(std::memory_order_relaxed); }
    bool isFinishedLocked() const noexcept { return m_finished.load(std::memory_order_relaxed); }
    bool hasBacklogLocked() const noexcept {
        return m_overflowCount.load(std::memory_order_relaxed) > 0 || !m_putters.isEmpty();
    }
    // A put could be accepted now: no put waits, and the channel is below its capacity.
    bool hasRoomLocked() const noexcept {
        return m_putters.isEmpty() && (m_capacity == Unbounded || size() < m_capacity);
    }
    // Room behind the ring for accepted items.
    bool overflowHasRoomLocked() const noexcept {
        return m_capacity == Unbounded ||
               m_overflowCount.load(std::memory_order_relaxed) < m_capacity - m_ringSize;
    }
    void setOverflowCountLocked(qsizetype n) noexcept {
        m_overflowCount.store(n, std::memory_order_relaxed);
    }

    // The first pending get/put that was not canceled; canceled ones are unlinked into `b`.
    Waiter *firstGetterLocked(Batch &b) {
        return m_getters.isEmpty() ? nullptr : firstLiveLocked(m_getters, b);
    }
    Waiter *firstPutterLocked(Batch &b) {
        return m_putters.isEmpty() ? nullptr : firstLiveLocked(m_putters, b);
    }
    bool hasGettersLocked() const noexcept { return !m_getters.isEmpty(); }
    bool hasPuttersLocked() const noexcept { return !m_putters.isEmpty(); }

    void servedGetterLocked(Waiter *w, Batch &b) noexcept {
        m_getters.remove(w);
        b.settle(w, Outcome::Done);
    }
    void servedPutterLocked(Waiter *w, Batch &b) noexcept {
        m_putters.remove(w);
        b.settle(w, Outcome::Done);
    }
    void canceledGetterLocked(Waiter *w, Batch &b) noexcept {
        m_getters.remove(w);
        b.settle(w, Outcome::Canceled);
    }
    // Moving a pending put's item threw: that put fails with the exception.
    void failedPutterLocked(Waiter *w, std::exception_ptr error, Batch &b) noexcept {
        m_putters.remove(w);
        w->error = std::move(error);
        b.settle(w, Outcome::Failed);
    }
    void addGetterLocked(Waiter *w, Batch &b);
    void addPutterLocked(Waiter *w, Batch &b);

    // --- notifications (see the class documentation) ----------------------------------------
    // A take found nothing / a put found no room: the next arrival is worth a signal.
    void armItem() noexcept { m_itemArmed.store(true, std::memory_order_seq_cst); }
    void armSpace() noexcept { m_spaceArmed.store(true, std::memory_order_seq_cst); }
    // An item / room became available; `seen` is the armed flag as read after the fast path's
    // compare-and-swap (true from slow paths), which spares the shared write when disarmed.
    void itemArrived(Batch &b, bool seen = true) noexcept {
        if (seen && m_itemArmed.load(std::memory_order_relaxed) &&
            m_itemArmed.exchange(false, std::memory_order_seq_cst))
            b.events |= Batch::ItemAvailable;
    }
    void spaceMade(Batch &b, bool seen = true) noexcept {
        if (seen && m_capacity != Unbounded && m_spaceArmed.load(std::memory_order_relaxed) &&
            m_spaceArmed.exchange(false, std::memory_order_seq_cst))
            b.events |= Batch::SpaceAvailable;
    }

    // Finishes the channel if it is closed and nothing is left in it.
    void finishIfDrainedLocked(Batch &b);

    // Blocks the calling thread (whose waiter `w` was added under the lock, with
    // beginBlockingLocked()) until w is settled or the deadline passes. Returns w's outcome, or
    // Outcome::Pending when the deadline passed first (w is then withdrawn).
    Outcome block(Waiter &w, bool isGetter, QDeadlineTimer deadline);
    void beginBlockingLocked() noexcept { m_blocked.fetch_add(1, std::memory_order_relaxed); }

    // After unlocking: settles the waiters, finishes join() futures, emits the signals that
    // have receivers. Inline: the common operation settles nothing and nobody listens.
    void finish(Batch &b) {
        b.events &= m_listened.load(std::memory_order_relaxed);
        if (!b.isEmpty())
            finishSlow(b);
    }
    // Runs finish() when it goes out of scope, after the lock (declared after it) was released,
    // also when an exception leaves the operation: no waiter is ever left unsettled.
    class Finisher {
    public:
        Finisher(ChannelBase *channel, Batch &b) noexcept
            : m_channel(channel)
            , m_batch(b) {}
        ~Finisher() {
            // Not a touch of the channel when there is nothing left to finish: a thread woken
            // from block() may find the channel destroyed.
            if (!m_batch.isEmpty())
                m_channel->finish(m_batch);
        }
        Finisher(const Finisher &) = delete;
        Finisher &operator=(const Finisher &) = delete;

    private:
        ChannelBase *m_channel;
        Batch &m_batch;
    };
    // The part of finish() that runs no user code: unparks blocked threads.
    static void wakeBlocked(Batch &b) noexcept;
    // The part of finish() that does not need the channel: settles futures and joiners.
    static void settle(Batch &b);
    void emitEvents(quint8 events);

    // Channel<T> serves waiting gets from what is buffered, before close() fails the rest.
    virtual void serveGettersLocked(Batch &b) = 0;

    // Destruction: Channel<T>'s destructor calls these before its storage goes.
    void shutdownLocked(Batch &b);
    void completeShutdown(Batch &b);

    void connectNotify(const QMetaMethod &signal) override;
    void disconnectNotify(const QMetaMethod &signal) override;

    void addRunner(std::shared_ptr<detail::ForEachRunner> runner);
    void removeRunner(detail::ForEachRunner *runner);

    // Producers' line. (mutable: snapshot() freezes the ring by setting the wait bits)
    alignas(64) mutable std::atomic<quint64> m_tail{0};
    // Consumers' line.
    alignas(64) mutable std::atomic<quint64> m_head{0};
    // Read-mostly line: the ring's shape and the flags.
    alignas(64) std::atomic<void *> m_cells{nullptr}; // Channel<T>'s slots, allocated on first use
    const qsizetype m_capacity;
    const qsizetype m_ringSize;
    const quint64 m_ringMask;
    const bool m_ringPow2;
    std::atomic<quint32> m_flags{0};
    // Which signals have receivers (Batch::Event bits), kept by connectNotify() and
    // disconnectNotify(), which QML bindings call too. A signal nobody receives is not emitted:
    // sizeChanged() would otherwise cost a QMetaObject::activate() on every put and get.
    // All bits stay set once a disconnect-all left the counts unknown.
    std::atomic<quint8> m_listened{0};
    // Notifications' line: written when a side finds nothing, or announces something.
    alignas(64) std::atomic<bool> m_itemArmed{true};
    std::atomic<bool> m_spaceArmed{true};
    // Slow paths' line.
    alignas(64) mutable detail::Lock m_lock;
    // How long a get / a put spins before it sleeps (see detail::AdaptiveSpin).
    detail::AdaptiveSpin m_getSpin{true};
    detail::AdaptiveSpin m_putSpin{true};
    /// \endcond

private:
    friend class detail::ForEachRunner;

    Waiter *firstLiveLocked(detail::WaiterList &list, Batch &b);
    void sweepLocked(detail::WaiterList &list, Batch &b);
    void failAllLocked(detail::WaiterList &list, Outcome outcome, Batch &b);
    void finishLocked(Batch &b);
    void finishSlow(Batch &b);

    // Written under m_lock; also read without it by the lock-free queries.
    std::atomic<qsizetype> m_overflowCount{0}; // Channel<T>'s items behind the ring
    std::atomic<bool> m_closed{false};
    std::atomic<bool> m_finished{false};
    // Threads inside block(): the destructor waits for them to leave.
    std::atomic<int> m_blocked{0};
    // The size last reported by sizeChanged(): a change that is undone within one operation
    // (a get that makes room for a waiting put) is not reported.
    std::atomic<qsizetype> m_reportedSize{0};
    std::atomic<int> m_listeners[5] = {};
    std::atomic<bool> m_listenersUnknown{false};

    // Guarded by m_lock.
    detail::WaiterList m_getters; // only while nothing is buffered
    detail::WaiterList m_putters; // only while the channel is full
    mutable QList<QFutureInterface<void>> m_joiners;
    QList<std::shared_ptr<detail::ForEachRunner>> m_runners;
    // Set under m_lock when destruction starts; read by forEach runners to tell "finished"
    // from "destroyed".
    std::atomic<bool> m_shutDown{false};
};

} // namespace QtChannel
