// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// Select: exactly one arm fires, in each of its three forms (tryRun(), runBlocking(),
// run(context)), with fairness, dead arms, deadlines, cancellation, rendezvous channels, one
// channel in two arms, channels destroyed while it waits, and exactly-once under threads.

#include "testutil.h"

#include <QtChannel/Channel>

#include <QtCore/QFutureWatcher>
#include <QtCore/QThread>
#include <QtTest/QTest>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <new>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <vector>

using namespace QtChannel;
using TestUtil::Counted;

// The contract, checked at compile time.
static_assert(std::is_same_v<decltype(std::declval<Select &>().tryRun()), int>);
static_assert(std::is_same_v<decltype(std::declval<Select &>().runBlocking()), int>);
static_assert(std::is_same_v<decltype(std::declval<Select &>().run(std::declval<QObject *>())),
                             QFuture<int>>);
static_assert(!std::is_copy_constructible_v<Select>);

// Counts the allocations this thread makes while `counting` is set: a select of a few arms
// must make none. Not under ThreadSanitizer: a replaced operator new hides Qt's allocations
// from its own interceptors, and it then reports Qt's uninstrumented hand-overs as races.
#if defined(__SANITIZE_THREAD__)
#define TST_SELECT_COUNTS_ALLOCATIONS 0
#else
#define TST_SELECT_COUNTS_ALLOCATIONS 1
#endif
namespace {
thread_local bool counting = false;
thread_local long allocations = 0;
} // namespace

#if TST_SELECT_COUNTS_ALLOCATIONS
void *operator new(std::size_t size) {
    if (counting)
        ++allocations;
    if (void *p = std::malloc(size ? size : 1))
        return p;
    throw std::bad_alloc();
}
void operator delete(void *p) noexcept {
    std::free(p);
}
void operator delete(void *p, std::size_t) noexcept {
    std::free(p);
}
#endif

namespace {

// A handler whose move constructor throws when told to.
struct ThrowingHandler {
    explicit ThrowingHandler(bool *flag)
        : throwOnMove(flag) {}
    ThrowingHandler(const ThrowingHandler &) = default;
    ThrowingHandler(ThrowingHandler &&other)
        : counted(other.counted)
        , throwOnMove(other.throwOnMove) {
        if (*throwOnMove)
            throw std::runtime_error("handler move");
    }
    void operator()(Counted) const {}
    Counted counted;
    bool *throwOnMove;
};

struct Worker {
    Worker() {
        thread.start();
        context = new QObject;
        context->moveToThread(&thread);
    }
    ~Worker() {
        // Deleted in its thread before that thread's loop quits (a queued deleteLater() could
        // still be waiting when it does, leaking the context and the thread's data).
        if (context) {
            QObject *c = context;
            QMetaObject::invokeMethod(
                c, [c] { delete c; }, Qt::BlockingQueuedConnection);
        }
        thread.quit();
        thread.wait();
    }
    QThread thread;
    QObject *context;
};

template <typename Pred> bool waitUntil(Pred &&pred) {
    return TestUtil::waitFor(std::forward<Pred>(pred));
}

} // namespace

class tst_Select : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // basics
    void tryRunFiresAReadyArm();
    void tryRunWithNothingReady();
    void exactlyOneArmFires();
    void fairness();
    void deadArms();
    void runsOnce();
    void handlerThatThrows();
    void fewArmsAllocateNothing();
    void manyAndLargeArms();
    void armThatCannotBeBuiltLeavesTheSelectAsItWas();

    // waiting
    void runBlockingWaitsForAnArm();
    void runBlockingDeadline();
    void runBlockingPutArm();
    void putArmThatDoesNotFireIsNotUndelivered();
    void rendezvousArms();
    void oneChannelInTwoArms();
    void waitingSelectKeepsItsPlaceInLine();
    void channelDestroyedWhileWaiting();
    void handles();

    // run(context)
    void runReadyInTheContextThread();
    void runWaitsAndHandlerRunsInTheContextThread();
    void runDeadline();
    void runAllDeadFailsWithChannelClosed();
    void runContextDestroyedBeforeAnArmFires();
    void runContextDestroyedAfterAnArmFired();
    void runCanceledWithdraws();
    void selectDestroyedWhileRunPending();

    // threads
    void exactlyOnceUnderThreads();
};

