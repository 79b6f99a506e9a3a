// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

#include <QtChannel/channel.h>
#include <QtChannel/detail/anchor.h>
#include <QtChannel/detail/cancelwatch.h>
#include <QtChannel/detail/resume.h>
#include <QtChannel/handles.h>

#include <QtCore/QDeadlineTimer>
#include <QtCore/QFuture>
#include <QtCore/QVarLengthArray>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

/*!
 * \file select.h
 * \brief Select: wait on several channels at once. Include <QtChannel/Channel>.
 */

QT_BEGIN_NAMESPACE
class QObject;
class QTimer;
QT_END_NAMESPACE

namespace QtChannel {

class Select;

namespace detail {

class SelectCore;
class Parker;
struct AsyncRun;

/*
 * One arm of a Select: the waiter it puts in its channel's line, and the typed part (its
 * item, its handler). The waiter's protocol is the select's: reserving an arm reserves the
 * whole select, so exactly one arm of it is ever served (select.cpp).
 */
class QTCHANNEL_EXPORT SelectArm : public Waiter {
public:
    SelectArm(Side side, ChannelBase *channel) noexcept;
    ~SelectArm() override;

    bool reserve() override;
    bool finish(bool served) noexcept override;
    bool isWithdrawn() const override;
    const void *group() const noexcept override;
    void wake() noexcept override;

    // Tries the arm now, without waiting: true if it fired (the item taken into the arm, or
    // its item put).
    virtual bool tryNow() = 0;
    // Whether it can never fire: a get on a finished channel, a put on a closed one.
    virtual bool isDead() const = 0;
    // Runs the handler (a get's with its item). The arm has fired.
    virtual void invoke() = 0;

    ChannelBase *const channel;
    AnchorRef anchor; // taken when the arm joins its channel's line (select.cpp)
    SelectCore *core = nullptr;
    int index = -1;
    bool linked = false; // joined its channel's line in this run
};

// `Keep` holds what keeps the channel alive while the Select has the arm (a handle), or
// nothing (std::nullptr_t) for a channel passed by reference.
template <typename T, typename F, typename Keep = std::nullptr_t>
class GetArm final : public SelectArm {
public:
    template <typename G>
    GetArm(Channel<T> &ch, G &&handler, Keep keep = Keep())
        : SelectArm(Side::Get, &ch)
        , m_keep(std::move(keep))
        , m_channel(ch)
        , m_handler(std::forward<G>(handler)) {}

    bool accept(void *from) override {
        m_item.emplace(std::move_if_noexcept(*itemCast<T>(from)));
        return true;
    }
    qsizetype takenCount() const override { return m_item ? 1 : 0; }
    void *takenItem(qsizetype) override { return &*m_item; }
    void dropTaken() noexcept override { m_item.reset(); }

    bool tryNow() override {
        m_item = m_channel.tryGet();
        return m_item.has_value();
    }
    bool isDead() const override { return m_channel.isFinished(); }
    void invoke() override {
        const auto reset = qScopeGuard([this] { m_item.reset(); });
        std::invoke(m_handler, std::move(*m_item));
    }

private:
    [[no_unique_address]] Keep m_keep;
    Channel<T> &m_channel;
    F m_handler;
    std::optional<T> m_item; // the item, between the arm firing and the handler
};

template <typename T, typename F, typename Keep = std::nullptr_t>
class PutArm final : public SelectArm {
public:
    template <typename G>
    PutArm(Channel<T> &ch, T &&value, G &&handler, Keep keep = Keep())
        : SelectArm(Side::Put, &ch)
        , m_keep(std::move(keep))
        , m_channel(ch)
        , m_handler(std::forward<G>(handler))
        , m_value(std::move(value)) {
        item = &m_value;
    }

