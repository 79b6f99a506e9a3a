// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

// Internal header: not part of the public API. The few waiters that must know the item type:
// they hold a QFutureInterface<T> or a T. Everything else about waiting is untyped.

#include <QtChannel/detail/anchor.h>
#include <QtChannel/detail/cancelwatch.h>
#include <QtChannel/detail/itemops.h>
#include <QtChannel/detail/parker.h>
#include <QtChannel/detail/waiter.h>

#include <QtCore/QFutureInterface>
#include <QtCore/QList>

#include <optional>
#include <utility>

namespace QtChannel::detail {

// A started promise: its future waits in waitForFinished() and result() (a future that was
// not started returns from them at once) and is valid (QFuture::isValid()).
template <typename T> QFutureInterface<T> startedPromise() {
    QFutureInterface<T> promise;
    promise.reportStarted();
    return promise;
}

// What a future fails with after a plain close: one shared ChannelClosed.
QTCHANNEL_EXPORT std::exception_ptr closedError();

// Finishes the future of `w` as its outcome says: failed with the close reason (or
// ChannelClosed), failed with the transfer's exception, canceled, or done. Its continuations
// run here, with no lock held.
template <typename Promise>
void completeFuture(Promise &promise, const Waiter &w, const Completion &c) {
    switch (w.outcome) {
    case Waiter::Outcome::Closed:
        promise.reportException(c.reason ? c.reason : closedError());
        break;
    case Waiter::Outcome::Failed:
        promise.reportException(w.error);
        break;
    case Waiter::Outcome::Canceled:
        promise.cancel();
        break;
    case Waiter::Outcome::Pending:
    case Waiter::Outcome::Done:
        break;
    }
    promise.reportFinished();
}

template <typename T> T *itemCast(void *item) noexcept {
    return std::launder(static_cast<T *>(item));
}

// What every future waiter does when its future is canceled: have its line swept soon, so
// that the canceled future finishes (its onCanceled handlers run) without waiting for the
// channel's next operation.
struct QTCHANNEL_EXPORT FutureWaiter : Waiter, CancelWatch {
    FutureWaiter(Side s, Anchor *a) noexcept
        : Waiter(s, Kind::Complete)
        , anchor(a) {}
    void canceled() noexcept override;
    Anchor *const anchor;
};

// A get() future. The channel owns it until it completes.
template <typename T> struct FutureGet final : FutureWaiter {
    explicit FutureGet(Anchor *a)
        : FutureWaiter(Side::Get, a)
        , promise(startedPromise<T>()) {
        watch(promise);
    }
    ~FutureGet() override { unwatch(promise); }
    bool reserve() override { return !promise.isCanceled(); }
    // The item goes straight into the future's result store (copied if moving it may throw);
    // refused, untouched, when the future was canceled meanwhile.
    bool accept(void *from) override {
        return promise.reportAndMoveResult(std::move(*itemCast<T>(from)));
    }
    bool isWithdrawn() const override { return promise.isCanceled(); }
    void complete(const Completion &c) override {
        completeFuture(promise, *this, c);
        delete this;
    }
    QFutureInterface<T> promise;
};

// A getMany() future: up to `max` items, stored as one QList when the batch ends.
template <typename T> struct FutureGetMany final : FutureWaiter {
    FutureGetMany(Anchor *a, qsizetype maxItems)
        : FutureWaiter(Side::Get, a)
        , promise(startedPromise<QList<T>>())
        , max(maxItems) {
        watch(promise);
    }
    ~FutureGetMany() override { unwatch(promise); }
    bool reserve() override { return !promise.isCanceled(); }
    bool accept(void *from) override {
        items.append(std::move_if_noexcept(*itemCast<T>(from)));
        return true;
    }
    bool wantsMore() const override { return items.size() < max; }
    bool finish(bool served) noexcept override {
        return !served || items.isEmpty() || promise.reportAndMoveResult(std::move(items));
    }
    qsizetype takenCount() const override { return items.size(); }
    void *takenItem(qsizetype i) override { return &items[i]; }
    void dropTaken() noexcept override { items.clear(); }
    bool isWithdrawn() const override { return promise.isCanceled(); }
    void complete(const Completion &c) override {
        completeFuture(promise, *this, c);
        delete this;
    }
    QFutureInterface<QList<T>> promise;
    QList<T> items;
    const qsizetype max;
};

// A put() future: owns its item until it is accepted; a put that fails or is withdrawn hands
// it to the undelivered handler.
template <typename T> struct FuturePut final : FutureWaiter {
    FuturePut(Anchor *a, T &&value)
        : FutureWaiter(Side::Put, a)
        , promise(startedPromise<void>())
        , owned(std::move(value)) {
        item = &owned;
        watch(promise);
    }
    ~FuturePut() override { unwatch(promise); }
    bool reserve() override { return !promise.isCanceled(); }
    bool accept(void *) override { return false; }
    bool isWithdrawn() const override { return promise.isCanceled(); }
    void complete(const Completion &c) override {
        if (c.handler && (outcome == Outcome::Closed || outcome == Outcome::Canceled))
            (*c.handler)(&owned);
        completeFuture(promise, *this, c);
        delete this;
    }
    QFutureInterface<void> promise;
    T owned;
};

// A get that constructs the item straight into `out` (one construction, so a throwing one
// leaves the item in the channel): tryGet() and forEach() that need the lock, and a thread
// blocked in getBlocking() (with a parker, on its stack).
template <typename T> struct OptionalGetter final : Waiter {
    explicit OptionalGetter(std::optional<T> &slot, Parker *p = nullptr) noexcept
        : Waiter(Side::Get, Kind::Notify)
        , out(slot)
        , parker(p) {}
    bool accept(void *from) override {
        out.emplace(std::move_if_noexcept(*itemCast<T>(from)));
        return true;
    }
    qsizetype takenCount() const override { return out ? 1 : 0; }
    void *takenItem(qsizetype) override { return &*out; }
    void dropTaken() noexcept override { out.reset(); }
    void wake() noexcept override { parker->unpark(); }
    std::optional<T> &out;
    Parker *const parker;
};

// A getManyBlocking() caller, or a tryGetMany() that needs the lock: appends to `list`, up
// to `max` items beyond those it held already.
template <typename T> struct ListGetter final : Waiter {
    ListGetter(QList<T> &out, qsizetype maxItems, Parker *p = nullptr)
        : Waiter(Side::Get, Kind::Notify)
        , list(out)
        , start(out.size())
        , max(maxItems)
        , parker(p) {}
    bool accept(void *from) override {
        list.append(std::move_if_noexcept(*itemCast<T>(from)));
        return true;
    }
    bool wantsMore() const override { return takenCount() < max; }
    qsizetype takenCount() const override { return list.size() - start; }
    void *takenItem(qsizetype i) override { return &list[start + i]; }
    void dropTaken() noexcept override {
        while (list.size() > start)
            list.removeLast(); // not erase(): that needs an assignable T
    }
    void wake() noexcept override { parker->unpark(); }
    QList<T> &list;
    const qsizetype start;
    const qsizetype max;
    Parker *const parker;
};

} // namespace QtChannel::detail