// --- basics ----------------------------------------------------------------------------------

void tst_Select::tryRunFiresAReadyArm() {
    Channel<int> jobs;
    Channel<QString> control;
    control.tryPut(QStringLiteral("stop"));
    int job = 0;
    QString command;
    Select select;
    select.onGet(jobs, [&](int v) { job = v; });
    select.onGet(control, [&](QString c) { command = std::move(c); });
    QCOMPARE(select.count(), 2);
    QCOMPARE(select.tryRun(), 1);
    QCOMPARE(command, QStringLiteral("stop"));
    QCOMPARE(job, 0);
    QVERIFY(control.isEmpty());

    Channel<int> results(1);
    bool sent = false;
    Select put;
    put.onPut(results, 42, [&] { sent = true; });
    QCOMPARE(put.tryRun(), 0);
    QVERIFY(sent);
    QCOMPARE(results.tryGet(), 42);
}

void tst_Select::tryRunWithNothingReady() {
    Channel<int> a, full(1);
    full.tryPut(0);
    bool ran = false;
    Select select;
    select.onGet(a, [&](int) { ran = true; });
    select.onPut(full, 1, [&] { ran = true; });
    QCOMPARE(select.tryRun(), -1);
    QVERIFY(!ran);
    QCOMPARE(full.size(), 1);
    QCOMPARE(a.pendingGets(), 0); // a tryRun() never joins a line
}

void tst_Select::exactlyOneArmFires() {
    for (int round = 0; round < 100; ++round) {
        Channel<int> a, b, out(1);
        a.tryPut(1);
        b.tryPut(2);
        int calls = 0;
        Select select;
        select.onGet(a, [&](int) { ++calls; });
        select.onGet(b, [&](int) { ++calls; });
        select.onPut(out, 3, [&] { ++calls; });
        const int fired = select.tryRun();
        QVERIFY(fired >= 0 && fired <= 2);
        QCOMPARE(calls, 1);
        QCOMPARE(a.size(), fired == 0 ? 0 : 1);
        QCOMPARE(b.size(), fired == 1 ? 0 : 1);
        QCOMPARE(out.size(), fired == 2 ? 1 : 0);
    }
}

// Two always-ready arms: each is chosen at least a third of the time.
void tst_Select::fairness() {
    Channel<int> a, b;
    int counts[2] = {0, 0};
    constexpr int Runs = 10000;
    for (int i = 0; i < Runs; ++i) {
        a.tryPut(i);
        b.tryPut(i);
        Select select;
        select.onGet(a, [](int) {});
        select.onGet(b, [](int) {});
        const int fired = select.tryRun();
        QVERIFY(fired == 0 || fired == 1);
        ++counts[fired];
        a.tryGet(); // drain what the other arm left
        b.tryGet();
    }
    QVERIFY2(counts[0] >= Runs / 3 && counts[1] >= Runs / 3,
             qPrintable(QStringLiteral("%1 / %2").arg(counts[0]).arg(counts[1])));

    // The same when both wait first and become ready together is up to the channels' threads;
    // runBlocking() tries the ready arms in a random order before it waits:
    counts[0] = counts[1] = 0;
    for (int i = 0; i < 3000; ++i) {
        a.tryPut(i);
        b.tryPut(i);
        Select select;
        select.onGet(a, [](int) {});
        select.onGet(b, [](int) {});
        ++counts[select.runBlocking()];
        a.tryGet();
        b.tryGet();
    }
    QVERIFY(counts[0] >= 1000 && counts[1] >= 1000);
}