    bool accept(void *) override { return false; }
    bool tryNow() override { return m_channel.tryPut(std::move(m_value)) == PutResult::Ok; }
    bool isDead() const override { return m_channel.isClosed(); }
    void invoke() override { std::invoke(m_handler); }

private:
    [[no_unique_address]] Keep m_keep;
    Channel<T> &m_channel;
    F m_handler;
    T m_value; // the Select's until the arm fires (moved from only then)
};

/*
 * The state one run of a Select shares with the channels whose lines its arms join: one atomic
 * for the whole select (Idle, Waiting, Busy while a channel transfers, then the index of the
 * arm that fired, or how the run ended), and how to tell the runner. Part of the Select itself
 * (no allocation); select.cpp has the protocol.
 */
class SelectCore {
public:
    explicit SelectCore(Select *s) noexcept
        : select(s) {}
    SelectCore(const SelectCore &) = delete;
    SelectCore &operator=(const SelectCore &) = delete;

    // The states; an arm's index (>= 0) once one fired.
    enum State : int {
        Idle = -6,     // not running yet
        AllDead = -5,  // every arm is dead
        Canceled = -4, // its run was canceled (future canceled, context or select destroyed)
        TimedOut = -3, // the deadline passed first
        Busy = -2,     // a channel has reserved it and is transferring
        Waiting = -1,  // in the lines, nothing fired yet
    };

    bool reserve() noexcept;
    void finish(int index, bool served) noexcept;
    bool isDone() const noexcept;
    bool end(int to) noexcept;

    SelectArm *armAt(int index) const noexcept;
    void armWoken(SelectArm *arm) noexcept;
    void waitForArm(int index) noexcept;
    int tryPass(bool &allDead);
    bool registerArms(bool &notifyExpected);
    void withdrawAll(int except) noexcept;
    void giveBack(int index) noexcept;
    void reset(int arms) noexcept;
    void endAsync(int fired) noexcept;
    void cancelAsync(int fired) noexcept;

    Select *const select;
    std::atomic<int> state{Idle};
    std::atomic<int> liveArms{0};
    Parker *parker = nullptr;            // a blocking run's thread
    std::shared_ptr<AsyncRun> async;     // an asynchronous run
    std::shared_ptr<ResumeQueue> resume; // an awaiting coroutine's thread
    ResumeQueue::Entry resumeEntry;      // its place in that queue
};

/*
 * The awaitable of `co_await select` and `co_await select.until(deadline)`: the index of the
 * arm that fired, or -1 (every arm dead, or the deadline passed). Ready at once (no
 * suspension) when an arm is ready now. Otherwise the select joins every line and the
 * coroutine resumes in its own thread, from its event loop (as a suspended receive() does),
 * never inline on a channel's thread. A coroutine destroyed while suspended withdraws the
 * select from every line; a get arm that had fired gives its item back to the head of its
 * channel. Movable until it is awaited.
 */
class QTCHANNEL_EXPORT SelectAwaiter {
public:
    SelectAwaiter(Select &select, QDeadlineTimer deadline) noexcept;
    SelectAwaiter(SelectAwaiter &&other) noexcept; // only before it is awaited
    SelectAwaiter(const SelectAwaiter &) = delete;
    SelectAwaiter &operator=(const SelectAwaiter &) = delete;
    SelectAwaiter &operator=(SelectAwaiter &&) = delete;
    ~SelectAwaiter();

