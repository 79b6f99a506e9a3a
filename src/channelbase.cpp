// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#include "channelbase_p.h"

#include "QtChannel/detail/typed.h"

#include <QtCore/QMetaMethod>
#include <QtCore/QScopeGuard>

#include <stdexcept>
#include <string>

namespace QtChannel {

using detail::Deferred;
using detail::Waiter;

void ChannelClosed::raise() const {
    throw *this;
}

ChannelClosed *ChannelClosed::clone() const {
    return new ChannelClosed(*this);
}

const char *ChannelClosed::what() const noexcept {
    return "QtChannel::ChannelClosed: the channel is closed";
}

namespace detail {

// One exception object for every future a plain close fails: close() of n pending futures then
// costs n reference-count increments, not n throws.
std::exception_ptr closedError() {
    static const std::exception_ptr error = std::make_exception_ptr(ChannelClosed());
    return error;
}

Waiter::~Waiter() = default;

void FutureWaiter::canceled() noexcept {
    anchor->scheduleSweep();
}

void BlockingPutter::wake() noexcept {
    m_parker->unpark();
}

static void callHandler(const UndeliveredHandler *handler, void *item) noexcept {
    if (!handler)
        return;
    try {
        (*handler)(item);
    } catch (...) {
        qWarning("QtChannel: the undelivered handler threw; the exception was ignored");
    }
}

Doomed::~Doomed() {
    flush(nullptr);
}

void Doomed::add(const ItemOps &ops, void *from) {
    m_ops = &ops;
    if (m_count == 0 && ops.size <= InPlace && ops.align <= alignof(std::max_align_t)) {
        ops.construct(m_inPlace, from);
        m_inPlaceUsed = true;
    } else {
        if (!m_more)
            m_more = new ItemQueue(ops);
        m_more->pushBack(from);
    }
    ++m_count;
}

void Doomed::flush(const UndeliveredHandler *handler) {
    if (m_count == 0)
        return;
    if (m_inPlaceUsed) {
        callHandler(handler, m_inPlace);
        m_ops->destroy(m_inPlace);
        m_inPlaceUsed = false;
    }
    if (m_more) {
        while (!m_more->isEmpty()) {
            callHandler(handler, m_more->front());
            m_more->popFront();
        }
        delete m_more;
        m_more = nullptr;
    }
    m_count = 0;
}

void Deferred::wake() noexcept {
    // Futures are relinked for complete(); every other waiter is told now.
    Waiter *futures = nullptr;
    Waiter **tail = &futures;
    Waiter *last = nullptr;
    for (Waiter *w = m_first; w;) {
        Waiter *next = w->next; // read first: a woken waiter may be gone at once
        if (w->kind == Waiter::Kind::Notify) {
            w->wake();
        } else {
            *tail = w;
            tail = &w->next;
            last = w;
        }
        w = next;
    }
    *tail = nullptr;
    m_first = futures;
    m_last = last;
}

void Deferred::complete() {
    doomed.flush(completion.handler.get());
    while (Waiter *w = m_first) {
        m_first = w->next;
        if (!m_first)
            m_last = nullptr;
        w->complete(completion);
    }
}

} // namespace detail

// --- construction and destruction --------------------------------------------------------------

static qsizetype checkedCapacity(qsizetype capacity, Overflow overflow) {
    if (capacity < Unbounded) {
        throw std::invalid_argument("QtChannel::Channel: capacity must be QtChannel::Unbounded "
                                    "(-1), 0 (rendezvous) or positive, got " +
                                    std::to_string(capacity));
    }
    if (overflow != Overflow::Wait && capacity < 1) {
        throw std::invalid_argument("QtChannel::Channel: a drop policy (Overflow::DropOldest, "
                                    "Overflow::DropNewest) needs a capacity of at least 1, got " +
                                    std::to_string(capacity));
    }
    if (overflow != Overflow::Wait && overflow != Overflow::DropOldest &&
        overflow != Overflow::DropNewest) {
        throw std::invalid_argument("QtChannel::Channel: unknown Overflow value " +
                                    std::to_string(int(overflow)));
    }
    return capacity;
}

// Slots of the lock-free ring: min(capacity, 1024), 1024 when unbounded, none for a
// rendezvous channel or items whose move may throw.
static qsizetype ringSlots(const detail::ItemOps &ops, qsizetype capacity) {
    if (!ops.viaRing || capacity == 0)
        return 0;
    return capacity == Unbounded ? detail::Ring::MaxSlots
                                 : std::min(capacity, detail::Ring::MaxSlots);
}

// The arguments are checked before QObject is constructed, so a bad one never gets a parent.
static QObject *checkedParent(qsizetype capacity, Overflow overflow, QObject *parent) {
    checkedCapacity(capacity, overflow);
    return parent;
}

ChannelBase::ChannelBase(const detail::ItemOps &ops, qsizetype capacity, Overflow overflow,
                         QObject *parent)
    : QObject(checkedParent(capacity, overflow, parent))
    , m_ring(ringSlots(ops, capacity), ops.size, ops.align)
    , m_d(std::make_unique<ChannelBasePrivate>(this, ops, capacity, overflow))
    , m_capacity(capacity)
    , m_overflow(overflow) {}

ChannelBasePrivate::ChannelBasePrivate(ChannelBase *owner, const detail::ItemOps &itemOps,
                                       qsizetype cap, Overflow policy)
    : q(owner)
    , ops(itemOps)
    , ring(owner->m_ring)
    , capacity(cap)
    , overflow(policy)
    , anchor(new detail::Anchor(this))
    , front(itemOps)
    , behind(itemOps) {}

ChannelBasePrivate::~ChannelBasePrivate() {
    ring.freeCells();
    anchor->deref();
}

ChannelBase::~ChannelBase() {
    destroyChannel(); // done already, unless a subclass's constructor threw
}

void ChannelBase::destroyChannel() {
    m_d->destroy();
}

// --- the public API ----------------------------------------------------------------------------

bool ChannelBase::close() {
    return close(std::exception_ptr());
}

bool ChannelBase::close(std::exception_ptr reason) {
    Q_D(ChannelBase);
    Deferred deferred;
    Flusher flusher(this, deferred);
    return d->close(std::move(reason), deferred);
}

std::exception_ptr ChannelBase::closeReason() const {
    Q_D(const ChannelBase);
    if (!isClosed())
        return {};
    detail::Locker locker(d->lock);
    return d->closeReason;
}

qsizetype ChannelBase::clear() {
    Q_D(ChannelBase);
    Deferred deferred;
    Flusher flusher(this, deferred);
    return d->clear(deferred);
}

namespace {
// A join() future, in the channel's joiners' line until the channel is finished.
struct JoinWaiter final : detail::FutureWaiter {
    explicit JoinWaiter(detail::Anchor *a)
        : FutureWaiter(Side::Join, a)
        , promise(detail::startedPromise<void>()) {
        watch(promise);
    }
    ~JoinWaiter() override { unwatch(promise); }
    bool accept(void *) override { return false; }
    bool isWithdrawn() const override { return promise.isCanceled(); }
    void complete(const detail::Completion &c) override {
        if (outcome == Outcome::Done && c.reason)
            promise.reportException(c.reason);
        else if (outcome != Outcome::Done)
            promise.cancel();
        promise.reportFinished();
        delete this;
    }
    QFutureInterface<void> promise;
};
} // namespace

QFuture<void> ChannelBase::join() const {
    auto *self = const_cast<ChannelBase *>(this);
    ChannelBasePrivate *const d = self->d_func();
    if (isFinished()) {
        detail::Locker locker(d->lock);
        if (d->closeReason && !d->isShutDown())
            return QtFuture::makeExceptionalFuture<void>(d->closeReason);
        return QtFuture::makeReadyFuture();
    }
    auto *w = new JoinWaiter(d->anchor);
    QFuture<void> future = w->promise.future();
    Deferred deferred;
    Flusher flusher(self, deferred);
    if (d->enqueue(w, deferred) != Queued::Waiting) {
        detail::Completion completion;
        completion.reason = closeReason();
        w->complete(completion);
    }
    return future;
}

bool ChannelBase::isFull() const {
    Q_D(const ChannelBase);
    if (m_capacity == Unbounded)
        return false;
    if (m_capacity > 0)
        return size() >= m_capacity;
    // Rendezvous: full unless a get is waiting. Withdrawn gets found first are not room, and
    // go (their futures finish).
    Deferred deferred;
    Flusher flusher(const_cast<ChannelBase *>(this), deferred);
    detail::Locker locker(d->lock);
    return const_cast<ChannelBasePrivate *>(d)->firstLiveGetterLocked(deferred) == nullptr;
}

qint64 ChannelBase::droppedCount() const noexcept {
    Q_D(const ChannelBase);
    const qint64 n = d->dropped.load(std::memory_order_relaxed);
    const_cast<ChannelBasePrivate *>(d)->droppedArmed.store(true, std::memory_order_relaxed);
    return n;
}

qsizetype ChannelBase::pendingPuts() const {
    Q_D(const ChannelBase);
    detail::Locker locker(d->lock);
    return d->putters.count();
}

qsizetype ChannelBase::pendingGets() const {
    Q_D(const ChannelBase);
    detail::Locker locker(d->lock);
    return d->getters.count();
}

// --- the untyped core, for Channel<T>
// --------------------------------------------------------------

PutResult ChannelBase::putSlow(void *item, Deferred &d) {
    return d_func()->put(item, d);
}

bool ChannelBase::takeSlow(Waiter &target, Deferred &d) {
    return d_func()->take(target, d);
}

detail::Queued ChannelBase::enqueue(Waiter *w, Deferred &d) {
    return d_func()->enqueue(w, d);
}

Waiter::Outcome ChannelBase::block(Waiter &w, detail::Parker &parker, QDeadlineTimer deadline,
                                   Deferred &d) {
    return d_func()->block(w, parker, deadline, d);
}

qsizetype ChannelBase::takeManySlow(Waiter &target, Deferred &d) {
    d_func()->take(target, d);
    return target.takenCount();
}

qsizetype ChannelBase::putManySlow(std::byte *first, qsizetype count, qsizetype &accepted,
                                   Deferred &d) {
    return d_func()->putMany(first, count, accepted, d);
}

void ChannelBase::afterFastPut(Deferred &d) {
    d_func()->afterFastPut(d);
}

void ChannelBase::afterFastTake(Deferred &d) {
    d_func()->afterFastTake(d);
}

void ChannelBase::snapshotInto(void (*append)(void *list, const void *item), void *list) const {
    Q_D(const ChannelBase);
    auto *dd = const_cast<ChannelBasePrivate *>(d);
    detail::Locker locker(d->lock);
    // Hold the ring still: while both ends are held, no fast operation claims a slot. Restored
    // on every exit, also when an item's copy throws.
    const quint32 before = m_ring.flags();
    dd->ring.holdHeadLocked();
    dd->ring.raiseLocked(detail::Ring::Backlog);
    const auto restore = qScopeGuard(
        [&] { dd->ring.lowerLocked(~before & (detail::Ring::HeadHeld | detail::Ring::Backlog)); });
    for (qsizetype i = 0; i < d->front.size(); ++i)
        append(list, d->front.at(i));
    m_ring.forEachLocked(m_ring.cells(), [&](void *item) { append(list, item); });
    for (qsizetype i = 0; i < d->behind.size(); ++i)
        append(list, d->behind.at(i));
}

void ChannelBase::setUndeliveredHandler(detail::UndeliveredHandler handler) {
    Q_D(ChannelBase);
    auto shared =
        handler ? std::make_shared<const detail::UndeliveredHandler>(std::move(handler)) : nullptr;
    detail::Locker locker(d->lock);
    d->handler.swap(shared); // the old one goes after unlocking
}

detail::Anchor *ChannelBase::anchor() const noexcept {
    return d_func()->anchor;
}

// --- after unlocking -------------------------------------------------------------------------

void ChannelBase::flushSlow(Deferred &d) {
    d.wake();
    d.complete();
    if (const quint8 events = std::exchange(d.events, 0))
        emitEvents(events);
}

void ChannelBase::emitEvents(quint8 events) {
    Q_D(ChannelBase);
    events &= m_listened.load(std::memory_order_relaxed);
    if (events & Deferred::SizeChanged) {
        const qsizetype n = size();
        if (d->reportedSize.exchange(n, std::memory_order_relaxed) != n)
            Q_EMIT sizeChanged(n);
    }
    if (events & Deferred::ItemAvailable)
        Q_EMIT itemAvailable();
    if (events & Deferred::SpaceAvailable)
        Q_EMIT spaceAvailable();
    if (events & Deferred::Dropped)
        Q_EMIT droppedChanged(d->dropped.load(std::memory_order_relaxed));
    if (events & Deferred::Closed)
        Q_EMIT closed();
    if (events & Deferred::Finished)
        Q_EMIT finished();
}

// The Deferred::Event bit of one of our signals, 0 for any other; `index` gets its slot in
// ChannelBasePrivate::listeners.
static quint8 eventOf(const QMetaMethod &signal, int *index) {
    static const QMetaMethod ours[] = {
        QMetaMethod::fromSignal(&ChannelBase::sizeChanged),
        QMetaMethod::fromSignal(&ChannelBase::itemAvailable),
        QMetaMethod::fromSignal(&ChannelBase::spaceAvailable),
        QMetaMethod::fromSignal(&ChannelBase::closed),
        QMetaMethod::fromSignal(&ChannelBase::finished),
        QMetaMethod::fromSignal(&ChannelBase::droppedChanged),
    };
    for (int i = 0; i < 6; ++i) {
        if (signal == ours[i]) {
            *index = i;
            return quint8(1u << i); // the order of Deferred::Event
        }
    }
    return 0;
}
static_assert(Deferred::SizeChanged == 1 && Deferred::ItemAvailable == 2 &&
              Deferred::SpaceAvailable == 4 && Deferred::Closed == 8 && Deferred::Finished == 16 &&
              Deferred::Dropped == 32);

// May run in any thread, possibly with a Qt-internal lock held: only atomics here.
void ChannelBase::connectNotify(const QMetaMethod &signal) {
    Q_D(ChannelBase);
    int i;
    if (const quint8 bit = eventOf(signal, &i)) {
        // A new receiver of sizeChanged() compares with the size it can see now: changes made
        // while nobody listened were never reported.
        if (bit == Deferred::SizeChanged && d->listeners[i].load() == 0)
            d->reportedSize.store(size(), std::memory_order_relaxed);
        d->listeners[i].fetch_add(1);
        m_listened.fetch_or(bit);
    }
}

void ChannelBase::disconnectNotify(const QMetaMethod &signal) {
    Q_D(ChannelBase);
    if (!signal.isValid()) {
        // disconnect() of everything: which of our signals lost receivers is unknown.
        d->listenersUnknown.store(true);
        m_listened.store(0xff);
        return;
    }
    int i;
    const quint8 bit = eventOf(signal, &i);
    if (!bit || d->listeners[i].fetch_sub(1) != 1 || d->listenersUnknown.load())
        return;
    m_listened.fetch_and(quint8(~bit));
    if (d->listeners[i].load() > 0) // a receiver connected meanwhile
        m_listened.fetch_or(bit);
}

} // namespace QtChannel