void tst_Select::deadArms() {
    Channel<int> finished, closedForPuts;
    finished.close();
    closedForPuts.close();
    Select allDead;
    allDead.onGet(finished, [](int) {});
    allDead.onPut(closedForPuts, 1, [] {});
    QCOMPARE(allDead.tryRun(), -1);

    Select blockingDead;
    blockingDead.onGet(finished, [](int) {});
    QCOMPARE(blockingDead.runBlocking(), -1); // returns at once: nothing can ever fire

    // A closed channel with items is not dead for a get until it is drained.
    Channel<int> draining;
    draining.tryPut(5);
    draining.close();
    int got = 0;
    Select select;
    select.onGet(finished, [](int) {});
    select.onGet(draining, [&](int v) { got = v; });
    QCOMPARE(select.runBlocking(), 1);
    QCOMPARE(got, 5);

    // Arms that die while it waits: the last one ends it.
    Channel<int> a, b;
    std::thread closer([&] {
        QVERIFY(waitUntil([&] { return a.pendingGets() == 1 && b.pendingGets() == 1; }));
        a.close();
        b.close();
    });
    Select dying;
    dying.onGet(a, [](int) {});
    dying.onGet(b, [](int) {});
    QCOMPARE(dying.runBlocking(), -1);
    closer.join();
}

void tst_Select::runsOnce() {
    Channel<int> ch;
    Select select;
    select.onGet(ch, [](int) {});
    QCOMPARE(select.tryRun(), -1);
    QVERIFY_THROWS_EXCEPTION(std::logic_error, select.tryRun());
    QVERIFY_THROWS_EXCEPTION(std::logic_error, select.runBlocking());
    QObject context;
    QVERIFY_THROWS_EXCEPTION(std::logic_error, select.run(&context));
    QVERIFY_THROWS_EXCEPTION(std::logic_error, select.onGet(ch, [](int) {}));
    Select noContext;
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, noContext.run(nullptr));
}

void tst_Select::handlerThatThrows() {
    Channel<int> ch;
    ch.tryPut(1);
    ch.tryPut(2);
    Select select;
    select.onGet(ch, [](int) { throw std::runtime_error("handler"); });
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, select.runBlocking());
    QCOMPARE(ch.size(), 1); // the item was taken

    QObject context;
    Select async;
    async.onGet(ch, [](int) { throw std::runtime_error("handler"); });
    QFuture<int> f = async.run(&context);
    QVERIFY(f.isFinished());
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, f.waitForFinished());
    QCOMPARE(ch.size(), 0);
}

void tst_Select::fewArmsAllocateNothing() {
    if (!TST_SELECT_COUNTS_ALLOCATIONS)
        QSKIP("allocations are not counted under ThreadSanitizer (see operator new above)");
    Channel<int> a;
    Channel<int> b;
    Channel<int> out(4);
    QCOMPARE(a.tryPut(1), PutResult::Ok);
    int sum = 0;
    int fired = -2;
    counting = true;
    allocations = 0;
    {
        Select select;
        select.onGet(a, [&sum](int v) { sum += v; });
        select.onGet(b, [&sum](int v) { sum += v; });
        select.onPut(out, 7, [] {});
        select.onGet(b, [&sum](int v) { sum += v; });
        fired = select.runBlocking(); // a and out are ready: no waiting
    }
    counting = false;
    QCOMPARE(allocations, 0L);
    QVERIFY(fired == 0 || fired == 2);
    QCOMPARE(sum + out.size() * 7, fired == 0 ? 1 : 7); // exactly one of them fired
}

