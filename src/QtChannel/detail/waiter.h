// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

// Internal header: not part of the public API.

#include <QtChannel/qtchannel_export.h>

#include <QtCore/qglobal.h>

#include <atomic>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>

namespace QtChannel::detail {

struct ItemOps;
class ItemQueue;

// What a channel calls with the items that will never be taken (Channel<T>::
// setUndeliveredHandler(), made untyped).
using UndeliveredHandler = std::function<void(void *item)>;

// What a waiter needs from its channel when it completes after the lock was released.
struct Completion {
    std::exception_ptr reason;                         // Closed: what the future fails with
    std::shared_ptr<const UndeliveredHandler> handler; // for a failed put's item (may be null)
};

/*
 * One pending operation in one of a channel's lines: a get, a put, or a join. Futures,
 * blocked threads, coroutine awaiters and select arms are all Waiters and wait in the same
 * first-come, first-served lines, whatever their kind.
 *
 * The channel serves a waiter under its lock in three steps: reserve() commits the waiter (or
 * refuses: a canceled future, a select that fired on another channel), then the transfer
 * (accept() takes an item; for a put, the channel moves from `item`), then finish() ends what
 * reserve() began. After the lock is released, the channel tells the waiter its outcome: first
 * wake() for Kind::Notify waiters (a blocked thread, a suspended receive, a select), which runs
 * no user code, then complete() for Kind::Complete ones (futures, a suspended send), which may.
 * A waiter that is not the channel's (all but futures) must not be destroyed before that last
 * call returned; its owner withdraws it under the channel's lock, or waits for the call (see
 * Anchor::withdraw()).
 */
struct QTCHANNEL_EXPORT Waiter {
    enum class Side : quint8 { Get, Put, Join };
    enum class Kind : quint8 {
        Complete, // complete() may run user code (continuations, the undelivered handler)
        Notify,   // notify() runs none: first, so that waiting owners go on at once
    };
    enum class Outcome : quint8 {
        Pending,  // in a line
        Done,     // served: the item was handed over or accepted
        Closed,   // the channel was closed (or destroyed) first
        Canceled, // withdrawn: a canceled future, a select that fired elsewhere
        Failed,   // moving the item threw; `error` says why
    };

    Waiter(Side s, Kind k) noexcept
        : side(s)
        , kind(k) {}
    Waiter(const Waiter &) = delete;
    Waiter &operator=(const Waiter &) = delete;
    virtual ~Waiter();

    // --- under the channel's lock --------------------------------------------------------------
    // Commits the waiter to the transfer about to happen; false when it can no longer be served.
    virtual bool reserve() { return true; }
    // Get side: takes the item at `from`, constructing its own from it (ItemOps::construct).
    // False: refused after all (a future canceled since reserve()); the item is untouched. If
    // it throws, the item is untouched too.
    virtual bool accept(void *from) = 0;
    // Get side, after an accept(): whether it takes one more item now (batches).
    virtual bool wantsMore() const { return false; }
    // Ends what reserve() began; `served`: whether the transfer happened. Returns false when a
    // batch that took items could not keep them (its future was canceled meanwhile): the
    // channel then gives them back (takenCount(), takenItem(), dropTaken()).
    virtual bool finish(bool served) noexcept {
        Q_UNUSED(served);
        return true;
    }
    virtual qsizetype takenCount() const { return 0; }
    virtual void *takenItem(qsizetype) { return nullptr; }
    virtual void dropTaken() noexcept {}
    // A look without commitment: true once it can never be served (a canceled future).
    virtual bool isWithdrawn() const { return false; }
    // The select this waiter is an arm of (null: none). Two arms of one select are never paired
    // with each other, and two selects are reserved in the order of these addresses.
    virtual const void *group() const noexcept { return nullptr; }

    // --- after the lock is released -------------------------------------------------------------
    // Kind::Notify: tells the owner; runs no user code; the channel's last access to *this.
    virtual void wake() noexcept {}
    // Kind::Complete: completes the operation (a future's continuations run) and releases the
    // waiter (a future's deletes itself); the channel's last access to *this.
    virtual void complete(const Completion &) {}

