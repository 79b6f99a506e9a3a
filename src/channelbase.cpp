// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#include "QtChannel/channelbase.h"

#include "QtChannel/detail/foreach.h"

#include <QtCore/QMetaMethod>
#include <QtCore/QThread>

#include <stdexcept>

namespace QtChannel {

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

// One exception object for every future a close fails: close() of n pending futures then
// costs n reference-count increments, not n throws.
std::exception_ptr closedError() {
    static const std::exception_ptr error = std::make_exception_ptr(ChannelClosed());
    return error;
}

} // namespace detail

static QObject *checkedParent(qsizetype capacity, QObject *parent) {
    if (capacity < Unbounded) {
        throw std::invalid_argument("QtChannel::Channel: capacity must be QtChannel::Unbounded "
                                    "(-1), 0 (rendezvous) or positive, got " +
                                    std::to_string(capacity));
    }
    return parent;
}

static constexpr bool isPowerOfTwo(qsizetype n) {
    return n > 0 && (n & (n - 1)) == 0;
}

// The capacity is checked before QObject is constructed, so a bad one never gets a parent.
ChannelBase::ChannelBase(qsizetype capacity, qsizetype ringSize, QObject *parent)
    : QObject(checkedParent(capacity, parent))
    , m_capacity(capacity)
    , m_ringSize(ringSize)
    , m_ringMask(isPowerOfTwo(ringSize) ? quint64(ringSize - 1) : 0)
    , m_ringPow2(isPowerOfTwo(ringSize)) {}

ChannelBase::~ChannelBase() {
    // Channel<T>'s destructor has already shut the channel down; this covers only the case
    // where its constructor threw after ChannelBase was built.
    Batch b;
    {
        detail::Locker locker(m_lock);
        shutdownLocked(b);
    }
    completeShutdown(b);
}

bool ChannelBase::close() {
    Batch b;
    {
        detail::Locker locker(m_lock);
        if (isClosedLocked())
            return false;
        m_closed.store(true, std::memory_order_release);
        m_flags.fetch_or(ClosedFlag, std::memory_order_seq_cst);
        m_tail.fetch_or(ClosedBit, std::memory_order_seq_cst); // no put claims a slot any more
        b.events |= Batch::Closed;
        failAllLocked(m_putters, Outcome::Closed, b);
        // Puts that claimed a slot just before still reach the gets that wait for them.
        serveGettersLocked(b);
        failAllLocked(m_getters, Outcome::Closed, b);
        syncFlagsLocked();
        finishIfDrainedLocked(b);
    }
    finish(b);
    return true;
}

QFuture<void> ChannelBase::join() const {
    QList<QFutureInterface<void>> canceled;
    QFuture<void> result;
    {
        detail::Locker locker(m_lock);
        if (isFinishedLocked() || m_shutDown)
            return QtFuture::makeReadyFuture();
        if (m_joiners.size() >= 32 && m_joiners.size() == m_joiners.capacity()) {
            // About to grow: drop the joins whose futures were canceled first.
            const auto isCanceled = [](const QFutureInterface<void> &f) { return f.isCanceled(); };
            std::copy_if(m_joiners.cbegin(), m_joiners.cend(), std::back_inserter(canceled),
                         isCanceled);
            m_joiners.removeIf(isCanceled);
        }
        QFutureInterface<void> joiner = detail::startedPromise<void>();
        result = joiner.future();
        m_joiners.append(std::move(joiner));
    }
    for (auto &f : canceled)
        f.reportFinished();
    return result;
}

bool ChannelBase::isFull() const {
    if (m_capacity == Unbounded)
        return false;
    if (m_capacity > 0)
        return size() >= m_capacity;
    // Rendezvous: full unless a get is waiting.
    Batch b;
    bool full;
    {
        detail::Locker locker(m_lock);
        full = const_cast<ChannelBase *>(this)->firstGetterLocked(b) == nullptr;
    }
    settle(b); // canceled gets found on the way; nothing else, and no signal
    return full;
}

qsizetype ChannelBase::pendingPuts() const {
    detail::Locker locker(m_lock);
    return m_putters.count();
}

qsizetype ChannelBase::pendingGets() const {
    detail::Locker locker(m_lock);
    return m_getters.count();
}

// --- waiting ---------------------------------------------------------------------------------

ChannelBase::Waiter *ChannelBase::firstLiveLocked(detail::WaiterList &list, Batch &b) {
    while (Waiter *w = list.first()) {
        if (!w->isCanceled())
            return w;
        list.remove(w);
        b.settle(w, Outcome::Canceled);
    }
    return nullptr;
}

// Unlinks canceled futures from anywhere in the list. Called when the list has doubled since
// the last sweep, so a loop that creates and cancels gets without any put never grows it.
void ChannelBase::sweepLocked(detail::WaiterList &list, Batch &b) {
    for (Waiter *w = list.first(); w;) {
        Waiter *next = w->next;
        if (w->isCanceled()) {
            list.remove(w);
            b.settle(w, Outcome::Canceled);
        }
        w = next;
    }
    list.swept();
}