// Beyond the arms kept inline: more arms than the Select's inline list, and arms too large for
// its inline storage, all work and are all destroyed.
void tst_Select::manyAndLargeArms() {
    constexpr int Arms = 12;
    std::vector<std::unique_ptr<Channel<Counted>>> channels;
    for (int i = 0; i < Arms; ++i)
        channels.push_back(std::make_unique<Channel<Counted>>(1));
    int got = -1;
    {
        Select select;
        for (int i = 0; i < Arms; ++i) {
            if (i % 3 == 2) { // a put arm: its item belongs to the select until it fires
                select.onPut(*channels[size_t(i)], Counted(100 + i), [] {});
                QCOMPARE(channels[size_t(i)]->tryPut(Counted(-1)), PutResult::Ok); // full
            } else {
                std::array<char, 300> ballast{}; // 300 bytes: most of these go on the heap
                ballast[0] = char(i);
                select.onGet(*channels[size_t(i)],
                             [&got, ballast](Counted c) { got = c.value() + ballast[0]; });
            }
        }
        QCOMPARE(select.count(), Arms);
        std::thread producer([&] {
            QVERIFY(waitUntil([&] { return channels[10]->pendingGets() == 1; }));
            QCOMPARE(channels[10]->tryPut(Counted(5)), PutResult::Ok);
        });
        QCOMPARE(select.runBlocking(), 10);
        producer.join();
        for (int i = 0; i < Arms; ++i)
            QCOMPARE(channels[size_t(i)]->pendingGets() + channels[size_t(i)]->pendingPuts(), 0);
    }
    QCOMPARE(got, 5 + 10);
    const int full = Arms / 3; // the put arms' channels hold their -1
    QCOMPARE(Counted::live(), full);
    channels.clear();
    QCOMPARE(Counted::live(), 0);
}

// An arm whose handler cannot be moved into the select: onGet() throws, nothing leaks, and the
// arms added before still work.
void tst_Select::armThatCannotBeBuiltLeavesTheSelectAsItWas() {
    Channel<Counted> ch;
    QCOMPARE(ch.tryPut(Counted(3)), PutResult::Ok);
    bool throwOnMove = false;
    {
        Select select;
        int got = 0;
        select.onGet(ch, [&got](Counted c) { got = c.value(); });
        select.onGet(ch, ThrowingHandler(&throwOnMove));
        throwOnMove = true;
        QVERIFY_THROWS_EXCEPTION(std::runtime_error,
                                 select.onGet(ch, ThrowingHandler(&throwOnMove)));
        throwOnMove = false;
        QCOMPARE(select.count(), 2);
        const int fired = select.tryRun();
        QVERIFY(fired == 0 || fired == 1);
        QCOMPARE(got, fired == 0 ? 3 : 0);
        QCOMPARE(ch.size(), 0);
    }
    QCOMPARE(Counted::live(), 0);
}

// --- waiting ---------------------------------------------------------------------------------

void tst_Select::runBlockingWaitsForAnArm() {
    Channel<int> jobs;
    Channel<int> stop;
    std::thread producer([&] {
        QVERIFY(waitUntil([&] { return jobs.pendingGets() == 1 && stop.pendingGets() == 1; }));
        QCOMPARE(stop.tryPut(9), PutResult::Ok);
    });
    const std::thread::id self = std::this_thread::get_id();
    std::thread::id handledIn;
    int got = 0;
    Select select;
    select.onGet(jobs, [&](int) { QFAIL("the jobs arm fired"); });
    select.onGet(stop, [&](int v) {
        got = v;
        handledIn = std::this_thread::get_id();
    });
    QCOMPARE(select.runBlocking(), 1);
    producer.join();
    QCOMPARE(got, 9);
    QVERIFY(handledIn == self);
    QCOMPARE(jobs.pendingGets(), 0); // withdrawn from the other line
    QCOMPARE(jobs.tryPut(1), PutResult::Ok);
    QCOMPARE(jobs.tryGet(), 1); // and it took nothing there
}

void tst_Select::runBlockingDeadline() {
    Channel<int> a;
    Channel<int> full(1);
    full.tryPut(0);
    Select select;
    select.onGet(a, [](int) {});
    select.onPut(full, 1, [] {});
    QCOMPARE(select.runBlocking(QDeadlineTimer(20)), -1); // a get with a timeout
    QCOMPARE(a.pendingGets(), 0);
    QCOMPARE(full.pendingPuts(), 0);
    QCOMPARE(full.size(), 1);
    Select expired;
    expired.onGet(a, [](int) {});
    QCOMPARE(expired.runBlocking(QDeadlineTimer(0)), -1);
}