    // Set by wake() or complete() of waiters whose owner may withdraw them, as the very last
    // access.
    std::atomic<bool> woken{false};
    Waiter *prev = nullptr;   // the line (guarded by the channel's lock)
    Waiter *next = nullptr;   // the line, then the Deferred list it was released into
    void *item = nullptr;     // put side: the item to move from; the channel never destroys it
    std::exception_ptr error; // Failed: why
    Outcome outcome = Outcome::Pending; // written under the channel's lock
    const Side side;
    const Kind kind;
};

class Parker;

// What ChannelBase::enqueue() did with a waiter: served it at once (its outcome says how:
// Done or Failed, or Canceled when it refused), added it to its line, or refused it because
// the channel is closed (a get: finished).
enum class Queued : quint8 { Served, Waiting, Closed };

// A thread blocked in putBlocking(), on its stack: `item` is the caller's, moved from only when
// it is accepted.
struct QTCHANNEL_EXPORT BlockingPutter final : Waiter {
    BlockingPutter(void *callerItem, Parker *parker) noexcept
        : Waiter(Side::Put, Kind::Notify)
        , m_parker(parker) {
        item = callerItem;
    }
    bool accept(void *) override { return false; }
    void wake() noexcept override;

private:
    Parker *const m_parker;
};

/*
 * The items that will never be taken, found by an operation under the lock (evicted or
 * discarded by an overflow policy, cleared, destroyed with the channel): they are handed to the
 * undelivered handler, or destroyed, after the lock is released. One item fits in place, so a
 * conflated channel evicts without allocating.
 */
class QTCHANNEL_EXPORT Doomed {
public:
    Doomed() noexcept = default;
    Doomed(const Doomed &) = delete;
    Doomed &operator=(const Doomed &) = delete;
    ~Doomed();

    bool isEmpty() const noexcept { return m_count == 0; }
    // Adds an item constructed from `from` (ItemOps::construct); unchanged if that throws.
    void add(const ItemOps &ops, void *from);
    // Moves every item into the handler (or destroys it), oldest first, and empties.
    void flush(const UndeliveredHandler *handler);

private:
    static constexpr std::size_t InPlace = 64;
    alignas(16) std::byte m_inPlace[InPlace];
    const ItemOps *m_ops = nullptr;
    ItemQueue *m_more = nullptr; // beyond the first item, or items that do not fit in place
    qsizetype m_count = 0;
    bool m_inPlaceUsed = false;
};

/*
 * The work an operation found to do once the channel's lock is released: waiters to wake and
 * complete, items for the undelivered handler, signals to emit. Nothing in it runs under the
 * lock; ChannelBase::flush() runs it (wake, undelivered items, futures, signals), and every
 * operation flushes through a Flusher so that no exit path leaves a waiter unreleased.
 */
class QTCHANNEL_EXPORT Deferred {
public:
    enum Event : quint8 {
        SizeChanged = 0x01,
        ItemAvailable = 0x02,
        SpaceAvailable = 0x04,
        Closed = 0x08,
        Finished = 0x10,
        Dropped = 0x20,
    };

    Deferred() noexcept = default;
    Deferred(const Deferred &) = delete;
    Deferred &operator=(const Deferred &) = delete;

    // Records the outcome of a waiter just removed from its line, and queues it.
    void release(Waiter *w, Waiter::Outcome outcome) noexcept {
        w->outcome = outcome;
        w->next = nullptr;
        (m_last ? m_last->next : m_first) = w;
        m_last = w;
    }
    bool isEmpty() const noexcept { return !m_first && !events && doomed.isEmpty(); }
    bool hasWaiters() const noexcept { return m_first != nullptr; }

    // Wakes the Kind::Notify waiters (no user code) and keeps the futures for complete().
    void wake() noexcept;
    // Hands the doomed items to the handler, then completes the futures. Runs user code.
    void complete();

    quint8 events = 0;
    Completion completion;
    Doomed doomed;

private:
    Waiter *m_first = nullptr;
    Waiter *m_last = nullptr;
};

} // namespace QtChannel::detail
