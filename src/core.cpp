// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// The slow paths of every channel, for every item type: waiting, serving, refilling, closing,
// dropping and destroying. docs/design.md explains the rules; the comments here say why each
// step is where it is.

#include "channelbase_p.h"

#include "QtChannel/detail/foreach.h"
#include "QtChannel/detail/parker.h"

#include <QtCore/QScopeGuard>
#include <QtCore/QThread>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

namespace QtChannel {

using detail::Deferred;
using detail::Waiter;
using Outcome = Waiter::Outcome;

// Where the oldest item of the channel is, for a given taker.
struct ChannelBasePrivate::Oldest {
    enum Source : quint8 { None, Front, InRing, Behind, Putter } source = None;
    void *item = nullptr;
    std::byte *cell = nullptr; // InRing
    Waiter *putter = nullptr;  // Putter
};

// --- bookkeeping -----------------------------------------------------------------------------

void ChannelBasePrivate::setOutsideLocked() noexcept {
    q->m_outside.store(front.size() + behind.size(), std::memory_order_relaxed);
}

// Clears the ring's flags that are no longer true. Raising them is done where the reason
// appears, before the last look at the ring.
void ChannelBasePrivate::syncFlagsLocked() noexcept {
    const quint32 flags = ring.flags();
    if (!flags)
        return;
    quint32 clear = 0;
    if ((flags & Ring::GetsWaiting) && getters.isEmpty())
        clear |= Ring::GetsWaiting;
    if ((flags & Ring::Backlog) && !hasBacklogLocked())
        clear |= Ring::Backlog;
    if ((flags & Ring::HeadHeld) && front.isEmpty())
        clear |= Ring::HeadHeld;
    ring.lowerLocked(clear);
}

void ChannelBasePrivate::undeliveredLocked(Deferred &d) {
    if (handler && !d.completion.handler)
        d.completion.handler = handler;
}

void ChannelBasePrivate::releaseLocked(detail::WaiterList &list, Waiter *w, Outcome outcome,
                                       Deferred &d) {
    list.remove(w);
    if (outcome == Outcome::Closed && closeReason && !d.completion.reason)
        d.completion.reason = closeReason;
    if (w->side == Waiter::Side::Put && outcome != Outcome::Done)
        undeliveredLocked(d);
    d.release(w, outcome);
}

void ChannelBasePrivate::failAllLocked(detail::WaiterList &list, Outcome outcome, Deferred &d) {
    while (Waiter *w = list.first())
        releaseLocked(list, w, w->isWithdrawn() ? Outcome::Canceled : outcome, d);
}

// Unlinks withdrawn futures from anywhere in a line. Called when the line has doubled since
// the last sweep, so a loop that creates and cancels gets without any put never grows it.
void ChannelBasePrivate::sweepWithdrawnLocked(Deferred &d) {
    for (detail::WaiterList *list : {&getters, &putters, &joiners}) {
        for (Waiter *w = list->first(); w;) {
            Waiter *next = w->next;
            if (w->isWithdrawn())
                releaseLocked(*list, w, Outcome::Canceled, d);
            w = next;
        }
        list->swept();
    }
}

void ChannelBasePrivate::linkLocked(detail::WaiterList &list, Waiter *w, Deferred &d) {
    if (list.needsSweep())
        sweepWithdrawnLocked(d);
    list.append(w);
}

void ChannelBasePrivate::markFinishedIfDrainedLocked(Deferred &d) {
    if (!isClosedLocked() || isFinishedLocked() || ring.count() != 0 || !front.isEmpty() ||
        !behind.isEmpty())
        return;
    q->m_finished.store(true, std::memory_order_release);
    d.events |= Deferred::Finished;
    if (closeReason && !d.completion.reason)
        d.completion.reason = closeReason;
    while (Waiter *w = joiners.first()) {
        joiners.remove(w);
        d.release(w, w->isWithdrawn() ? Outcome::Canceled : Outcome::Done);
    }
}

// --- where the oldest item is --------------------------------------------------------------

// The oldest item `taker` may take: given back, in the ring (the head held, so that nothing
// else takes it before the taker commits), behind the ring, or, when nothing is buffered, a
// waiting put's (never one of the taker's own select).
ChannelBasePrivate::Oldest ChannelBasePrivate::oldestLocked(const Waiter *taker, Deferred &d) {
    if (!front.isEmpty())
        return {Oldest::Front, front.front(), nullptr, nullptr};
    if (ring.count() > 0) {
        // Hold the head: from now on only the lock moves it, so the item stays first until
        // the taker has committed (or refused).
        ring.holdHeadLocked();
        if (std::byte *cell = ring.peekLocked(ring.cells()))
            return {Oldest::InRing, ring.itemOf(cell), cell, nullptr};
    }
    if (!behind.isEmpty())
        return {Oldest::Behind, behind.front(), nullptr, nullptr};
    const void *group = taker ? taker->group() : nullptr;
    for (Waiter *p = putters.first(); p;) {
        Waiter *next = p->next;
        if (p->isWithdrawn())
            releaseLocked(putters, p, Outcome::Canceled, d);
        else if (!group || p->group() != group)
            return {Oldest::Putter, p->item, nullptr, p};
        p = next;
    }
    return {};
}

// After the item of `o` was moved out: removes it from where it was.
void ChannelBasePrivate::consumeLocked(const Oldest &o, Deferred &d) {
    switch (o.source) {
    case Oldest::Front:
        front.popFront();
        setOutsideLocked();
        break;
    case Oldest::InRing:
        ops.destroy(o.item);
        ring.popLocked(o.cell);
        break;
    case Oldest::Behind:
        behind.popFront();
        setOutsideLocked();
        break;
    case Oldest::Putter:
        releaseLocked(putters, o.putter, Outcome::Done, d);
        break;
    case Oldest::None:
        break;
    }
}

// After items were taken from the buffer: what waits behind moves up, and room is announced.
void ChannelBasePrivate::afterTakeLocked(Deferred &d) {
    d.events |= Deferred::SizeChanged;
    if (hasBacklogLocked())
        refillLocked(d);
    if (hasRoomLocked())
        q->spaceMade(d, true);
    markFinishedIfDrainedLocked(d);
}

// --- taking ----------------------------------------------------------------------------------

// Hands the oldest items to the get `g` (in the getters' line, or arriving now): one, or a
// batch while g wants more; nothing if it refuses. g and a waiting put are both reserved before
// anything moves, two selects in the order of their addresses (see Waiter::group()). A transfer
// that throws leaves the item where it was and the exception goes to the caller, except for a
// waiting put's item, whose put fails with it (its item could never move) while the take goes
// on with the next one. A batch that took items and then throws gives them back first.
ChannelBasePrivate::Served ChannelBasePrivate::takeForLocked(Waiter *g, Deferred &d) {
    qsizetype taken = 0;
    bool reserved = false;
    bool fromBuffer = false;
    for (;;) {
        const Oldest o = oldestLocked(g, d);
        if (o.source == Oldest::None)
            break;
        Waiter *p = o.putter;
        if (!reserved) {
            const bool putterFirst = p && p->group() && g->group() && p->group() < g->group();
            if (putterFirst && !p->reserve()) {
                releaseLocked(putters, p, Outcome::Canceled, d);
                continue;
            }
            if (!g->reserve()) {
                if (putterFirst)
                    p->finish(false);
                return Served::Refused;
            }
            if (p && !putterFirst && !p->reserve()) {
                g->finish(false);
                releaseLocked(putters, p, Outcome::Canceled, d);
                continue;
            }
            reserved = true;
        } else if (p && !p->reserve()) {
            releaseLocked(putters, p, Outcome::Canceled, d);
            continue;
        }
        bool accepted;
        try {
            accepted = g->accept(o.item);
        } catch (...) {
            if (p) {
                // The waiting put's item cannot move: that put fails, the take goes on.
                p->error = std::current_exception();
                p->finish(true);
                releaseLocked(putters, p, Outcome::Failed, d);
                if (taken == 0) {
                    g->finish(false);
                    reserved = false;
                }
                continue;
            }
            g->finish(false);
            if (taken > 0)
                giveBackLocked(*g, d);
            throw;
        }
        if (!accepted) { // a future canceled since reserve(): only ever its first item
            if (p)
                p->finish(false);
            g->finish(false);
            return Served::Refused;
        }
        if (p) {
            p->finish(true);
            releaseLocked(putters, p, Outcome::Done, d);
        } else {
            consumeLocked(o, d);
            fromBuffer = true;
        }
        ++taken;
        if (!g->wantsMore())
            break;
        if (fromBuffer && hasBacklogLocked())
            refillLocked(d); // the room just made lets waiting puts' items in: they come next
    }
    if (taken == 0) {
        if (reserved)
            g->finish(false);
        return Served::Empty;
    }
    if (!g->finish(true)) {
        // A batch whose future was canceled meanwhile: its items go back to the head.
        giveBackLocked(*g, d);
        return Served::Refused;
    }
    if (fromBuffer)
        afterTakeLocked(d);
    return Served::Served;
}

// Hands buffered items to the gets that wait, oldest first. A get that can take nothing only
// because the one waiting put is its own select's (a select with both arms on this channel)
// lets the gets behind it try.
void ChannelBasePrivate::serveGettersLocked(Deferred &d) {
    for (Waiter *g = getters.first(); g;) {
        Waiter *next = g->next;
        if (g->isWithdrawn()) {
            releaseLocked(getters, g, Outcome::Canceled, d);
        } else {
            switch (takeForLocked(g, d)) {
            case Served::Served:
                releaseLocked(getters, g, Outcome::Done, d);
                next = getters.first(); // serving may have released others too
                break;
            case Served::Refused:
                releaseLocked(getters, g, Outcome::Canceled, d);
                next = getters.first();
                break;
            case Served::Empty:
                if (putters.isEmpty())
                    return;
                break;
            }
        }
        g = next;
    }
}

// Moves what waits behind the ring into its free slots, oldest first: the items behind it,
// then the items of waiting puts (into the ring, or behind it while there is room).
void ChannelBasePrivate::refillLocked(Deferred &d) {
    bool moved = false;
    while (!behind.isEmpty()) {
        bool refused = false;
        if (!pushRingLocked(behind.front(), nullptr, refused))
            break;
        behind.popFront();
        moved = true;
    }
    if (moved)
        setOutsideLocked();
    while (Waiter *p = putters.first()) {
        if (p->isWithdrawn()) {
            releaseLocked(putters, p, Outcome::Canceled, d);
            continue;
        }
        bool refused = false;
        if (behind.isEmpty() && bufferedLocked() < capacity &&
            pushRingLocked(p->item, p, refused)) {
            releaseLocked(putters, p, Outcome::Done, d);
            continue;
        }
        if (refused) {
            releaseLocked(putters, p, Outcome::Canceled, d);
            continue;
        }
        if (!behindHasRoomLocked())
            return;
        if (!p->reserve()) {
            releaseLocked(putters, p, Outcome::Canceled, d);
            continue;
        }
        try {
            behind.pushBack(p->item, capacity > 0 ? capacity : 0);
        } catch (...) {
            p->error = std::current_exception();
            p->finish(true);
            releaseLocked(putters, p, Outcome::Failed, d);
            continue;
        }
        p->finish(true);
        setOutsideLocked();
        releaseLocked(putters, p, Outcome::Done, d);
    }
}

// --- putting ---------------------------------------------------------------------------------

// Moves `item` (of the waiting put `p`, or the caller's when p is null) into the ring, if it
// has a free slot. `refused`: p withdrew.
bool ChannelBasePrivate::pushRingLocked(void *item, Waiter *p, bool &refused) {
    if (!ring.exists())
        return false;
    std::byte *cells = ring.ensureCellsLocked();
    if (p && !p->reserve()) {
        refused = true;
        return false;
    }
    quint64 ticket;
    std::byte *cell;
    if (ring.claimPut<true>(cells, ticket, cell) != Ring::Step::Ok) {
        if (p)
            p->finish(false);
        return false;
    }
    ops.construct(ring.itemOf(cell), item); // ring items cannot throw when they move
    Ring::publish(cell, ticket);
    if (p)
        p->finish(true);
    return true;
}

// Hands `item` to the first waiting get that can take it. Both sides are reserved first.
ChannelBasePrivate::HandOver ChannelBasePrivate::handToGetterLocked(void *item, Waiter *p,
                                                                    Deferred &d) {
    const void *group = p ? p->group() : nullptr;
    for (Waiter *g = getters.first(); g;) {
        Waiter *next = g->next;
        if (g->isWithdrawn()) {
            releaseLocked(getters, g, Outcome::Canceled, d);
            g = next;
            continue;
        }
        if (group && g->group() == group) { // never an arm of the same select
            g = next;
            continue;
        }
        const bool putterFirst = group && g->group() && group < g->group();
        if (putterFirst && !p->reserve())
            return HandOver::PutterRefused;
        if (!g->reserve()) {
            if (putterFirst)
                p->finish(false);
            releaseLocked(getters, g, Outcome::Canceled, d);
            g = next;
            continue;
        }
        if (p && !putterFirst && !p->reserve()) {
            g->finish(false);
            return HandOver::PutterRefused;
        }
        bool accepted;
        try {
            accepted = g->accept(item);
        } catch (...) {
            g->finish(false);
            if (p)
                p->finish(false);
            throw; // the put fails; the get still waits
        }
        if (!accepted) {
            g->finish(false);
            if (p)
                p->finish(false);
            releaseLocked(getters, g, Outcome::Canceled, d);
            g = next;
            continue;
        }
        if (p)
            p->finish(true);
        if (!g->finish(true)) {
            // A batch canceled meanwhile: the item is the channel's now, first in line.
            giveBackLocked(*g, d);
            releaseLocked(getters, g, Outcome::Canceled, d);
            return HandOver::Done;
        }
        releaseLocked(getters, g, Outcome::Done, d);
        return HandOver::Done;
    }
    return HandOver::NoGetter;
}

// Accepts `item` without waiting, if it can: to the first waiting get, into the ring, behind
// it, or, on a full channel, as the overflow policy says. Full: it has to wait (the backlog is
// announced and spaceAvailable() armed). `refused`: the waiting put `p` withdrew.
PutResult ChannelBasePrivate::acceptLocked(void *item, Waiter *p, Deferred &d, bool &refused) {
    serveGettersLocked(d);
    switch (handToGetterLocked(item, p, d)) {
    case HandOver::Done:
        return PutResult::Ok;
    case HandOver::PutterRefused:
        refused = true;
        return PutResult::Full;
    case HandOver::NoGetter:
        break;
    }
    for (;;) {
        if (!hasBacklogLocked() && ring.exists()) {
            if (pushRingLocked(item, p, refused))
                break;
            if (refused)
                return PutResult::Full;
            // Full: announce the backlog, then look once more. A get that claimed a slot before
            // the announcement is seen now; one after it sees the announcement and refills.
            ring.raiseLocked(Ring::Backlog);
            if (pushRingLocked(item, p, refused))
                break;
            if (refused)
                return PutResult::Full;
        }
        if (putters.isEmpty() && behindHasRoomLocked()) {
            if (p && !p->reserve()) {
                refused = true;
                return PutResult::Full;
            }
            if (ring.exists())
                ring.raiseLocked(Ring::Backlog);
            try {
                behind.pushBack(item, capacity > 0 ? capacity : 0);
            } catch (...) {
                if (p)
                    p->finish(false);
                throw;
            }
            if (p)
                p->finish(true);
            setOutsideLocked();
            break;
        }
        if (overflow == Overflow::DropNewest) {
            if (p && !p->reserve()) {
                refused = true;
                return PutResult::Full;
            }
            try {
                dropLocked(item, d);
            } catch (...) {
                if (p)
                    p->finish(false);
                throw;
            }
            if (p)
                p->finish(true);
            return PutResult::Ok;
        }
        if (overflow == Overflow::DropOldest && evictOldestLocked(d))
            continue; // room made: try again
        if (ring.exists())
            ring.raiseLocked(Ring::Backlog);
        q->armSpace();
        return PutResult::Full;
    }
    d.events |= Deferred::SizeChanged;
    q->itemArrived(d, true);
    return PutResult::Ok;
}

// An item that will never be taken: for the undelivered handler, after the lock.
void ChannelBasePrivate::dropLocked(void *item, Deferred &d) {
    d.doomed.add(ops, item);
    dropped.store(dropped.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    if (droppedArmed.load(std::memory_order_relaxed) &&
        droppedArmed.exchange(false, std::memory_order_relaxed))
        d.events |= Deferred::Dropped;
    undeliveredLocked(d);
}

bool ChannelBasePrivate::evictOldestLocked(Deferred &d) {
    const Oldest o = oldestLocked(nullptr, d);
    if (o.source == Oldest::None || o.source == Oldest::Putter)
        return false;
    dropLocked(o.item, d);
    consumeLocked(o, d);
    d.events |= Deferred::SizeChanged;
    if (!behind.isEmpty())
        refillLocked(d);
    return true;
}

// --- the operations --------------------------------------------------------------------------

PutResult ChannelBasePrivate::put(void *item, Deferred &d) {
    detail::Locker locker(lock);
    if (isClosedLocked())
        return PutResult::Closed;
    bool refused = false;
    const PutResult result = acceptLocked(item, nullptr, d, refused);
    syncFlagsLocked();
    return result;
}

bool ChannelBasePrivate::take(Waiter &target, Deferred &d) {
    detail::Locker locker(lock);
    serveGettersLocked(d);
    Served served = takeForLocked(&target, d);
    if (served == Served::Empty) {
        // Nothing: arm the notification, then look once more. A put that claimed a slot
        // before the arming is seen now; one after it sees the arming and notifies.
        q->armItem();
        served = takeForLocked(&target, d);
    }
    markFinishedIfDrainedLocked(d);
    syncFlagsLocked();
    return served == Served::Served;
}

detail::Queued ChannelBasePrivate::enqueueLocked(Waiter *w, Deferred &d) {
    using Queued = detail::Queued;
    switch (w->side) {
    case Waiter::Side::Get: {
        serveGettersLocked(d);
        Served served = takeForLocked(w, d);
        if (served == Served::Empty && !isClosedLocked()) {
            // Announce a waiting get, then look once more. A put that claimed a slot before
            // the announcement is seen now; one after it sees the announcement.
            if (ring.exists())
                ring.raiseLocked(Ring::GetsWaiting);
            q->armItem();
            served = takeForLocked(w, d);
        }
        if (served == Served::Served) {
            w->outcome = Outcome::Done;
        } else if (served == Served::Refused) {
            w->outcome = Outcome::Canceled;
        } else if (isClosedLocked()) {
            markFinishedIfDrainedLocked(d);
            w->outcome = Outcome::Closed;
        } else {
            linkLocked(getters, w, d);
            if (capacity == 0)
                q->spaceMade(d, true); // rendezvous: a waiting get is room for one put
            syncFlagsLocked();
            return Queued::Waiting;
        }
        syncFlagsLocked();
        return w->outcome == Outcome::Closed ? Queued::Closed : Queued::Served;
    }
    case Waiter::Side::Put: {
        if (isClosedLocked()) {
            w->outcome = Outcome::Closed;
            return Queued::Closed;
        }
        bool refused = false;
        const PutResult result = acceptLocked(w->item, w, d, refused);
        if (refused) {
            w->outcome = Outcome::Canceled;
        } else if (result == PutResult::Ok) {
            w->outcome = Outcome::Done;
        } else {
            linkLocked(putters, w, d);
            if (capacity == 0)
                q->itemArrived(d, true); // rendezvous: a waiting put is an item to take
            syncFlagsLocked();
            return Queued::Waiting;
        }
        syncFlagsLocked();
        return Queued::Served;
    }
    case Waiter::Side::Join:
        if (isFinishedLocked()) {
            w->outcome = Outcome::Done;
            return Queued::Served;
        }
        linkLocked(joiners, w, d);
        return Queued::Waiting;
    }
    return Queued::Closed;
}

detail::Queued ChannelBasePrivate::enqueue(Waiter *w, Deferred &d) {
    detail::Locker locker(lock);
    return enqueueLocked(w, d);
}

Outcome ChannelBasePrivate::block(Waiter &w, detail::Parker &parker, QDeadlineTimer deadline,
                                  Deferred &d) {
    if (deadline.hasExpired()) {
        // Nothing to wait for: the non-waiting form.
        if (w.side == Waiter::Side::Get)
            return take(w, d) ? Outcome::Done
                              : (q->isFinished() ? Outcome::Closed : Outcome::Pending);
        const PutResult result = put(w.item, d);
        return result == PutResult::Ok
                   ? Outcome::Done
                   : (result == PutResult::Closed ? Outcome::Closed : Outcome::Pending);
    }
    {
        detail::Locker locker(lock);
        if (enqueueLocked(&w, d) != detail::Queued::Waiting)
            return w.outcome;
        blocked.fetch_add(1, std::memory_order_relaxed);
    }
    q->flush(d); // before sleeping
    detail::AdaptiveSpin *spin = w.side == Waiter::Side::Get ? &q->m_getSpin : &q->m_putSpin;
    if (!parker.park(deadline, spin)) {
        detail::Locker locker(lock);
        if (w.outcome == Outcome::Pending) {
            lineOf(&w).remove(&w);
            syncFlagsLocked();
            locker.unlock();
            blocked.fetch_sub(1, std::memory_order_release);
            return Outcome::Pending;
        }
        // Served while the deadline passed: its unpark is on the way.
        locker.unlock();
        parker.park();
    }
    const Outcome outcome = w.outcome;
    // The last access to the channel: the destructor may proceed once the count is zero.
    blocked.fetch_sub(1, std::memory_order_release);
    return outcome;
}

qsizetype ChannelBasePrivate::putMany(std::byte *first, qsizetype count, qsizetype &accepted,
                                      Deferred &d) {
    detail::Locker locker(lock);
    if (isClosedLocked())
        return 0;
    const auto sync = qScopeGuard([this] { syncFlagsLocked(); });
    for (; accepted < count; ++accepted) {
        bool refused = false;
        if (acceptLocked(first + accepted * qsizetype(ops.size), nullptr, d, refused) !=
            PutResult::Ok)
            break;
    }
    return accepted;
}

void ChannelBasePrivate::afterFastPut(Deferred &d) {
    detail::Locker locker(lock);
    serveGettersLocked(d); // a get announced itself while the put claimed its slot
    syncFlagsLocked();
}

void ChannelBasePrivate::afterFastTake(Deferred &d) {
    detail::Locker locker(lock);
    refillLocked(d); // what waits behind the ring moves into the room just made
    if (hasRoomLocked())
        q->spaceMade(d, true);
    markFinishedIfDrainedLocked(d);
    syncFlagsLocked();
}

bool ChannelBasePrivate::close(std::exception_ptr reason, Deferred &d) {
    detail::Locker locker(lock);
    if (isClosedLocked())
        return false;
    closeReason = std::move(reason);
    q->m_closed.store(true, std::memory_order_release);
    ring.closeLocked(); // no fast put claims a slot any more
    d.events |= Deferred::Closed;
    failAllLocked(putters, Outcome::Closed, d);
    // Puts that claimed a slot just before still reach the gets that wait for them.
    serveGettersLocked(d);
    failAllLocked(getters, Outcome::Closed, d);
    markFinishedIfDrainedLocked(d);
    syncFlagsLocked();
    return true;
}

qsizetype ChannelBasePrivate::clear(Deferred &d) {
    detail::Locker locker(lock);
    qsizetype n = 0;
    for (;;) {
        const Oldest o = oldestLocked(nullptr, d);
        if (o.source == Oldest::None || o.source == Oldest::Putter)
            break;
        d.doomed.add(ops, o.item);
        consumeLocked(o, d);
        ++n;
    }
    if (n > 0) {
        undeliveredLocked(d);
        afterTakeLocked(d);
    }
    syncFlagsLocked();
    return n;
}

void ChannelBasePrivate::giveBackLocked(Waiter &holder, Deferred &d) {
    const qsizetype n = holder.takenCount();
    if (n == 0)
        return;
    if (isFinishedLocked()) {
        // Finished is for ever: these items can never be taken.
        for (qsizetype i = 0; i < n; ++i)
            d.doomed.add(ops, holder.takenItem(i));
        undeliveredLocked(d);
    } else {
        for (qsizetype i = n; i-- > 0;)
            front.pushFront(holder.takenItem(i));
        if (ring.exists())
            ring.raiseLocked(Ring::HeadHeld); // fast gets must not pass them
        setOutsideLocked();
        d.events |= Deferred::SizeChanged;
        q->itemArrived(d, true);
    }
    holder.dropTaken();
}

void ChannelBasePrivate::giveBack(Waiter &holder, Deferred &d) {
    detail::Locker locker(lock);
    giveBackLocked(holder, d);
    serveGettersLocked(d);
    syncFlagsLocked();
}

void ChannelBasePrivate::giveBackFromOutside(Waiter &holder, Deferred &d) {
    {
        detail::Locker locker(lock);
        giveBackLocked(holder, d);
        serveGettersLocked(d);
        syncFlagsLocked();
    }
    const quint8 events =
        std::exchange(d.events, 0) & q->m_listened.load(std::memory_order_relaxed);
    if (events) {
        ChannelBase *channel = q;
        QMetaObject::invokeMethod(
            channel, [channel, events] { channel->emitEvents(events); }, Qt::QueuedConnection);
    }
}

bool ChannelBasePrivate::unlink(Waiter *w,
                                std::shared_ptr<const detail::UndeliveredHandler> &handlerOut) {
    detail::Locker locker(lock);
    if (w->outcome != Outcome::Pending)
        return false;
    lineOf(w).remove(w);
    w->outcome = Outcome::Canceled;
    // A withdrawn send's item was the channel's to take: undelivered. A select's put arm
    // keeps its item (Kind::Notify): it belongs to the Select until the arm fires.
    if (w->side == Waiter::Side::Put && w->kind == Waiter::Kind::Complete)
        handlerOut = handler;
    syncFlagsLocked();
    return true;
}

void ChannelBasePrivate::addRunner(std::shared_ptr<detail::ForEachRunner> runner) {
    detail::Locker locker(lock);
    runners.append(std::move(runner));
}

void ChannelBasePrivate::removeRunner(detail::ForEachRunner *runner) {
    std::shared_ptr<detail::ForEachRunner> last; // destroyed after unlocking
    detail::Locker locker(lock);
    for (qsizetype i = 0; i < runners.size(); ++i) {
        if (runners.at(i).get() == runner) {
            last = std::move(runners[i]);
            runners.removeAt(i);
            break;
        }
    }
}

// --- destruction -----------------------------------------------------------------------------

void ChannelBasePrivate::destroy() {
    if (destroyed)
        return;
    destroyed = true;
    Deferred d;
    QList<std::shared_ptr<detail::ForEachRunner>> stopping;
    {
        detail::Locker locker(lock);
        shutDown.store(true, std::memory_order_release);
        if (!isClosedLocked()) {
            q->m_closed.store(true, std::memory_order_release);
            ring.closeLocked();
        }
        failAllLocked(putters, Outcome::Closed, d);
        failAllLocked(getters, Outcome::Closed, d);
        while (Waiter *w = joiners.first()) {
            joiners.remove(w);
            d.release(w, Outcome::Canceled);
        }
        q->m_finished.store(true, std::memory_order_release);
        stopping.swap(runners);
    }
    // Blocked threads, coroutines and selects first: waking them runs no user code, and the
    // owners of awaiters and select arms may be waiting for exactly that.
    d.wake();
    // The library's own lock-free consumers stop before any item is destroyed: a forEach loop
    // in another thread finishes the item it is passing on, and lets go.
    for (const auto &runner : std::as_const(stopping))
        runner->channelDestroyed();
    stopping.clear();
    // Withdrawals and give-backs in progress are over; later ones find the channel gone.
    anchor->detach();
    // Threads woken from block() still have to leave it.
    while (blocked.load(std::memory_order_acquire) != 0)
        QThread::yieldCurrentThread();
    // Nobody else touches the channel now: its items go to the undelivered handler, oldest
    // first, then the items of the pending puts (in line order, with their futures).
    for (;;) {
        const Oldest o = oldestLocked(nullptr, d);
        if (o.source == Oldest::None || o.source == Oldest::Putter)
            break;
        if (handler)
            d.doomed.add(ops, o.item);
        consumeLocked(o, d);
    }
    d.completion.reason = closeReason;
    d.completion.handler = handler;
    d.complete();
}

// --- Anchor ----------------------------------------------------------------------------------

namespace detail {

bool Anchor::withdraw(Waiter *w) noexcept {
    std::shared_ptr<const UndeliveredHandler> handler;
    bool withdrawn = false;
    {
        Locker locker(m_lock);
        if (m_channel)
            withdrawn = m_channel->unlink(w, handler);
    }
    if (withdrawn) {
        if (handler && w->item) {
            try {
                (*handler)(w->item);
            } catch (...) {
                qWarning("QtChannel: the undelivered handler threw; the exception was ignored");
            }
        }
        return true;
    }
    // Released by the channel: wait for its last access, which runs no user code.
    for (Backoff backoff; !w->woken.load(std::memory_order_acquire);)
        backoff.pause();
    return false;
}

// The thread that finishes canceled futures: started on first use, then waiting for work
// for the rest of the process. Plain std primitives, so ThreadSanitizer sees every hand-over.
namespace {
class Sweeper {
public:
    static Sweeper &instance() {
        static Sweeper *sweeper = new Sweeper; // never destroyed: sweeps may come at exit
        return *sweeper;
    }
    void schedule(Anchor *anchor) {
        {
            std::lock_guard lock(m_mutex);
            m_queue.push_back(anchor);
            if (!m_started) {
                m_started = true;
                std::thread([this] { run(); }).detach();
            }
        }
        m_wake.notify_one();
    }

private:
    void run() {
        std::unique_lock lock(m_mutex);
        for (;;) {
            m_wake.wait(lock, [this] { return !m_queue.empty(); });
            Anchor *anchor = m_queue.front();
            m_queue.pop_front();
            lock.unlock();
            anchor->sweep();
            anchor->deref();
            lock.lock();
        }
    }

    std::mutex m_mutex;
    std::condition_variable m_wake;
    std::deque<Anchor *> m_queue; // guarded by m_mutex
    bool m_started = false;       // guarded by m_mutex
};
} // namespace

void Anchor::scheduleSweep() noexcept {
    if (m_sweepScheduled.exchange(true, std::memory_order_acq_rel))
        return;
    ref();
    try {
        Sweeper::instance().schedule(this);
    } catch (...) { // out of memory or threads: the canceled futures are found lazily
        m_sweepScheduled.store(false, std::memory_order_release);
        deref();
    }
}

void Anchor::sweep() {
    m_sweepScheduled.store(false, std::memory_order_release); // later cancels schedule again
    Deferred d;
    visit([&d](ChannelBasePrivate *channel) {
        Locker locker(channel->lock);
        channel->sweepWithdrawnLocked(d);
        channel->syncFlagsLocked();
    });
    // The canceled futures finish here, outside every lock: their onCanceled handlers run.
    d.wake();
    d.complete();
}

} // namespace detail

} // namespace QtChannel