void tst_Select::runBlockingPutArm() {
    Channel<int> results(1);
    results.tryPut(0);
    std::thread consumer([&] {
        QVERIFY(waitUntil([&] { return results.pendingPuts() == 1; }));
        QCOMPARE(results.getBlocking(), 0);
    });
    bool sent = false;
    Select select;
    select.onPut(results, 1, [&] { sent = true; });
    QCOMPARE(select.runBlocking(), 0);
    consumer.join();
    QVERIFY(sent);
    QCOMPARE(results.tryGet(), 1);
}

// A put arm's item belongs to the Select until the arm fires: the channel's undelivered
// handler never sees it, whether the arm lost to another, timed out, or its channel closed.
void tst_Select::putArmThatDoesNotFireIsNotUndelivered() {
    Channel<Counted> full(1);
    full.tryPut(Counted(0));
    std::vector<int> undelivered;
    full.setUndeliveredHandler([&](Counted &&c) { undelivered.push_back(c.value()); });
    Channel<int> in;
    {
        Select lost; // waits in both lines; the get arm fires in another thread
        lost.onGet(in, [](int) {});
        lost.onPut(full, Counted(1), [] { QFAIL("fired"); });
        std::thread producer([&] {
            QVERIFY(waitUntil([&] { return in.pendingGets() == 1; }));
            in.tryPut(7);
        });
        QCOMPARE(lost.runBlocking(), 0);
        producer.join();
    }
    {
        Select timedOut;
        timedOut.onPut(full, Counted(2), [] { QFAIL("fired"); });
        QCOMPARE(timedOut.runBlocking(QDeadlineTimer(10)), -1);
    }
    {
        Select closed;
        closed.onPut(full, Counted(3), [] { QFAIL("fired"); });
        std::thread closer([&] {
            QVERIFY(waitUntil([&] { return full.pendingPuts() == 1; }));
            full.close();
        });
        QCOMPARE(closed.runBlocking(), -1); // its only arm died
        closer.join();
    }
    QCOMPARE(undelivered, std::vector<int>{});
    QCOMPARE(full.tryGet()->value(), 0);
}

void tst_Select::rendezvousArms() {
    // A put arm meets a waiting get, a get arm meets a waiting put.
    Channel<int> rendezvous(0);
    QFuture<int> waitingGet = rendezvous.get();
    Select put;
    put.onPut(rendezvous, 7, [] {});
    QCOMPARE(put.tryRun(), 0);
    QCOMPARE(waitingGet.result(), 7);

    QFuture<void> waitingPut = rendezvous.put(8);
    int got = 0;
    Select get;
    get.onGet(rendezvous, [&](int v) { got = v; });
    QCOMPARE(get.runBlocking(), 0);
    QCOMPARE(got, 8);
    QVERIFY(waitingPut.isFinished());

    // A waiting select put arm is taken by a later get; a waiting get arm by a later put.
    std::thread taker([&] {
        QVERIFY(waitUntil([&] { return rendezvous.pendingPuts() == 1; }));
        QCOMPARE(rendezvous.tryGet(), 9);
    });
    Select waitingPutArm;
    waitingPutArm.onPut(rendezvous, 9, [] {});
    QCOMPARE(waitingPutArm.runBlocking(), 0);
    taker.join();
}

