// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

//
//  W A R N I N G
//  -------------
//
// This file is not part of the QtChannel API. It exists purely as an implementation detail.
// This header file may change from version to version without notice, or even be removed.
//

#include "QtChannel/channelbase.h"
#include "QtChannel/detail/anchor.h"
#include "QtChannel/detail/parker.h"
#include "itemqueue_p.h"

#include <QtCore/QList>

#include <atomic>
#include <exception>
#include <memory>

namespace QtChannel {

namespace detail {

// An intrusive doubly-linked FIFO of waiters. Guarded by the channel's lock.
class WaiterList {
public:
    Waiter *first() const noexcept { return m_first; }
    bool isEmpty() const noexcept { return m_first == nullptr; }
    qsizetype count() const noexcept { return m_count; }

    void append(Waiter *w) noexcept {
        w->prev = m_last;
        w->next = nullptr;
        (m_last ? m_last->next : m_first) = w;
        m_last = w;
        ++m_count;
    }
    void remove(Waiter *w) noexcept {
        (w->prev ? w->prev->next : m_first) = w->next;
        (w->next ? w->next->prev : m_last) = w->prev;
        w->prev = w->next = nullptr;
        --m_count;
    }

    // True when enough waiters were added since the last sweep that the list should be swept
    // for withdrawn ones: amortised O(1), and a list never holds more than twice its live
    // waiters plus a small constant.
    bool needsSweep() const noexcept { return m_count >= m_sweepAt; }
    void swept() noexcept { m_sweepAt = std::max<qsizetype>(MinSweep, 2 * m_count); }

private:
    static constexpr qsizetype MinSweep = 32;
    Waiter *m_first = nullptr;
    Waiter *m_last = nullptr;
    qsizetype m_count = 0;
    qsizetype m_sweepAt = MinSweep;
};

class ForEachRunner;

} // namespace detail

/*
 * The cold state of a channel and its slow paths: everything that waits, wakes, closes and
 * finishes, written once for every item type (the item type is known only through `ops`).
 * ChannelBase keeps inline only what the lock-free fast paths read: the ring, the
 * notification flags, and the counts the lock-free queries read.
 *
 * Threads: every member may be used from any thread. Fields say what guards them. Methods
 * named ...Locked() require `lock`. The order of the items in a channel is: `front` (items
 * given back to the head of the line), the ring, `behind` (the items that did not fit in the
 * ring), then the items of the waiting puts.
 */
class ChannelBasePrivate {
public:
    using Waiter = detail::Waiter;
    using Deferred = detail::Deferred;
    using Outcome = Waiter::Outcome;
    using Ring = detail::Ring;

    ChannelBasePrivate(ChannelBase *q, const detail::ItemOps &ops, qsizetype capacity,
                       Overflow overflow);
    ~ChannelBasePrivate();

    static ChannelBasePrivate *get(ChannelBase *q) noexcept { return q->d_func(); }
    static const ChannelBasePrivate *get(const ChannelBase *q) noexcept { return q->d_func(); }

    // --- the operations (core.cpp) ---------------------------------------------------------
    PutResult put(void *item, Deferred &d);
    bool take(Waiter &target, Deferred &d);
    detail::Queued enqueue(Waiter *w, Deferred &d);
    Outcome block(Waiter &w, detail::Parker &parker, QDeadlineTimer deadline, Deferred &d);
    qsizetype putMany(std::byte *first, qsizetype count, qsizetype &accepted, Deferred &d);
    void afterFastPut(Deferred &d);
    void afterFastTake(Deferred &d);
    bool close(std::exception_ptr reason, Deferred &d);
    qsizetype clear(Deferred &d);
    // Gives the items `holder` took back to the head of the line (a consumer withdrawn after
    // it was served); on a finished channel they can never be taken: undelivered.
    void giveBack(Waiter &holder, Deferred &d);
    // The same from outside any channel operation (a withdrawn select or coroutine, through
    // the anchor): the signals it causes are queued to the channel's thread, because the
    // caller holds the anchor's lock.
    void giveBackFromOutside(Waiter &holder, Deferred &d);
    // The owner withdraws `w`: true if it was still in its line (now unlinked).
    bool unlink(Waiter *w, std::shared_ptr<const detail::UndeliveredHandler> &handlerOut);
    void sweepWithdrawnLocked(Deferred &d);
    void syncFlagsLocked() noexcept;
    // Destruction: releases every waiter, stops forEach loops, detaches the anchor and hands
    // the items to the undelivered handler, in that order (the ChannelBase destructor).
    void destroy();
    void addRunner(std::shared_ptr<detail::ForEachRunner> runner);
    void removeRunner(detail::ForEachRunner *runner);

