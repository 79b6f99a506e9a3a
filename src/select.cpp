// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// Select: one waiter per arm in each channel's line, one state for the whole select. The
// first channel that reserves the state (Waiting -> Busy) and completes a transfer fires the
// select (Busy -> arm index); every other channel then finds it "withdrawn" and skips its
// arm, exactly as it skips a canceled future. docs/design.md, "Select", has the rules.

#include "QtChannel/select.h"

#include "QtChannel/detail/parker.h"
#include "QtChannel/detail/typed.h"
#include "channelbase_p.h"

#include <QtCore/QMetaObject>
#include <QtCore/QObject>
#include <QtCore/QPointer>
#include <QtCore/QThread>
#include <QtCore/QTimer>

#include <algorithm>
#include <mutex>
#include <numeric>
#include <random>

namespace QtChannel {

namespace detail {

namespace {
// The states of a select; an arm index (>= 0) once one fired.
enum State : int {
    Idle = -6,     // not running yet
    AllDead = -5,  // every arm is dead
    Canceled = -4, // its run was canceled (future canceled, context or select destroyed)
    TimedOut = -3, // the deadline passed first
    Busy = -2,     // a channel has reserved it and is transferring
    Waiting = -1,  // in the lines, nothing fired yet
};

// A small, fast random generator per thread, for the order the arms are tried in.
quint32 randomBelow(quint32 n) {
    thread_local std::minstd_rand rng(std::random_device{}());
    return quint32(rng()) % n;
}
} // namespace

/*
 * What an asynchronous run (run(context)) shares with the channels' threads, the context's
 * thread and the future: reference-counted, so that it outlives the Select if it must. Its
 * resolution always runs in the context's thread, through a relay object that lives there
 * (and, unlike the context, lives until the run is resolved: posting to it is always safe).
 */
struct AsyncRun final : CancelWatch, std::enable_shared_from_this<AsyncRun> {
    AsyncRun() = default;
    ~AsyncRun() override { unwatch(promise); }

    void canceled() noexcept override { post(); } // the future was canceled: resolve soon
    void post() noexcept {
        QMetaObject::invokeMethod(
            relay, [self = shared_from_this()] { self->resolve(); }, Qt::QueuedConnection);
    }
    void resolve();

    QFutureInterface<int> promise;
    QObject *relay = nullptr;  // in the context's thread; deleted once resolved
    QPointer<QObject> context; // read in the context's thread only
    std::mutex mutex;          // guards owner and done
    SelectCore *owner = nullptr;
    bool done = false;
    bool contextGone = false; // the context's thread only
};

class SelectCore {
public:
    explicit SelectCore(Select *s) noexcept
        : select(s) {}

    bool reserve() noexcept {
        for (Backoff backoff;;) {
            int s = state.load(std::memory_order_acquire);
            if (s == Waiting) {
                if (state.compare_exchange_weak(s, Busy, std::memory_order_acq_rel))
                    return true;
            } else if (s == Busy) {
                backoff.pause(); // another channel is transferring: a few instructions
            } else {
                return false;
            }
        }
    }
    void finish(int index, bool served) noexcept {
        state.store(served ? index : Waiting, std::memory_order_release);
    }
    bool isDone() const noexcept {
        const int s = state.load(std::memory_order_acquire);
        return s != Waiting && s != Busy;
    }
    // Moves Waiting to `to`, waiting out a reservation in progress; false if the select fired
    // or ended first.
    bool end(int to) noexcept {
        for (Backoff backoff;;) {
            int s = state.load(std::memory_order_acquire);
            if (s == Waiting) {
                if (state.compare_exchange_weak(s, to, std::memory_order_acq_rel))
                    return true;
            } else if (s == Busy) {
                backoff.pause();
            } else {
                return false;
            }
        }
    }

    SelectArm *armAt(int index) const { return select->m_arms[size_t(index)].get(); }
    void armWoken(SelectArm *arm) noexcept;
    void waitForArm(int index) noexcept;
    int tryPass(bool &allDead);
    bool registerArms(bool &notifyExpected);
    void withdrawAll(int except) noexcept;
    void giveBack(int index) noexcept;
    void reset(int arms);