void tst_Select::oneChannelInTwoArms() {
    Channel<int> ch;
    ch.tryPut(1);
    int calls = 0;
    Select twice;
    twice.onGet(ch, [&](int) { ++calls; });
    twice.onGet(ch, [&](int) { ++calls; });
    QVERIFY(twice.runBlocking() >= 0);
    QCOMPARE(calls, 1);

    // Both arms waiting in one line: one item fires one of them, the other leaves the line.
    std::thread producer([&] {
        QVERIFY(waitUntil([&] { return ch.pendingGets() == 2; }));
        ch.tryPut(2);
        ch.tryPut(3);
    });
    calls = 0;
    Select waiting;
    waiting.onGet(ch, [&](int) { ++calls; });
    waiting.onGet(ch, [&](int) { ++calls; });
    QVERIFY(waiting.runBlocking() >= 0);
    producer.join();
    QCOMPARE(calls, 1);
    QCOMPARE(ch.pendingGets(), 0);
    QCOMPARE(ch.tryGet(), 3); // the second item is still there

    // A get arm and a put arm on one rendezvous channel never meet each other; a plain get
    // takes the put arm's item.
    Channel<int> rendezvous(0);
    std::thread getter([&] {
        QVERIFY(waitUntil([&] { return rendezvous.pendingPuts() == 1; }));
        QCOMPARE(rendezvous.getBlocking(), 4);
    });
    Select both;
    bool gotOwn = false;
    both.onGet(rendezvous, [&](int) { gotOwn = true; });
    both.onPut(rendezvous, 4, [] {});
    QCOMPARE(both.runBlocking(), 1);
    getter.join();
    QVERIFY(!gotOwn);
}

void tst_Select::waitingSelectKeepsItsPlaceInLine() {
    Channel<int> ch;
    QFuture<int> first = ch.get();
    int got = 0;
    std::thread producer([&] {
        QVERIFY(waitUntil([&] { return ch.pendingGets() == 2; }));
        ch.tryPut(1); // to the future: it came first
        ch.tryPut(2); // to the select
    });
    Select select;
    select.onGet(ch, [&](int v) { got = v; });
    QCOMPARE(select.runBlocking(), 0);
    producer.join();
    QCOMPARE(first.result(), 1);
    QCOMPARE(got, 2);
}

void tst_Select::channelDestroyedWhileWaiting() {
    auto *doomed = new Channel<int>;
    Channel<int> survivor;
    std::thread other([&] {
        QVERIFY(waitUntil([&] { return doomed->pendingGets() == 1; }));
        delete doomed; // its arm dies
        QCOMPARE(survivor.tryPut(5), PutResult::Ok);
    });
    int got = 0;
    Select select;
    select.onGet(*doomed, [](int) { QFAIL("the destroyed channel's arm fired"); });
    select.onGet(survivor, [&](int v) { got = v; });
    QCOMPARE(select.runBlocking(), 1);
    other.join();
    QCOMPARE(got, 5);

    auto *only = new Channel<int>;
    std::thread destroyer([&] {
        QVERIFY(waitUntil([&] { return only->pendingGets() == 1; }));
        delete only;
    });
    Select alone;
    alone.onGet(*only, [](int) {});
    QCOMPARE(alone.runBlocking(), -1); // every arm dead
    destroyer.join();
}

void tst_Select::handles() {
    auto [tx, rx] = makeChannel<int>(1);
    auto [tx2, rx2] = makeChannel<int>();
    QVERIFY_THROWS_EXCEPTION(std::logic_error, Select().onGet(Receiver<int>(), [](int) {}));
    Select put;
    put.onPut(tx, 1, [] {});
    QCOMPARE(put.tryRun(), 0);
    int got = 0;
    {
        Select get;
        get.onGet(rx, [&](int v) { got = v; });
        rx.reset(); // the Select's copy keeps the channel open
        QVERIFY(!tx.channel()->isClosed());
        QCOMPARE(get.tryRun(), 0);
    }
    QCOMPARE(got, 1);
    QVERIFY(tx.channel()->isClosed()); // the Select held the last Receiver
}

// --- run(context) ----------------------------------------------------------------------------

void tst_Select::runReadyInTheContextThread() {
    Channel<int> ch;
    ch.tryPut(3);
    QObject context;
    int got = 0;
    Select select;
    select.onGet(ch, [&](int v) { got = v; });
    QFuture<int> f = select.run(&context);
    QVERIFY(f.isFinished()); // ready now, in the context's thread: the handler ran already
    QCOMPARE(f.result(), 0);
    QCOMPARE(got, 3);
}