    // The first get in line that can still be served; withdrawn ones before it are released.
    Waiter *firstLiveGetterLocked(Deferred &d) {
        while (Waiter *g = getters.first()) {
            if (!g->isWithdrawn())
                return g;
            releaseLocked(getters, g, Outcome::Canceled, d);
        }
        return nullptr;
    }
    bool isShutDown() const noexcept { return shutDown.load(std::memory_order_acquire); }
    void flush(Deferred &d) { q->flush(d); }
    bool isClosedLocked() const noexcept { return q->m_closed.load(std::memory_order_relaxed); }
    bool isFinishedLocked() const noexcept { return q->m_finished.load(std::memory_order_relaxed); }

    // --- immutable -----------------------------------------------------------------------------
    ChannelBase *const q;
    const detail::ItemOps &ops;
    Ring &ring; // q's inline ring
    const qsizetype capacity;
    const Overflow overflow;
    detail::Anchor *const anchor; // one reference, dropped by ~ChannelBasePrivate

    // --- guarded by `lock` ---------------------------------------------------------------------
    mutable detail::Lock lock;
    detail::WaiterList getters;     // only while nothing can be taken
    detail::WaiterList putters;     // only while the channel is full (Overflow::Wait)
    detail::WaiterList joiners;     // join() futures, until the channel is finished
    detail::ItemQueue front;        // given back by withdrawn consumers: before the ring
    detail::ItemQueue behind;       // did not fit in the ring: behind it
    std::exception_ptr closeReason; // written once, before q->m_closed is published
    std::shared_ptr<const detail::UndeliveredHandler> handler;
    QList<std::shared_ptr<detail::ForEachRunner>> runners;
    bool destroyed = false; // destroy() ran (the destroying thread only)

    // --- atomics, read without the lock --------------------------------------------------------
    std::atomic<bool> shutDown{false};      // set under the lock when destruction starts
    std::atomic<qint64> dropped{0};         // written under the lock
    std::atomic<bool> droppedArmed{true};   // droppedChanged() is worth emitting
    std::atomic<int> blocked{0};            // threads inside block(): the destructor waits
    std::atomic<qsizetype> reportedSize{0}; // the size last reported by sizeChanged()
    std::atomic<int> listeners[6] = {};     // receivers per signal (connectNotify())
    std::atomic<bool> listenersUnknown{false};

private:
    friend class ChannelBase;
    struct Oldest;

    Oldest oldestLocked(const Waiter *taker, Deferred &d);
    void consumeLocked(const Oldest &o, Deferred &d);
    enum class Served : quint8 { Served, Refused, Empty };
    Served takeForLocked(Waiter *g, Deferred &d);
    enum class HandOver : quint8 { Done, NoGetter, PutterRefused };
    HandOver handToGetterLocked(void *item, Waiter *p, Deferred &d);
    PutResult acceptLocked(void *item, Waiter *p, Deferred &d, bool &refused);
    bool pushRingLocked(void *item, Waiter *p, bool &refused);
    detail::Queued enqueueLocked(Waiter *w, Deferred &d);
    void giveBackLocked(Waiter &holder, Deferred &d);
    void serveGettersLocked(Deferred &d);
    void refillLocked(Deferred &d);
    void afterTakeLocked(Deferred &d);
    void dropLocked(void *item, Deferred &d);
    bool evictOldestLocked(Deferred &d);
    void markFinishedIfDrainedLocked(Deferred &d);
    void failAllLocked(detail::WaiterList &list, Outcome outcome, Deferred &d);
    void releaseLocked(detail::WaiterList &list, Waiter *w, Outcome outcome, Deferred &d);
    detail::WaiterList &lineOf(const Waiter *w) noexcept {
        return w->side == Waiter::Side::Get ? getters
                                            : (w->side == Waiter::Side::Put ? putters : joiners);
    }
    void linkLocked(detail::WaiterList &list, Waiter *w, Deferred &d);
    void setOutsideLocked() noexcept;
    void undeliveredLocked(Deferred &d);
    qsizetype bufferedLocked() const noexcept {
        return ring.count() + front.size() + behind.size();
    }
    bool hasBacklogLocked() const noexcept { return !behind.isEmpty() || !putters.isEmpty(); }
    bool hasRoomLocked() const noexcept {
        return putters.isEmpty() && (capacity == Unbounded || bufferedLocked() < capacity);
    }
    bool behindHasRoomLocked() const noexcept {
        return capacity == Unbounded || front.size() + behind.size() < capacity - ring.slotCount();
    }
};

} // namespace QtChannel