void ChannelBase::addGetterLocked(Waiter *w, Batch &b) {
    if (m_getters.needsSweep())
        sweepLocked(m_getters, b);
    m_getters.append(w);
    armItem(); // this get found nothing
    if (m_capacity == 0)
        spaceMade(b); // rendezvous: a waiting get is room for one put
}

void ChannelBase::addPutterLocked(Waiter *w, Batch &b) {
    if (m_putters.needsSweep())
        sweepLocked(m_putters, b);
    m_putters.append(w);
    armSpace(); // this put found no room
    if (m_capacity == 0)
        itemArrived(b); // rendezvous: a waiting put is an item to take
}

void ChannelBase::announceGetsWaitingLocked() noexcept {
    if (!(m_flags.load(std::memory_order_relaxed) & GetsWaiting)) {
        m_flags.fetch_or(GetsWaiting, std::memory_order_seq_cst);
        m_head.fetch_or(WaitBit, std::memory_order_seq_cst);
    }
}

void ChannelBase::announceBacklogLocked() noexcept {
    if (!(m_flags.load(std::memory_order_relaxed) & Backlog)) {
        m_flags.fetch_or(Backlog, std::memory_order_seq_cst);
        m_tail.fetch_or(WaitBit, std::memory_order_seq_cst);
    }
}

void ChannelBase::syncFlagsLocked() noexcept {
    const quint32 flags = m_flags.load(std::memory_order_relaxed);
    if ((flags & GetsWaiting) && m_getters.isEmpty()) {
        m_head.fetch_and(~WaitBit, std::memory_order_seq_cst);
        m_flags.fetch_and(~quint32(GetsWaiting), std::memory_order_seq_cst);
    }
    if ((flags & Backlog) && !hasBacklogLocked()) {
        m_tail.fetch_and(~WaitBit, std::memory_order_seq_cst);
        m_flags.fetch_and(~quint32(Backlog), std::memory_order_seq_cst);
    }
}

void ChannelBase::finishIfDrainedLocked(Batch &b) {
    if (isClosedLocked() && !isFinishedLocked() && ringCount() == 0 &&
        m_overflowCount.load(std::memory_order_relaxed) == 0)
        finishLocked(b);
}

void ChannelBase::failAllLocked(detail::WaiterList &list, Outcome outcome, Batch &b) {
    while (Waiter *w = list.first()) {
        list.remove(w);
        b.settle(w, w->isCanceled() ? Outcome::Canceled : outcome);
    }
}

void ChannelBase::finishLocked(Batch &b) {
    m_finished.store(true, std::memory_order_release);
    b.events |= Batch::Finished;
    b.joiners.swap(m_joiners);
}

ChannelBase::Outcome ChannelBase::block(Waiter &w, bool isGetter, QDeadlineTimer deadline) {
    if (!w.parker->park(deadline, isGetter ? &m_getSpin : &m_putSpin)) {
        detail::Locker locker(m_lock);
        if (w.outcome == Outcome::Pending) {
            (isGetter ? m_getters : m_putters).remove(&w);
            syncFlagsLocked();
            locker.unlock();
            m_blocked.fetch_sub(1, std::memory_order_release);
            return Outcome::Pending;
        }
        // Served while the deadline passed: its unpark is on the way.
        locker.unlock();
        w.parker->park();
    }
    const Outcome outcome = w.outcome;
    // The last access to the channel: the destructor may proceed once the count is zero.
    m_blocked.fetch_sub(1, std::memory_order_release);
    return outcome;
}

// --- after unlocking -------------------------------------------------------------------------

void ChannelBase::wakeBlocked(Batch &b) noexcept {
    // Blocked threads first: unparking runs no user code. Futures are relinked for settle().
    Waiter *futures = nullptr;
    Waiter **tail = &futures;
    for (Waiter *w = b.first; w;) {
        Waiter *next = w->next; // read first: an unparked waiter may be gone at once
        if (w->parker) {
            w->parker->unpark();
        } else {
            *tail = w;
            tail = &w->next;
        }
        w = next;
    }
    *tail = nullptr;
    b.first = futures;
    b.last = nullptr;
}

void ChannelBase::settle(Batch &b) {
    wakeBlocked(b);
    for (Waiter *w = b.first; w;) {
        Waiter *next = w->next;
        QFutureInterface<void> future(*w->future); // shares the promise's state
        if (w->outcome == Outcome::Closed)
            future.reportException(detail::closedError());
        else if (w->outcome == Outcome::Failed)
            future.reportException(w->error);
        future.reportFinished(); // runs the continuations, with no lock held
        delete w;                // a failed or canceled put's item goes with it
        w = next;
    }
    b.first = nullptr;
    if (b.joiners.isEmpty())
        return;
    for (QFutureInterface<void> &joiner : b.joiners) { // detaches, so only when non-empty
        if (b.cancelJoiners)
            joiner.reportCanceled();
        joiner.reportFinished();
    }
    b.joiners.clear();
}