    bool await_ready();
    bool await_suspend(std::coroutine_handle<> handle);
    int await_resume();

private:
    Select *m_select;
    QDeadlineTimer m_deadline;
    std::unique_ptr<QTimer> m_timer; // the deadline, in the awaiting thread
    int m_fired = -1;
    bool m_suspended = false;
    bool m_resumed = false;
};

} // namespace detail

/*!
 * \brief Waits on several channels at once and fires exactly one arm: Go's `select`, in every
 * style QtChannel has.
 *
 * \code
 * QtChannel::Select select;
 * select.onGet(jobs,    [](Job job) { run(job); });
 * select.onGet(control, [](Command c) { obey(c); });
 * select.onPut(results, std::move(result), [] { sent(); });
 * int fired = select.tryRun();                    // now, or -1 (Go's `default`)
 * int fired = select.runBlocking(deadline);       // worker threads (Go's `time.After`)
 * QFuture<int> fired = select.run(context);       // handlers in context's thread
 * int fired = co_await select;                    // coroutines (see operator co_await())
 * \endcode
 *
 * **Exactly one arm fires**: its get takes one item (or its put is accepted), its handler runs
 * once, and no other arm takes an item or puts its item. The result is the arm's index, in
 * onGet()/onPut() order. A waiting select joins the line of every channel of its arms and is
 * served first come, first served with that channel's other waiters; the first channel able
 * to serve it claims it, and every other channel skips it as it skips a canceled waiter.
 *
 * **Fairness**: when several arms are ready, one of them is chosen at random.
 *
 * **Dead arms** (a get on a finished channel, a put on a closed one) never fire; when every arm
 * is dead, tryRun() and runBlocking() return -1 and run() fails with ChannelClosed. A channel
 * destroyed while the select waits kills its arms; the others still work.
 *
 * **Single use**: a Select runs once (a tryRun() that returned -1 included); running it again
 * throws std::logic_error. Loops build one per iteration. An item given to onPut() belongs to
 * the Select until its arm fires, and is destroyed with the Select otherwise.
 *
 * **Handlers** run in the thread that runs the select (tryRun(), runBlocking(), `co_await`), or
 * in the context's thread (run()), before the result is delivered. A handler that throws: the
 * arm has fired (its item was taken or put), and the exception goes to the caller or fails the
 * future.
 *
 * A Select is used from one thread at a time; keep it alive until its run() has finished (a
 * Select destroyed while its run() is pending withdraws from every line, cancels the future,
 * and destroys its put items; a get arm that had already fired gives its item back to the head
 * of its channel).
 *
 * Example: examples/08-select/main.cpp.
 */
class QTCHANNEL_EXPORT Select {
public:
    Select();
    ~Select();
    Select(const Select &) = delete;
    Select &operator=(const Select &) = delete;

    //! Adds an arm that takes one item from `channel` and calls `handler(T)` with it.
    template <typename T, typename F> Select &onGet(Channel<T> &channel, F handler) {
        static_assert(std::is_invocable_v<F &, T &&>,
                      "QtChannel::Select::onGet: the handler must be callable with a T");
        return add<detail::GetArm<T, F>>(channel, std::move(handler));
    }
    //! \overload The Select holds a copy of `receiver`: the channel lives while it does.
    template <typename T, typename F> Select &onGet(const Receiver<T> &receiver, F handler) {
        static_assert(std::is_invocable_v<F &, T &&>,
                      "QtChannel::Select::onGet: the handler must be callable with a T");
        Channel<T> &ch = receiver.target("Select::onGet()");
        return add<detail::GetArm<T, F, Receiver<T>>>(ch, std::move(handler), receiver);
    }
    //! Adds an arm that puts `item` into `channel` and then calls `handler()`.
    template <typename T, typename F> Select &onPut(Channel<T> &channel, T item, F handler) {
        static_assert(std::is_invocable_v<F &>,
                      "QtChannel::Select::onPut: the handler must be callable with no argument");
        return add<detail::PutArm<T, F>>(channel, std::move(item), std::move(handler));
    }
    //! \overload The Select holds a copy of `sender`: the channel lives while it does.
    template <typename T, typename F> Select &onPut(const Sender<T> &sender, T item, F handler) {
        static_assert(std::is_invocable_v<F &>,
                      "QtChannel::Select::onPut: the handler must be callable with no argument");
        Channel<T> &ch = sender.target("Select::onPut()");
        return add<detail::PutArm<T, F, Sender<T>>>(ch, std::move(item), std::move(handler),
                                                    sender);
    }

    /*!
     * Fires one of the arms that are ready now (chosen at random) and runs its handler, in
     * this thread; returns its index, or -1 when none is ready (or every arm is dead). Never
     * waits. Go's `select` with a `default`.
     * \throws std::logic_error if the select already ran; whatever the handler throws.
     */
    int tryRun();