void tst_Select::runWaitsAndHandlerRunsInTheContextThread() {
    Worker worker;
    Channel<int> a, b;
    std::atomic<QThread *> handledIn{nullptr};
    std::atomic<int> got{0};
    Select select;
    select.onGet(a, [&](int) {});
    select.onGet(b, [&](int v) {
        got = v;
        handledIn = QThread::currentThread();
    });
    QFuture<int> f = select.run(worker.context);
    QFutureWatcher<int> watcher;
    watcher.setFuture(f);
    QVERIFY(waitUntil([&] { return a.pendingGets() == 1 && b.pendingGets() == 1; }));
    QVERIFY(!f.isFinished());
    b.tryPut(11);
    QVERIFY(waitUntil([&] { return f.isFinished(); }));
    QCOMPARE(f.result(), 1);
    QCOMPARE(got.load(), 11);
    QCOMPARE(handledIn.load(), &worker.thread);
    QCOMPARE(a.pendingGets(), 0);
}

void tst_Select::runDeadline() {
    Channel<int> ch;
    QObject context;
    Select select;
    select.onGet(ch, [](int) { QFAIL("fired"); });
    QFuture<int> f = select.run(&context, QDeadlineTimer(20));
    QVERIFY(waitUntil([&] { return f.isFinished(); }));
    QCOMPARE(f.result(), -1);
    QCOMPARE(ch.pendingGets(), 0);
    ch.tryPut(1);
    QCOMPARE(ch.tryGet(), 1); // nothing was taken

    Select expired;
    expired.onGet(ch, [](int) {});
    QFuture<int> g = expired.run(&context, QDeadlineTimer(0));
    QVERIFY(waitUntil([&] { return g.isFinished(); }));
    QCOMPARE(g.result(), -1);
}

void tst_Select::runAllDeadFailsWithChannelClosed() {
    Channel<int> ch;
    ch.close();
    QObject context;
    Select select;
    select.onGet(ch, [](int) {});
    QFuture<int> f = select.run(&context);
    QVERIFY(waitUntil([&] { return f.isFinished(); }));
    QVERIFY_THROWS_EXCEPTION(ChannelClosed, f.waitForFinished());

    // A reason does not change it: all dead is ChannelClosed.
    Channel<int> a, b;
    Select waiting;
    waiting.onGet(a, [](int) {});
    waiting.onGet(b, [](int) {});
    QFuture<int> g = waiting.run(&context);
    a.close(std::make_exception_ptr(std::runtime_error("a")));
    b.close();
    QVERIFY(waitUntil([&] { return g.isFinished(); }));
    QVERIFY_THROWS_EXCEPTION(ChannelClosed, g.waitForFinished());
}

void tst_Select::runContextDestroyedBeforeAnArmFires() {
    Channel<int> ch;
    auto *context = new QObject;
    Select select;
    select.onGet(ch, [](int) { QFAIL("fired"); });
    QFuture<int> f = select.run(context);
    QCOMPARE(ch.pendingGets(), 1);
    delete context;
    QVERIFY(f.isFinished() && f.isCanceled());
    QCOMPARE(ch.pendingGets(), 0); // nothing taken, out of the line
    ch.tryPut(1);
    QCOMPARE(ch.tryGet(), 1);
}