    Select *const select;
    std::atomic<int> state{Idle};
    std::atomic<int> liveArms{0};
    Parker *parker = nullptr;        // a blocking run's thread
    std::shared_ptr<AsyncRun> async; // an asynchronous run
};

// --- the arms ------------------------------------------------------------------------------

SelectArm::SelectArm(Side s, ChannelBase *ch) noexcept
    : Waiter(s, Kind::Notify)
    , channel(ch)
    , anchor(ChannelBasePrivate::get(ch)->anchor) {}

SelectArm::~SelectArm() = default;

bool SelectArm::reserve() {
    return core->reserve();
}

bool SelectArm::finish(bool served) noexcept {
    core->finish(index, served);
    return true;
}

bool SelectArm::isWithdrawn() const {
    return core->isDone();
}

const void *SelectArm::group() const noexcept {
    return core;
}

void SelectArm::wake() noexcept {
    core->armWoken(this);
}

// The channel's last access to `arm`, after its lock was released: tells the owner when this
// arm fired, or was the last to die.
void SelectCore::armWoken(SelectArm *arm) noexcept {
    bool notify = false;
    switch (arm->outcome) {
    case Waiter::Outcome::Done:
    case Waiter::Outcome::Failed:
        notify = true; // this arm fired (finish() recorded it)
        break;
    case Waiter::Outcome::Closed:
        notify = liveArms.fetch_sub(1, std::memory_order_acq_rel) == 1 && end(AllDead);
        break;
    default:
        break; // skipped: the select fired elsewhere, or withdrew
    }
    Parker *const p = parker;
    if (notify && async)
        async->post(); // its resolution waits for `woken` before it touches the arm
    arm->woken.store(true, std::memory_order_release); // the owner may free arm and core now
    if (notify && p)
        p->unpark();
}

// Waits until the channel that fired arm `index` is done with it (its wake() ran), unless it
// fired in this thread, while it joined the lines.
void SelectCore::waitForArm(int index) noexcept {
    SelectArm *arm = select->m_arms[size_t(index)].get();
    if (!arm->linked)
        return;
    for (Backoff backoff; !arm->woken.load(std::memory_order_acquire);)
        backoff.pause();
}

// --- running ---------------------------------------------------------------------------------

void SelectCore::reset(int arms) {
    state.store(Waiting, std::memory_order_relaxed);
    liveArms.store(arms, std::memory_order_relaxed);
    for (int i = 0; i < arms; ++i) {
        SelectArm *arm = select->m_arms[size_t(i)].get();
        arm->core = this;
        arm->index = i;
    }
}

// Tries every arm once, in a random order, and fires the first that is ready. -1 if none;
// `allDead` then says whether none ever can.
int SelectCore::tryPass(bool &allDead) {
    const int n = int(select->m_arms.size());
    allDead = true;
    if (n == 0)
        return -1;
    const int start = int(randomBelow(quint32(n)));
    for (int k = 0; k < n; ++k) {
        const int i = (start + k) % n;
        SelectArm *arm = select->m_arms[size_t(i)].get();
        if (arm->tryNow()) {
            state.store(i, std::memory_order_release);
            allDead = false;
            return i;
        }
        if (!arm->isDead())
            allDead = false;
    }
    return -1;
}

// Joins the line of every live arm's channel, in a random order, until one fires (here, or
// in a channel's thread) or all are in. Returns true when the select fired or ended here;
// `notifyExpected` is whether a channel's thread will tell the owner.
bool SelectCore::registerArms(bool &notifyExpected) {
    notifyExpected = false;
    const int n = int(select->m_arms.size());
    if (n == 0)
        return end(AllDead);
    const int start = int(randomBelow(quint32(n)));
    for (int k = 0; k < n; ++k) {
        SelectArm *arm = select->m_arms[size_t((start + k) % n)].get();
        Deferred d;
        ChannelBasePrivate *channel = ChannelBasePrivate::get(arm->channel);
        const Queued queued = channel->enqueue(arm, d);
        channel->flush(d);
        switch (queued) {
        case Queued::Waiting:
            arm->linked = true;
            break;
        case Queued::Served:
            if (arm->outcome == Waiter::Outcome::Canceled) {
                notifyExpected = true; // it fired in a channel's thread: its wake comes
                return false;
            }
            return true; // fired here (done or failed): not linked, no wake to wait for
        case Queued::Closed:
            if (liveArms.fetch_sub(1, std::memory_order_acq_rel) == 1 && end(AllDead))
                return true;
            break;
        }
        if (isDone()) { // fired or ended in a channel's thread meanwhile
            notifyExpected = true;
            return false;
        }
    }
    notifyExpected = false;
    return false;
}

// Takes every arm but `except` out of its channel's line (or waits until its channel is done
// with it).
void SelectCore::withdrawAll(int except) noexcept {
    for (const auto &arm : select->m_arms) {
        if (arm->index != except && arm->linked) {
            arm->anchor->withdraw(arm.get());
            arm->linked = false;
        }
    }
}

// A get arm that fired and whose handler will not run: its item goes back to the head of its
// channel (or, if the channel is gone or finished, is destroyed or handed over as
// undelivered).
void SelectCore::giveBack(int index) noexcept {
    if (index < 0)
        return;
    SelectArm *arm = select->m_arms[size_t(index)].get();
    if (arm->side != Waiter::Side::Get || arm->takenCount() == 0)
        return;
    Deferred d;
    arm->anchor->visit([&](ChannelBasePrivate *channel) { channel->giveBackFromOutside(*arm, d); });
    arm->dropTaken();
    d.wake();
    d.complete();
}

void AsyncRun::resolve() {
    int fired;
    bool canceled;
    {
        std::lock_guard locker(mutex);
        if (done || !owner)
            return;
        canceled = contextGone || !context || promise.isCanceled();
        if (canceled)
            owner->end(Canceled); // no effect if an arm fired, or the run ended, first
        else if (!owner->isDone())
            return; // nothing to resolve yet
        done = true;
        fired = owner->state.load(std::memory_order_acquire);
    }
    unwatch(promise); // no cancel may post to the relay once it is going
    SelectCore *core = owner;
    if (fired >= 0)
        core->waitForArm(fired);
    core->withdrawAll(fired);
    relay->deleteLater();
    if (canceled) {
        // An arm that fired and whose handler will not run loses nothing: a get's item goes
        // back to the head of its channel, a put's item stays accepted.
        core->giveBack(fired);
        promise.cancel();
        promise.reportFinished();
        return;
    }
    if (fired == AllDead) {
        promise.reportException(closedError());
        promise.reportFinished();
        return;
    }
    if (fired >= 0) {
        SelectArm *arm = core->armAt(fired);
        try {
            if (arm->outcome == Waiter::Outcome::Failed)
                std::rethrow_exception(arm->error);
            arm->invoke();
        } catch (...) {
            promise.reportException(std::current_exception());
            promise.reportFinished();
            return;
        }
    }
    promise.reportResult(fired >= 0 ? fired : -1); // -1: the deadline passed
    promise.reportFinished();
}

} // namespace detail

// --- Select ----------------------------------------------------------------------------------

Select::Select() = default;

Select::~Select() {
    if (!m_core || !m_core->async)
        return;
    const std::shared_ptr<detail::AsyncRun> async = m_core->async;
    int fired;
    {
        std::lock_guard locker(async->mutex);
        async->owner = nullptr;
        if (async->done)
            return;
        async->done = true;
        m_core->end(detail::Canceled);
        fired = m_core->state.load(std::memory_order_acquire);
    }
    async->unwatch(async->promise);
    if (fired >= 0)
        m_core->waitForArm(fired);
    m_core->withdrawAll(fired);
    m_core->giveBack(fired);
    async->relay->deleteLater();
    async->promise.cancel();
    async->promise.reportFinished();
}

Select &Select::add(std::unique_ptr<detail::SelectArm> arm) {
    if (m_used)
        throw std::logic_error("QtChannel::Select: arms cannot be added once it ran");
    m_arms.push_back(std::move(arm));
    return *this;
}

void Select::begin(const char *what) {
    if (m_used)
        throw std::logic_error(std::string("QtChannel::Select::") + what +
                               ": a Select runs once; build a new one for each run");
    m_used = true;
    m_core = std::make_unique<detail::SelectCore>(this);
    m_core->reset(int(m_arms.size()));
}

int Select::tryRun() {
    begin("tryRun()");
    bool allDead = false;
    const int fired = m_core->tryPass(allDead);
    if (fired >= 0)
        m_arms[size_t(fired)]->invoke();
    return fired;
}

int Select::runBlocking(QDeadlineTimer deadline) {
    begin("runBlocking()");
    detail::SelectCore &core = *m_core;
    bool allDead = false;
    int fired = core.tryPass(allDead);
    if (fired < 0 && !allDead && !deadline.hasExpired()) {
        core.state.store(detail::Waiting, std::memory_order_release);
        detail::Parker &parker = detail::Parker::forThisThread();
        core.parker = &parker;
        // Whatever happens, the arms leave their lines before the Select can go.
        const auto withdraw = qScopeGuard([&core] { core.withdrawAll(-1); });
        bool notifyExpected = false;
        if (!core.registerArms(notifyExpected)) {
            // In the lines: wait for a channel to fire it or kill its last arm (its wake
            // unparks us), or for the deadline.
            if (!parker.park(deadline) && !core.end(detail::TimedOut))
                parker.park(); // fired or dead as the deadline passed: its wake is coming
        }
        fired = core.state.load(std::memory_order_acquire);
        core.withdrawAll(fired);
        if (fired >= 0 && m_arms[size_t(fired)]->outcome == detail::Waiter::Outcome::Failed)
            std::rethrow_exception(m_arms[size_t(fired)]->error);
    }
    if (fired < 0)
        return -1;
    m_arms[size_t(fired)]->invoke();
    return fired;
}

QFuture<int> Select::run(QObject *context) {
    return run(context, QDeadlineTimer(QDeadlineTimer::Forever));
}

QFuture<int> Select::run(QObject *context, QDeadlineTimer deadline) {
    if (!context)
        throw std::invalid_argument("QtChannel::Select::run: context must not be null");
    begin("run()");
    detail::SelectCore &core = *m_core;
    const bool inContextThread = QThread::currentThread() == context->thread();

    bool allDead = false;
    if (inContextThread) {
        // Ready now, in the context's thread: the handler runs here, before run() returns.
        const int fired = core.tryPass(allDead);
        if (fired >= 0) {
            try {
                m_arms[size_t(fired)]->invoke();
            } catch (...) {
                return QtFuture::makeExceptionalFuture<int>(std::current_exception());
            }
            return QtFuture::makeReadyFuture(fired);
        }
        if (allDead)
            return QtFuture::makeExceptionalFuture<int>(detail::closedError());
        if (deadline.hasExpired())
            return QtFuture::makeReadyFuture(-1);
    }

    auto async = std::make_shared<detail::AsyncRun>();
    async->promise.reportStarted();
    async->watch(async->promise);
    QFuture<int> future = async->promise.future();
    async->context = context;
    async->owner = &core;
    async->relay = new QObject;
    async->relay->moveToThread(context->thread());
    core.async = async;
    core.state.store(detail::Waiting, std::memory_order_release);
    const std::weak_ptr<detail::AsyncRun> weak = async;
    // The context's destroyed() comes in the thread that destroys it (its own).
    QObject::connect(
        context, &QObject::destroyed, async->relay,
        [weak] {
            if (const auto self = weak.lock()) {
                self->contextGone = true;
                self->resolve();
            }
        },
        Qt::DirectConnection);

    if (!inContextThread) {
        // Not tried here: an arm that fires must have its handler run in the context's
        // thread; the lines decide, and tell the relay.
        bool dead = true;
        for (const auto &arm : m_arms)
            dead = dead && arm->isDead();
        if (dead && !m_arms.empty()) {
            core.end(detail::AllDead);
            async->post();
            return future;
        }
    }
    bool notifyExpected = false;
    if (core.registerArms(notifyExpected) || m_arms.empty()) {
        if (m_arms.empty())
            core.end(detail::AllDead);
        async->post(); // fired or all dead right here: resolve in the context's thread
    }
    if (!deadline.isForever() && !core.isDone()) {
        const qint64 ms = std::max<qint64>(0, deadline.remainingTime());
        QMetaObject::invokeMethod(
            async->relay,
            [weak, ms] {
                const auto self = weak.lock();
                if (!self)
                    return;
                QTimer::singleShot(std::chrono::milliseconds(ms), Qt::PreciseTimer, self->relay,
                                   [weak] {
                                       const auto run = weak.lock();
                                       if (!run)
                                           return;
                                       bool timedOut = false;
                                       {
                                           std::lock_guard locker(run->mutex);
                                           timedOut = !run->done && run->owner &&
                                                      run->owner->end(detail::TimedOut);
                                       }
                                       if (timedOut)
                                           run->resolve();
                                   });
            },
            inContextThread ? Qt::DirectConnection : Qt::QueuedConnection);
    }
    return future;
}

} // namespace QtChannel
