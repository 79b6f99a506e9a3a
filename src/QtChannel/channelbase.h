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

    //! Buffered items (always 0 for a rendezvous channel). Thread-safe, lock-free.
    qsizetype size() const noexcept { return m_size.load(std::memory_order_relaxed); }

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
     * \throws std::invalid_argument for any other negative value.
     */
    explicit ChannelBase(qsizetype capacity, QObject *parent = nullptr);

    /// \cond INTERNAL
    // The machinery Channel<T> is built from. Members named ...Locked() require m_lock.
    using Waiter = detail::Waiter;
    using Batch = detail::Batch;
    using Outcome = detail::Waiter::Outcome;

    bool hasRoomLocked(qsizetype buffered) const noexcept {
        return m_capacity == Unbounded || buffered < m_capacity;
    }
    bool isClosedLocked() const noexcept { return m_closed.load(std::memory_order_relaxed); }
    bool isFinishedLocked() const noexcept { return m_finished.load(std::memory_order_relaxed); }

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
    // A get future canceled just as an item was handed to it.
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

    // A take found nothing / a put found no room: the next arrival is worth a signal.
    void nothingToTakeLocked() noexcept { m_itemArmed = true; }
    void noRoomLocked() noexcept { m_spaceArmed = true; }

    // The buffer now holds `buffered` items: updates size(), signals, and finished.
    void bufferChangedLocked(qsizetype buffered, Batch &b) noexcept {
        const qsizetype old = m_size.load(std::memory_order_relaxed);
        if (buffered == old)
            return;
        m_size.store(buffered, std::memory_order_relaxed);
        b.events |= Batch::SizeChanged;
        if (buffered > old) {
            if (m_itemArmed) {
                m_itemArmed = false;
                b.events |= Batch::ItemAvailable;
            }
        } else {
            if (m_spaceArmed && m_capacity != Unbounded) {
                m_spaceArmed = false;
                b.events |= Batch::SpaceAvailable;
            }
            if (buffered == 0 && isClosedLocked())
                finishLocked(b);
        }
    }

    // Blocks the calling thread (whose waiter `w` was added under the lock, with
    // beginBlockingLocked()) until w is settled or the deadline passes. Returns w's outcome, or
    // Outcome::Pending when the deadline passed first (w is then withdrawn).
    Outcome block(Waiter &w, bool isGetter, QDeadlineTimer deadline);
    void beginBlockingLocked() noexcept { m_blocked.fetch_add(1, std::memory_order_relaxed); }

    // After unlocking: settles the waiters, finishes join() futures, emits the signals.
    void finish(Batch &b) {
        if (!b.isEmpty())
            finishSlow(b);
    }
    // The part of finish() that runs no user code: unparks blocked threads.
    static void wakeBlocked(Batch &b) noexcept;
    // The part of finish() that does not need the channel: settles futures and joiners.
    static void settle(Batch &b);
    void emitEvents(quint8 events);

    // Destruction: Channel<T>'s destructor calls these before its buffer goes.
    void shutdownLocked(Batch &b);
    void completeShutdown(Batch &b);

    void addRunner(std::shared_ptr<detail::ForEachRunner> runner);
    void removeRunner(detail::ForEachRunner *runner);

    mutable detail::Lock m_lock;
    /// \endcond

private:
    friend class detail::ForEachRunner;

    Waiter *firstLiveLocked(detail::WaiterList &list, Batch &b);
    void sweepLocked(detail::WaiterList &list, Batch &b);
    void failAllLocked(detail::WaiterList &list, Outcome outcome, Batch &b);
    void finishLocked(Batch &b);
    void finishSlow(Batch &b);

    const qsizetype m_capacity;
    // Written under m_lock; also read without it by the lock-free queries.
    std::atomic<qsizetype> m_size{0};
    std::atomic<bool> m_closed{false};
    std::atomic<bool> m_finished{false};
    // Threads inside block(): the destructor waits for them to leave.
    std::atomic<int> m_blocked{0};

    // Guarded by m_lock.
    detail::WaiterList m_getters; // non-empty only while the buffer is empty
    detail::WaiterList m_putters; // non-empty only while the buffer is full
    mutable QList<QFutureInterface<void>> m_joiners;
    QList<std::shared_ptr<detail::ForEachRunner>> m_runners;
    bool m_itemArmed = true;
    bool m_spaceArmed = true;
    // Set under m_lock when destruction starts; read by forEach runners to tell "finished"
    // from "destroyed".
    std::atomic<bool> m_shutDown{false};
};

} // namespace QtChannel