    /*!
     * For worker threads: waits until an arm fires or the deadline passes, runs its handler in
     * this thread, and returns its index; -1 at the deadline, or when every arm is dead.
     * \throws std::logic_error if the select already ran; whatever the handler throws.
     */
    int runBlocking(QDeadlineTimer deadline = QDeadlineTimer(QDeadlineTimer::Forever));

    /*!
     * Waits without blocking: the returned future finishes with the index of the arm that
     * fired, after its handler ran in `context`'s thread. Fails with ChannelClosed when every
     * arm is dead, and with what the handler threw. Canceled if `context` is destroyed first
     * (no arm fired: nothing taken, nothing put; or an arm fired and its handler had not run:
     * a get's item goes back to the head of its channel, a put's item stays accepted), or if
     * the future is canceled (the select withdraws from every line). When called in
     * `context`'s thread with an arm ready, the handler runs before run() returns.
     * \throws std::logic_error if the select already ran; std::invalid_argument if `context`
     * is null.
     */
    QFuture<int> run(QObject *context);

    //! \overload Finishes with -1 when the deadline passes first, with no arm fired.
    QFuture<int> run(QObject *context, QDeadlineTimer deadline);

    /*!
     * For coroutines: `int fired = co_await select;` waits without blocking the thread until an
     * arm fires, runs its handler in the awaiting thread, and gives its index; -1 when every
     * arm is dead. Works in any C++20 coroutine type; the coroutine resumes from its thread's
     * event loop. Destroying the suspended coroutine withdraws the select (nothing taken,
     * nothing put; a get arm that had fired gives its item back to the head of its channel).
     * \throws std::logic_error if the select already ran; whatever the handler throws.
     */
    detail::SelectAwaiter operator co_await() & {
        return detail::SelectAwaiter(*this, QDeadlineTimer(QDeadlineTimer::Forever));
    }

    //! For coroutines, as `co_await select`, but gives -1 when the deadline passes first.
    detail::SelectAwaiter until(QDeadlineTimer deadline) & {
        return detail::SelectAwaiter(*this, deadline);
    }

    //! The number of arms.
    int count() const noexcept { return int(m_arms.size()); }

private:
    friend class detail::SelectCore;
    friend class detail::SelectAwaiter;

    // The first arms live in the Select itself, so a select of a few arms allocates nothing;
    // an arm that does not fit in what is left goes on the heap.
    static constexpr int InlineArms = 4;
    static constexpr std::size_t InlineBytes = 512;

    template <typename Arm, typename... Args> Select &add(Args &&...args) {
        checkUnused();
        if (m_arms.size() == m_arms.capacity())
            m_arms.reserve(2 * m_arms.size()); // may throw: before the arm exists
        const std::size_t at = (m_inlineUsed + alignof(Arm) - 1) & ~(alignof(Arm) - 1);
        detail::SelectArm *arm;
        if (alignof(Arm) <= alignof(std::max_align_t) && at + sizeof(Arm) <= InlineBytes) {
            arm = ::new (static_cast<void *>(m_inline + at)) Arm(std::forward<Args>(args)...);
            m_inlineUsed = at + sizeof(Arm);
        } else {
            arm = new Arm(std::forward<Args>(args)...);
        }
        m_arms.append(arm); // cannot throw: reserved
        return *this;
    }
    void checkUnused() const;
    void begin(const char *what);
    bool isInline(const detail::SelectArm *arm) const noexcept {
        const auto p = reinterpret_cast<std::uintptr_t>(arm);
        const auto first = reinterpret_cast<std::uintptr_t>(m_inline);
        return p >= first && p < first + InlineBytes;
    }

    QVarLengthArray<detail::SelectArm *, InlineArms> m_arms;
    detail::SelectCore m_core;
    std::size_t m_inlineUsed = 0;
    bool m_used = false;
    alignas(std::max_align_t) std::byte m_inline[InlineBytes];
};

} // namespace QtChannel