void ChannelBase::emitEvents(quint8 events) {
    events &= m_listened.load(std::memory_order_relaxed);
    if (events & Batch::SizeChanged) {
        const qsizetype n = size();
        if (m_reportedSize.exchange(n, std::memory_order_relaxed) != n)
            Q_EMIT sizeChanged(n);
    }
    if (events & Batch::ItemAvailable)
        Q_EMIT itemAvailable();
    if (events & Batch::SpaceAvailable)
        Q_EMIT spaceAvailable();
    if (events & Batch::Closed)
        Q_EMIT closed();
    if (events & Batch::Finished)
        Q_EMIT finished();
}

void ChannelBase::finishSlow(Batch &b) {
    settle(b);
    if (const quint8 events = std::exchange(b.events, 0))
        emitEvents(events);
}

// --- destruction -----------------------------------------------------------------------------

void ChannelBase::shutdownLocked(Batch &b) {
    if (m_shutDown.load(std::memory_order_relaxed))
        return;
    m_shutDown.store(true, std::memory_order_release);
    m_closed.store(true, std::memory_order_release);
    m_flags.fetch_or(ClosedFlag, std::memory_order_seq_cst);
    m_tail.fetch_or(ClosedBit, std::memory_order_seq_cst);
    failAllLocked(m_putters, Outcome::Closed, b);
    failAllLocked(m_getters, Outcome::Closed, b);
    m_finished.store(true, std::memory_order_release);
    b.joiners.swap(m_joiners);
    b.cancelJoiners = true;
    b.runners.swap(m_runners);
}

void ChannelBase::completeShutdown(Batch &b) {
    settle(b); // no signals: the object is going away
    for (const auto &runner : std::as_const(b.runners))
        runner->channelDestroyed();
    b.runners.clear();
    // Threads woken from putBlocking()/getBlocking() still have to leave block().
    while (m_blocked.load(std::memory_order_acquire) != 0)
        QThread::yieldCurrentThread();
}

// The Batch::Event bit of one of our signals, 0 for any other; `index` gets its slot in
// m_listeners.
static quint8 eventOf(const QMetaMethod &signal, int *index) {
    static const QMetaMethod ours[] = {
        QMetaMethod::fromSignal(&ChannelBase::sizeChanged),
        QMetaMethod::fromSignal(&ChannelBase::itemAvailable),
        QMetaMethod::fromSignal(&ChannelBase::spaceAvailable),
        QMetaMethod::fromSignal(&ChannelBase::closed),
        QMetaMethod::fromSignal(&ChannelBase::finished),
    };
    for (int i = 0; i < 5; ++i) {
        if (signal == ours[i]) {
            *index = i;
            return quint8(1u << i); // the order of Batch::Event
        }
    }
    return 0;
}
static_assert(detail::Batch::SizeChanged == 1 && detail::Batch::ItemAvailable == 2 &&
              detail::Batch::SpaceAvailable == 4 && detail::Batch::Closed == 8 &&
              detail::Batch::Finished == 16);

// May run in any thread, possibly with a Qt-internal lock held: only atomics here.
void ChannelBase::connectNotify(const QMetaMethod &signal) {
    int i;
    if (const quint8 bit = eventOf(signal, &i)) {
        m_listeners[i].fetch_add(1);
        m_listened.fetch_or(bit);
    }
}

void ChannelBase::disconnectNotify(const QMetaMethod &signal) {
    if (!signal.isValid()) {
        // disconnect() of everything: which of our signals lost receivers is unknown.
        m_listenersUnknown.store(true);
        m_listened.store(0xff);
        return;
    }
    int i;
    const quint8 bit = eventOf(signal, &i);
    if (!bit || m_listeners[i].fetch_sub(1) != 1 || m_listenersUnknown.load())
        return;
    m_listened.fetch_and(quint8(~bit));
    if (m_listeners[i].load() > 0) // a receiver connected meanwhile
        m_listened.fetch_or(bit);
}

void ChannelBase::addRunner(std::shared_ptr<detail::ForEachRunner> runner) {
    detail::Locker locker(m_lock);
    m_runners.append(std::move(runner));
}

void ChannelBase::removeRunner(detail::ForEachRunner *runner) {
    std::shared_ptr<detail::ForEachRunner> last; // destroyed after unlocking
    detail::Locker locker(m_lock);
    for (qsizetype i = 0; i < m_runners.size(); ++i) {
        if (m_runners.at(i).get() == runner) {
            last = std::move(m_runners[i]);
            m_runners.removeAt(i);
            break;
        }
    }
}

} // namespace QtChannel