void tst_Select::runContextDestroyedAfterAnArmFired() {
    Channel<Counted> ch;
    Channel<int> other(1);
    other.tryPut(0);
    {
        auto *context = new QObject;
        Select select;
        select.onGet(ch, [](Counted) { QFAIL("the handler ran"); });
        select.onPut(other, 1, [] { QFAIL("the handler ran"); });
        QFuture<int> f = select.run(context);
        QVERIFY(!f.isFinished());
        ch.tryPut(Counted(1)); // fires the get arm: its resolution is posted to the context
        ch.tryPut(Counted(2));
        delete context; // before the posted resolution runs
        QVERIFY(f.isFinished() && f.isCanceled());
        // Nothing lost: the item went back to the head of its channel.
        QCOMPARE(ch.size(), 2);
        QCOMPARE(ch.tryGet()->value(), 1);
        QCOMPARE(ch.tryGet()->value(), 2);
        QCOMPARE(other.size(), 1); // the put arm never put
    }
    QCoreApplication::sendPostedEvents(); // stale posts find nothing to do
    QCOMPARE(Counted::live(), 0);
}

void tst_Select::runCanceledWithdraws() {
    Channel<int> ch;
    QObject context;
    Select select;
    select.onGet(ch, [](int) { QFAIL("fired"); });
    QFuture<int> f = select.run(&context);
    QCOMPARE(ch.pendingGets(), 1);
    f.cancel();
    QVERIFY(waitUntil([&] { return f.isFinished(); }));
    QCOMPARE(ch.pendingGets(), 0);
    ch.tryPut(1);
    QCOMPARE(ch.tryGet(), 1);
}

void tst_Select::selectDestroyedWhileRunPending() {
    Channel<int> in;
    Channel<Counted> out(1);
    out.tryPut(Counted(0));
    QObject context;
    QFuture<int> f;
    {
        Select select;
        select.onGet(in, [](int) {});
        select.onPut(out, Counted(1), [] {});
        f = select.run(&context);
        QCOMPARE(in.pendingGets(), 1);
        QCOMPARE(out.pendingPuts(), 1);
    }
    QVERIFY(f.isFinished() && f.isCanceled());
    QCOMPARE(in.pendingGets(), 0);
    QCOMPARE(out.pendingPuts(), 0);
    QCOMPARE(Counted::live(), 1); // its put item was destroyed with it
    QCoreApplication::sendPostedEvents();
}

// --- threads -----------------------------------------------------------------------------------

// Producers feed two channels; consumers take with selects, blocking (with and without a
// short deadline) and non-waiting: every item exactly once, in every consumer's order.
void tst_Select::exactlyOnceUnderThreads() {
    constexpr int PerProducer = 4000;
    Channel<int> a(8), b(0);
    std::vector<std::thread> threads;
    std::atomic<int> producing{2};
    threads.emplace_back([&] {
        for (int i = 0; i < PerProducer; ++i)
            a.putBlocking(i);
        if (producing.fetch_sub(1) == 1) {
            a.close();
            b.close();
        }
    });
    threads.emplace_back([&] {
        for (int i = 0; i < PerProducer; ++i)
            b.putBlocking(PerProducer + i);
        if (producing.fetch_sub(1) == 1) {
            a.close();
            b.close();
        }
    });
    std::mutex mutex;
    std::vector<int> taken;
    for (int c = 0; c < 3; ++c) {
        threads.emplace_back([&, c] {
            std::vector<int> local;
            for (int round = 0;; ++round) {
                Select select;
                select.onGet(a, [&](int v) { local.push_back(v); });
                select.onGet(b, [&](int v) { local.push_back(v); });
                int fired;
                if (c == 0 && round % 3 == 0)
                    fired = select.tryRun() == -1 && a.isFinished() && b.isFinished() ? -1 : 0;
                else
                    fired = select.runBlocking(QDeadlineTimer(c == 1 ? 5 : 1000));
                if (fired == -1 && a.isFinished() && b.isFinished())
                    break;
            }
            std::lock_guard lock(mutex);
            taken.insert(taken.end(), local.begin(), local.end());
        });
    }
    for (auto &t : threads)
        t.join();
    std::sort(taken.begin(), taken.end());
    QCOMPARE(taken.size(), size_t(2 * PerProducer));
    for (int i = 0; i < 2 * PerProducer; ++i)
        QCOMPARE(taken[size_t(i)], i);
}

QTEST_GUILESS_MAIN(tst_Select)
#include "tst_select.moc"
