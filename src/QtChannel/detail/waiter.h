// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

// Internal header: not part of the public API.

#include <QtChannel/detail/parker.h>
#include <QtChannel/qtchannel_export.h>

#include <QtCore/QFutureInterface>
#include <QtCore/QList>

#include <algorithm>
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

namespace QtChannel::detail {

class ForEachRunner;

// A started promise: its future waits in waitForFinished() and result() (a future that was not
// started returns from them at once) and is valid (QFuture::isValid()).
template <typename T> QFutureInterface<T> startedPromise() {
    QFutureInterface<T> promise;
    promise.reportStarted();
    return promise;
}

/*
 * A pending put or get. The channel keeps one FIFO list of pending puts and one of pending
 * gets; futures and blocked threads wait in the same list, so they are served in arrival
 * order whatever their kind.
 *
 * A future's waiter is allocated by the channel and deleted when it is settled. A blocked
 * thread's waiter lives on that thread's stack; the channel only touches it under its lock,
 * and then reads its `parker` and unparks that once, as its very last access (the parker is
 * the thread's own and outlives the waiter: see Parker).
 */
struct Waiter {
    enum class Outcome : quint8 {
        Pending,  // still linked in its list
        Done,     // served: the item was handed over or accepted
        Closed,   // the channel closed first
        Canceled, // the future was canceled by its owner; nothing was handed over
        Failed,   // moving the item threw; `error` says why
    };

    Waiter() = default;
    Waiter(const Waiter &) = delete;
    Waiter &operator=(const Waiter &) = delete;
    virtual ~Waiter() = default;

    bool isCanceled() const { return future && future->isCanceled(); }

    // Linked in a WaiterList (guarded by the channel lock); after unlinking, `next` chains the
    // settle list of a Batch.
    Waiter *prev = nullptr;
    Waiter *next = nullptr;
    // Exactly one of these is set, for the waiter's whole life.
    QFutureInterfaceBase *future = nullptr; // a put() or get() future
    Parker *parker = nullptr;               // a putBlocking() or getBlocking() caller
    // Written under the channel lock; a blocked owner reads it after its parker returned.
    Outcome outcome = Outcome::Pending;
    std::exception_ptr error;
};

// Intrusive doubly-linked FIFO of waiters. Guarded by the channel lock.
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
    // for canceled futures: amortised O(1), and a list never holds more than twice its live
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

/*
 * What an operation found to do once the channel lock is released: waiters to settle,
 * join() futures to finish, signals to emit. Nothing in it runs user code while the lock is
 * held; everything runs afterwards, in ChannelBase::finish().
 */
struct Batch {
    enum Event : quint8 {
        SizeChanged = 0x01,
        ItemAvailable = 0x02,
        SpaceAvailable = 0x04,
        Closed = 0x08,
        Finished = 0x10,
    };

    Batch() = default;
    Batch(const Batch &) = delete;
    Batch &operator=(const Batch &) = delete;

    void settle(Waiter *w, Waiter::Outcome outcome) noexcept {
        w->outcome = outcome;
        w->next = nullptr;
        (last ? last->next : first) = w;
        last = w;
    }

    bool isEmpty() const noexcept { return !first && !events && joiners.isEmpty(); }

    Waiter *first = nullptr; // waiters to settle, in the order they were served
    Waiter *last = nullptr;
    quint8 events = 0;
    bool cancelJoiners = false;                    // destruction: cancel rather than finish them
    QList<QFutureInterface<void>> joiners;         // join() futures to finish (or cancel)
    QList<std::shared_ptr<ForEachRunner>> runners; // destruction: forEach loops to stop
};

// A get() future. The channel owns it until it is settled.
template <typename T> struct FutureGetWaiter final : Waiter {
    FutureGetWaiter()
        : promise(startedPromise<T>()) {
        future = &promise;
    }
    QFutureInterface<T> promise;
};

// A getBlocking() caller, on its own stack; `slot` is where the item goes.
template <typename T> struct BlockingGetWaiter final : Waiter {
    BlockingGetWaiter(Parker *p, std::optional<T> *out)
        : slot(out) {
        parker = p;
    }
    std::optional<T> *slot;
};

// Hands `item` to the get waiter `w`. Returns false when w is a future that was canceled just
// now; the item is then untouched. If constructing the item throws, the exception propagates
// and w is unchanged.
template <typename T, typename U> bool deliver(Waiter *w, U &&item) {
    if (w->parker) {
        static_cast<BlockingGetWaiter<T> *>(w)->slot->emplace(std::forward<U>(item));
        return true;
    }
    auto &promise = static_cast<FutureGetWaiter<T> *>(w)->promise;
    if constexpr (std::is_same_v<std::remove_cvref_t<U>, T> && !std::is_lvalue_reference_v<U>) {
        return promise.reportAndMoveResult(std::move(item));
    } else {
        T copy(std::forward<U>(item));
        return promise.reportAndMoveResult(std::move(copy));
    }
}

// A pending put: `item` is the item waiting to be accepted.
template <typename T> struct PutWaiter : Waiter { T *item = nullptr; };

// A put() future: owns its item until it is accepted, and destroys it if the put fails.
template <typename T> struct FuturePutWaiter final : PutWaiter<T> {
    explicit FuturePutWaiter(T &&value)
        : promise(startedPromise<void>())
        , owned(std::move(value)) {
        this->item = &owned;
        this->future = &promise;
    }
    QFutureInterface<void> promise;
    T owned;
};

// A putBlocking() caller, on its own stack: `item` is the caller's, moved from only when it is
// accepted.
template <typename T> struct BlockingPutWaiter final : PutWaiter<T> {
    BlockingPutWaiter(Parker *p, T *value) {
        this->item = value;
        this->parker = p;
    }
};

} // namespace QtChannel::detail
