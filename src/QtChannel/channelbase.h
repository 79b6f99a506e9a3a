// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

#include <QtChannel/detail/itemops.h>
#include <QtChannel/detail/lock.h>
#include <QtChannel/detail/ring.h>
#include <QtChannel/detail/waiter.h>
#include <QtChannel/qtchannel_export.h>

#include <QtCore/QDeadlineTimer>
#include <QtCore/QException>
#include <QtCore/QFuture>
#include <QtCore/QObject>

#include <atomic>
#include <exception>
#include <memory>

/*!
 * \file channelbase.h
 * \brief ChannelBase, ChannelClosed, PutResult, Overflow and Unbounded. Include
 * <QtChannel/Channel>.
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
 * `waitForFinished()`, which rethrow it. A channel closed with a reason
 * (ChannelBase::close(std::exception_ptr)) fails those futures with the reason instead.
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

//! What a put does when the channel is full.
enum class Overflow {
    Wait,       //!< The put waits for room (tryPut() returns Full). The default.
    DropOldest, //!< The oldest buffered item is evicted and the put is accepted at once.
    DropNewest, //!< The put completes at once (Ok) and its item is discarded.
};

class ChannelBasePrivate;
namespace detail {
class ForEachRunner;
class Anchor;
class Parker;
} // namespace detail

/*!
 * \brief The part of a channel that does not depend on its item type: state, close(),
 * join(), signals and properties.
 *
 * You create a Channel<T> (or a pair of handles with makeChannel()), never a ChannelBase;
 * ChannelBase is what you connect to and what QML and meta-object code see (moc cannot process
 * a class template).
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
 * the same way with tryPut() returning PutResult::Full, and droppedChanged() with
 * droppedCount(). A receiver that connects while items are already waiting should drain once
 * after connecting.
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
    //! See droppedCount().
    Q_PROPERTY(qint64 dropped READ droppedCount NOTIFY droppedChanged)

public:
    /*!
     * Destroying a channel closes it. Pending put() and get() futures fail with ChannelClosed,
     * threads blocked in putBlocking()/getBlocking() return (PutResult::Closed,
     * `std::nullopt`), suspended coroutines resume (`std::nullopt`, PutResult::Closed), selects
     * lose the arms on this channel, unfinished join() and forEach() futures are canceled, and
     * buffered items are destroyed (after the undelivered handler got them, oldest first, then
     * the items of pending puts). No signal is emitted. As for any QObject, no other thread may
     * be calling a member when the destructor starts, except the waiting ones.
     */
    ~ChannelBase() override;

    /*!
     * Closes the channel: no item will be accepted any more. Thread-safe, never blocks.
     *
     * Fails every pending put (their items go to the undelivered handler, or are destroyed;
     * never enqueued) and every pending get that no buffered item can reach. Buffered items can
     * still be taken; once they are, the channel is finished. Returns true for the call that
     * closed the channel, false if it was already closed (a second close is harmless). Emits
     * closed(), and finished() if the channel was empty.
     */
    bool close();

    /*!
     * As close(), and records `reason` (only the closing call's reason counts; a null reason is
     * a plain close). Every future that fails because of this close fails with `reason`
     * instead of ChannelClosed: pending and later put()s, get()s once nothing can reach them,
     * and join() and forEach() futures once the channel is finished (after a plain close they
     * finish normally). Calls that do not return a future are unchanged (PutResult::Closed,
     * `std::nullopt`).
     */
    bool close(std::exception_ptr reason);

    //! The reason recorded by the closing call; null while open or after a plain close.
    std::exception_ptr closeReason() const;

    /*!
     * Removes every buffered item at once and returns how many; each goes to the undelivered
     * handler (or is destroyed), oldest first, outside the lock. Items of waiting puts then
     * move into the room made, as after any take. With close() before it, this is "stop now,
     * drop the queued work". Thread-safe, never blocks.
     */
    qsizetype clear();

    /*!
     * A future that finishes when the channel is finished: closed and drained, so no item will
     * ever come out again. Ready at once when it already is. Fails with the close reason if the
     * channel was closed with one. Thread-safe, never blocks; allocates one future. Canceled if
     * the channel is destroyed first.
     */
    QFuture<void> join() const;

    //! close() was called. Thread-safe, lock-free.
    bool isClosed() const noexcept { return m_closed.load(std::memory_order_acquire); }

    //! Closed and drained: no item will ever come out again. Permanent. Thread-safe, lock-free.
    bool isFinished() const noexcept { return m_finished.load(std::memory_order_acquire); }

    /*!
     * Buffered items (always 0 for a rendezvous channel), between 0 and capacity() (items
     * given back to the head of the line by a withdrawn coroutine or select may exceed it
     * briefly). Thread-safe, lock-free; while other threads put and take, it is only an
     * estimate (it may miss an item that is moving), but never below 0.
     */
    qsizetype size() const noexcept {
        // The ring first, then what waits outside it: an item moving from behind the ring into
        // it meanwhile is missed rather than counted twice.
        const qsizetype inRing = m_ring.count();
        return inRing + m_outside.load(std::memory_order_seq_cst);
    }

    //! The capacity given to the constructor: Unbounded, 0 (rendezvous) or the bound.
    qsizetype capacity() const noexcept { return m_capacity; }

    //! No buffered item. Thread-safe, lock-free.
    bool isEmpty() const noexcept { return size() == 0; }

    /*!
     * A put would have to wait (with a drop policy: the buffer is at its capacity). An
     * unbounded channel is never full; a bounded one is full at its capacity; a rendezvous
     * channel is full unless a get is waiting. Thread-safe; takes the lock for a rendezvous
     * channel.
     */
    bool isFull() const;

    //! What a put does when the channel is full (Overflow::Wait unless constructed otherwise).
    Overflow overflow() const noexcept { return m_overflow; }

    /*!
     * Items evicted or discarded by the overflow policy so far. Reading it re-arms
     * droppedChanged(). Thread-safe, lock-free.
     */
    qint64 droppedCount() const noexcept;

    /*!
     * Puts waiting for room: pending put() futures, threads blocked in putBlocking(),
     * suspended send()s and select put arms. Canceled futures count until the channel notices
     * them. For diagnostics and UIs; the value may be stale by the time it is read.
     * Thread-safe, takes the lock.
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
    //! Items were dropped by the overflow policy; `dropped` is droppedCount(). Coalesced.
    void droppedChanged(qint64 dropped);

protected:
    /*!
     * \param ops the item type's operations (Channel<T> passes its own).
     * \param capacity Unbounded, 0 for a rendezvous channel, or the bound (n ≥ 1).
     * \param overflow what a put does when the channel is full.
     * \param parent the QObject parent.
     * \throws std::invalid_argument for any other negative capacity, or a drop policy with a
     * capacity below 1.
     */
    ChannelBase(const detail::ItemOps &ops, qsizetype capacity, Overflow overflow, QObject *parent);

    /// \cond INTERNAL
    // The untyped core Channel<T> is built on (docs/design.md, "The shape of the core"). Its
    // fast paths use m_ring and the notification flags inline; everything else is here, in
    // channelbase.cpp and core.cpp. `item` arguments point to a T.
    using Deferred = detail::Deferred;
    using Waiter = detail::Waiter;

    // A put that found the ring full, closed or flagged: the lock decides. Moves from `item`
    // only on Ok. With a drop policy it never returns Full.
    PutResult putSlow(void *item, Deferred &d);
    // A take that found nothing in the ring, or a flag: hands the oldest item to `target`
    // (accept()), or re-arms itemAvailable() and returns false.
    bool takeSlow(Waiter &target, Deferred &d);
    // A waiter that has to wait: serves it at once if it can, else adds it to its line.
    using Queued = detail::Queued;
    Queued enqueue(Waiter *w, Deferred &d);
    // Blocks the calling thread until `w` (on its stack) is served or the deadline passes:
    // enqueue(), flush, park. Returns w's outcome, Pending when the deadline passed first.
    Waiter::Outcome block(Waiter &w, detail::Parker &parker, QDeadlineTimer deadline, Deferred &d);
    // Up to `max` items (a batch), the lock deciding; appends through `target`.
    qsizetype takeManySlow(Waiter &target, Deferred &d);
    // Puts the items [first + accepted, first + count) (each ItemOps::size apart) that fit
    // now, in order; `accepted` counts the ones moved from (also when a move throws).
    qsizetype putManySlow(std::byte *first, qsizetype count, qsizetype &accepted, Deferred &d);
    // A fast put or get read these flags after its compare-and-swap: the lock must follow up.
    void afterFastPut(Deferred &d);
    void afterFastTake(Deferred &d);
    // Calls append(list, item) for each buffered item, oldest first, the ring held still.
    void snapshotInto(void (*append)(void *list, const void *item), void *list) const;
    void setUndeliveredHandler(detail::UndeliveredHandler handler);
    detail::Anchor *anchor() const noexcept;
    // The destructor's work (see ~ChannelBase()), done by ~Channel<T>() while the object is
    // still one: consumers in other threads call its typed members until they are stopped.
    // Runs once.
    void destroyChannel();

    // Runs the deferred work: wakes waiters, hands undelivered items over, completes futures,
    // emits the signals that have receivers. Inline: usually there is nothing to do.
    void flush(Deferred &d) {
        d.events &= m_listened.load(std::memory_order_relaxed);
        if (!d.isEmpty())
            flushSlow(d);
    }
    // Runs flush() when it goes out of scope, after the lock (declared after it) was released,
    // also when an exception leaves the operation.
    class Flusher {
    public:
        Flusher(ChannelBase *channel, Deferred &d) noexcept
            : m_channel(channel)
            , m_deferred(d) {}
        ~Flusher() {
            // Not a touch of the channel when there is nothing to do: a thread woken from
            // block() may find the channel destroyed.
            if (!m_deferred.isEmpty())
                m_channel->flush(m_deferred);
        }
        Flusher(const Flusher &) = delete;
        Flusher &operator=(const Flusher &) = delete;

    private:
        ChannelBase *m_channel;
        Deferred &m_deferred;
    };

    // Notifications, from the fast paths (see the class documentation). `armed` is the flag as
    // read right after the fast path's compare-and-swap.
    void armItem() noexcept { m_itemArmed.store(true, std::memory_order_seq_cst); }
    void armSpace() noexcept { m_spaceArmed.store(true, std::memory_order_seq_cst); }
    void itemArrived(Deferred &d, bool armed) noexcept {
        if (armed && m_itemArmed.exchange(false, std::memory_order_seq_cst))
            d.events |= Deferred::ItemAvailable;
    }
    void spaceMade(Deferred &d, bool armed) noexcept {
        if (armed && m_capacity != Unbounded &&
            m_spaceArmed.exchange(false, std::memory_order_seq_cst))
            d.events |= Deferred::SpaceAvailable;
    }
    bool itemArmed() const noexcept { return m_itemArmed.load(std::memory_order_seq_cst); }
    bool spaceArmed() const noexcept { return m_spaceArmed.load(std::memory_order_seq_cst); }

    // True when the fast paths alone decide: a ring, nothing waits, the channel is open.
    bool quietRing() const noexcept { return m_ring.exists() && m_ring.flags() == 0; }

    // The lock-free ring (Channel<T>'s fast paths) and what they read beside it.
    detail::Ring m_ring;
    // How long a get / a put spins before it sleeps (see detail::AdaptiveSpin).
    detail::AdaptiveSpin m_getSpin{true};
    detail::AdaptiveSpin m_putSpin{true};
    /// \endcond

private:
    Q_DECLARE_PRIVATE_D(m_d, ChannelBase)
    friend class ChannelBasePrivate;

    void flushSlow(Deferred &d);
    void emitEvents(quint8 events);
    void connectNotify(const QMetaMethod &signal) override;
    void disconnectNotify(const QMetaMethod &signal) override;

    const std::unique_ptr<ChannelBasePrivate> m_d;
    const qsizetype m_capacity;
    const Overflow m_overflow;
    // Which signals have receivers (Deferred::Event bits): a signal nobody receives is not
    // emitted, so sizeChanged() costs nothing on every put and get unless somebody listens.
    std::atomic<quint8> m_listened{0};
    // Notifications' line: written when a side finds nothing, or announces something.
    alignas(64) std::atomic<bool> m_itemArmed{true};
    std::atomic<bool> m_spaceArmed{true};
    // Written under the lock, read without it by size() and the state queries.
    alignas(64) std::atomic<qsizetype> m_outside{0}; // items before and behind the ring
    std::atomic<bool> m_closed{false};
    std::atomic<bool> m_finished{false};
};

} // namespace QtChannel
