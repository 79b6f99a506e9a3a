// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// Select: one waiter per arm in each channel's line, one state for the whole select. The
// first channel that reserves the state (Waiting -> Busy) and completes a transfer fires the
// select (Busy -> arm index); every other channel then finds it "withdrawn" and skips its
// arm, exactly as it skips a canceled future. docs/design.md, "Select", has the rules.

#include "QtChannel/select.h"

#include "QtChannel/detail/parker.h"
#include "QtChannel/detail/resume.h"
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
Q_DECL_COLD_FUNCTION Q_NEVER_INLINE quint32 randomSeed() {
    return std::random_device{}() | 1u;
}

// A small, fast random number below n per thread, for the order the arms are tried in
// (xorshift32; Lemire's multiply-shift instead of a division). The state is constant-initialised
// (no guard on each call) and seeded on first use.
quint32 randomBelow(quint32 n) noexcept {
    thread_local quint32 x = 0;
    if (Q_UNLIKELY(x == 0))
        x = randomSeed();
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return quint32((quint64(x) * n) >> 32);
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

// --- the state ------------------------------------------------------------------------------

bool SelectCore::reserve() noexcept {
    for (Backoff backoff;;) {
        int s = state.load(std::memory_order_acquire);
        if (s == Waiting) {
            // A run() whose future was canceled is withdrawn as soon as a channel looks at it,
            // not when its context's thread resolves the cancel: it never fires after the
            // cancel (the resolve then finds it ended, and settles it).
            const int to = async && async->promise.isCanceled() ? Canceled : Busy;
            if (state.compare_exchange_weak(s, to, std::memory_order_acq_rel))
                return to == Busy;
        } else if (s == Busy) {
            backoff.pause(); // another channel is transferring: a few instructions
        } else {
            return false;
        }
    }
}

void SelectCore::finish(int index, bool served) noexcept {
    state.store(served ? index : Waiting, std::memory_order_release);
}

bool SelectCore::isDone() const noexcept {
    const int s = state.load(std::memory_order_acquire);
    return s != Waiting && s != Busy;
}

// Moves Waiting to `to`, waiting out a reservation in progress; false if the select fired or
// ended first.
bool SelectCore::end(int to) noexcept {
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

SelectArm *SelectCore::armAt(int index) const noexcept {
    return select->m_arms[index];
}

// --- the arms ------------------------------------------------------------------------------

SelectArm::SelectArm(Side s, ChannelBase *ch) noexcept
    : Waiter(s, Kind::Notify)
    , channel(ch) {}

SelectArm::~SelectArm() = default;

bool SelectArm::reserve() {
    return core->reserve();
}

bool SelectArm::finish(bool served) noexcept {
    core->finish(index, served);
    return true;
}

bool SelectArm::isWithdrawn() const {
    // As a canceled future's waiter: withdrawn from the cancel on, not from its resolution.
    return core->isDone() || (core->async && core->async->promise.isCanceled());
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
    if (notify && resume) {
        // The coroutine resumes from its thread's event loop. `woken` is set under the
        // queue's mutex, as the last access to arm and core.
        const std::shared_ptr<ResumeQueue> queue = resume;
        queue->push(&resumeEntry, &arm->woken);
        return;
    }
    arm->woken.store(true, std::memory_order_release); // the owner may free arm and core now
    if (notify && p)
        p->unpark();
}

// Waits until the channel that fired arm `index` is done with it (its wake() ran), unless it
// fired in this thread, while it joined the lines.
void SelectCore::waitForArm(int index) noexcept {
    SelectArm *arm = armAt(index);
    if (!arm->linked)
        return;
    for (Backoff backoff; !arm->woken.load(std::memory_order_acquire);)
        backoff.pause();
}

// --- running ---------------------------------------------------------------------------------

void SelectCore::reset(int arms) noexcept {
    state.store(Waiting, std::memory_order_relaxed);
    liveArms.store(arms, std::memory_order_relaxed);
    for (int i = 0; i < arms; ++i) {
        SelectArm *arm = armAt(i);
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
        SelectArm *arm = armAt(i);
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
        SelectArm *arm = armAt((start + k) % n);
        ChannelBasePrivate *const channel = ChannelBasePrivate::get(arm->channel);
        if (!arm->anchor) // what lets a withdrawal find the channel, or find it gone
            arm->anchor = AnchorRef(channel->anchor);
        const Queued queued = channel->enqueueAndFlush(arm);
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
    for (SelectArm *arm : select->m_arms) {
        if (arm->index != except && arm->linked) {
            arm->anchor->withdraw(arm);
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
    SelectArm *arm = armAt(index);
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
            owner->end(SelectCore::Canceled); // no effect if an arm fired, or the run ended, first
        else if (!owner->isDone())
            return; // nothing to resolve yet
        done = true;
        fired = owner->state.load(std::memory_order_acquire);
    }
    SelectCore *core = owner;
    core->endAsync(fired);
    if (canceled) {
        core->cancelAsync(fired);
        return;
    }
    if (fired == SelectCore::AllDead) {
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

// The end of an asynchronous run, once decided (`done` set under its mutex): no cancel posts to
// the relay any more, the arms leave their lines, the relay goes.
void SelectCore::endAsync(int fired) noexcept {
    async->unwatch(async->promise);
    if (fired >= 0)
        waitForArm(fired);
    withdrawAll(fired);
    async->relay->deleteLater();
}

// Cancels an ended asynchronous run. An arm that fired and whose handler will not run loses
// nothing: a get's item goes back to the head of its channel, a put's item stays accepted.
void SelectCore::cancelAsync(int fired) noexcept {
    giveBack(fired);
    async->promise.cancel();
    async->promise.reportFinished();
}

// --- co_await ------------------------------------------------------------------------------

SelectAwaiter::SelectAwaiter(Select &select, QDeadlineTimer deadline) noexcept
    : m_select(&select)
    , m_deadline(deadline) {}

SelectAwaiter::SelectAwaiter(SelectAwaiter &&other) noexcept
    : m_select(other.m_select)
    , m_deadline(other.m_deadline) {}

bool SelectAwaiter::await_ready() {
    m_select->begin("operator co_await()");
    bool allDead = false;
    m_fired = m_select->m_core.tryPass(allDead);
    return m_fired >= 0 || allDead || m_deadline.hasExpired();
}

bool SelectAwaiter::await_suspend(std::coroutine_handle<> handle) {
    SelectCore &core = m_select->m_core;
    core.resume = ResumeQueue::forThisThread();
    core.resumeEntry.handle = handle;
    core.state.store(SelectCore::Waiting, std::memory_order_release);
    bool notifyExpected = false;
    if (core.registerArms(notifyExpected)) {
        // Fired or all dead right here: go on now, in this thread.
        m_fired = core.state.load(std::memory_order_acquire);
        core.withdrawAll(m_fired);
        core.resume.reset();
        return false;
    }
    m_suspended = true;
    if (!m_deadline.isForever() && !notifyExpected) {
        m_timer = std::make_unique<QTimer>();
        m_timer->setSingleShot(true);
        m_timer->setTimerType(Qt::PreciseTimer);
        QObject::connect(m_timer.get(), &QTimer::timeout, [&core] {
            if (core.end(
                    SelectCore::TimedOut)) // no channel will notify: resume from the event loop
                core.resume->push(&core.resumeEntry);
        });
        m_timer->start(std::chrono::milliseconds(std::max<qint64>(0, m_deadline.remainingTime())));
    }
    return true;
}

int SelectAwaiter::await_resume() {
    m_resumed = true;
    SelectCore &core = m_select->m_core;
    if (m_suspended) {
        m_timer.reset();
        m_fired = core.state.load(std::memory_order_acquire);
        if (m_fired >= 0)
            core.waitForArm(m_fired);
        core.withdrawAll(m_fired);
        core.resume.reset();
    }
    if (m_fired < 0)
        return -1;
    SelectArm *arm = core.armAt(m_fired);
    if (arm->outcome == Waiter::Outcome::Failed)
        std::rethrow_exception(arm->error);
    arm->invoke();
    return m_fired;
}

// The coroutine was destroyed while suspended, in its own thread: withdraw from every line, and
// take the resumption out of the queue if a channel (or the deadline) had queued it.
SelectAwaiter::~SelectAwaiter() {
    if (!m_suspended || m_resumed)
        return;
    m_timer.reset();
    SelectCore &core = m_select->m_core;
    core.end(SelectCore::Canceled);
    const int fired = core.state.load(std::memory_order_acquire);
    if (fired >= 0)
        core.waitForArm(fired);
    core.withdrawAll(fired); // after it, no channel touches the select again
    core.resume->remove(&core.resumeEntry);
    core.resume.reset();
    core.giveBack(fired);
}

} // namespace detail

// --- Select ----------------------------------------------------------------------------------

Select::Select()
    : m_core(this) {}

Select::~Select() {
    if (const std::shared_ptr<detail::AsyncRun> async = m_core.async) {
        int fired = -1;
        bool ended = false;
        {
            std::lock_guard locker(async->mutex);
            async->owner = nullptr;
            if (!async->done) {
                async->done = true;
                ended = true;
                m_core.end(detail::SelectCore::Canceled);
                fired = m_core.state.load(std::memory_order_acquire);
            }
        }
        if (ended) {
            m_core.endAsync(fired);
            m_core.cancelAsync(fired);
        }
    }
    for (detail::SelectArm *arm : m_arms) {
        if (isInline(arm))
            arm->~SelectArm();
        else
            delete arm;
    }
}

void Select::checkUnused() const {
    if (m_used)
        throw std::logic_error("QtChannel::Select: arms cannot be added once it ran");
}

void Select::begin(const char *what) {
    if (m_used)
        throw std::logic_error(std::string("QtChannel::Select::") + what +
                               ": a Select runs once; build a new one for each run");
    m_used = true;
    m_core.reset(int(m_arms.size()));
}

int Select::tryRun() {
    begin("tryRun()");
    bool allDead = false;
    const int fired = m_core.tryPass(allDead);
    if (fired >= 0)
        m_arms[fired]->invoke();
    return fired;
}

int Select::runBlocking(QDeadlineTimer deadline) {
    begin("runBlocking()");
    detail::SelectCore &core = m_core;
    bool allDead = false;
    int fired = core.tryPass(allDead);
    if (fired < 0 && !allDead && !deadline.hasExpired()) {
        core.state.store(detail::SelectCore::Waiting, std::memory_order_release);
        detail::Parker &parker = detail::Parker::forThisThread();
        core.parker = &parker;
        // Whatever happens, the arms leave their lines before the Select can go.
        const auto withdraw = qScopeGuard([&core] { core.withdrawAll(-1); });
        bool notifyExpected = false;
        if (!core.registerArms(notifyExpected)) {
            // In the lines: wait for a channel to fire it or kill its last arm (its wake
            // unparks us), or for the deadline.
            if (!parker.park(deadline) && !core.end(detail::SelectCore::TimedOut))
                parker.park(); // fired or dead as the deadline passed: its wake is coming
        }
        fired = core.state.load(std::memory_order_acquire);
        core.withdrawAll(fired);
        if (fired >= 0 && m_arms[fired]->outcome == detail::Waiter::Outcome::Failed)
            std::rethrow_exception(m_arms[fired]->error);
    }
    if (fired < 0)
        return -1;
    m_arms[fired]->invoke();
    return fired;
}

QFuture<int> Select::run(QObject *context) {
    return run(context, QDeadlineTimer(QDeadlineTimer::Forever));
}

QFuture<int> Select::run(QObject *context, QDeadlineTimer deadline) {
    if (!context)
        throw std::invalid_argument("QtChannel::Select::run: context must not be null");
    begin("run()");
    detail::SelectCore &core = m_core;
    const bool inContextThread = QThread::currentThread() == context->thread();

    bool allDead = false;
    if (inContextThread) {
        // Ready now, in the context's thread: the handler runs here, before run() returns.
        const int fired = core.tryPass(allDead);
        if (fired >= 0) {
            try {
                m_arms[fired]->invoke();
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
    core.state.store(detail::SelectCore::Waiting, std::memory_order_release);
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
        for (const detail::SelectArm *arm : m_arms)
            dead = dead && arm->isDead();
        if (dead && !m_arms.empty()) {
            core.end(detail::SelectCore::AllDead);
            async->post();
            return future;
        }
    }
    bool notifyExpected = false;
    if (core.registerArms(notifyExpected) || m_arms.empty()) {
        if (m_arms.empty())
            core.end(detail::SelectCore::AllDead);
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
                                                      run->owner->end(detail::SelectCore::TimedOut);
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
