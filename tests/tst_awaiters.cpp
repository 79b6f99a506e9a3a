// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// Coroutines without QFuture: receive() and send() in a minimal coroutine type of the test's
// own (no QCoro): ready at once without suspending, suspension as one waiter in the line,
// resumption in the awaiting thread from its event loop (never inline, one event for many),
// close and destruction, and coroutines destroyed while suspended. tst_coro runs them in
// QCoro's Task.

#include "testutil.h"

#include <QtChannel/Channel>

#include <QtCore/QAbstractEventDispatcher>
#include <QtCore/QTimer>
#include <QtTest/QTest>

#include <atomic>
#include <coroutine>
#include <exception>
#include <optional>
#include <thread>
#include <vector>

using namespace QtChannel;
using TestUtil::Counted;

namespace {

// The smallest useful coroutine type: starts at once, stays suspended at its end until the
// Task goes, and destroys the coroutine with the Task (wherever it is suspended).
struct Task {
    struct promise_type {
        Task get_return_object() {
            return Task{std::coroutine_handle<promise_type>::from_promise(*this)};
        }
        std::suspend_never initial_suspend() noexcept { return {}; }
        std::suspend_always final_suspend() noexcept { return {}; }
        void return_void() noexcept {}
        void unhandled_exception() noexcept { std::terminate(); }
    };
    explicit Task(std::coroutine_handle<promise_type> h)
        : handle(h) {}
    Task(Task &&other) noexcept
        : handle(std::exchange(other.handle, {})) {}
    Task(const Task &) = delete;
    ~Task() {
        if (handle)
            handle.destroy();
    }
    bool done() const { return handle.done(); }
    std::coroutine_handle<promise_type> handle;
};

// Everything a consumer coroutine saw.
struct Received {
    std::vector<int> items;
    bool ended = false;
    int resumedOutside = 0; // resumptions in another thread than the one that started it
};

template <typename T> Task consume(Channel<T> &ch, Received &out) {
    const std::thread::id self = std::this_thread::get_id();
    while (std::optional<T> item = co_await ch.receive()) {
        if (std::this_thread::get_id() != self)
            ++out.resumedOutside;
        out.items.push_back(TestUtil::Item<T>::value(*item));
    }
    out.ended = true;
}

Task receiveOnce(Channel<int> &ch, std::optional<std::optional<int>> &got) {
    got = co_await ch.receive();
}

template <typename T> Task sendOnce(Channel<T> &ch, T item, std::optional<PutResult> &result) {
    result = co_await ch.send(std::move(item));
}

// Counts the events of the resume queue (posted to its receiver in this thread).
class EventCounter : public QObject {
public:
    bool eventFilter(QObject *watched, QEvent *event) override {
        if (event->type() >= QEvent::User &&
            qstrcmp(watched->metaObject()->className(), "QObject") == 0)
            ++count;
        return false;
    }
    int count = 0;
};

} // namespace

class tst_Awaiters : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void readyAtOnceDoesNotSuspend();
    void receiveSuspendsAndResumesFromTheEventLoop();
    void neverResumedInlineNotEvenByThisThread();
    void manyResumptionsInOneEvent();
    void sendWaitsForRoom();
    void sendOnAClosedChannel();
    void closeResumesSuspendedCoroutines();
    void destructionResumesSuspendedCoroutines();
    void destroyedCoroutineWithdraws();
    void destroyedAfterItWasHandedAnItem();
    void suspendedReceiveWaitsInLineWithOtherStyles();
    void rendezvousMeetsAWaitingCounterpart();
    void theThreadIsNeverBlocked();
    void resumedInTheAwaitingThread();
    void handles();
};

void tst_Awaiters::readyAtOnceDoesNotSuspend() {
    Channel<int> ch;
    for (int i = 1; i <= 3; ++i)
        ch.tryPut(i);
    ch.close();
    Received got;
    Task task = consume(ch, got);
    // No event was processed: it never suspended.
    QVERIFY(task.done());
    QCOMPARE(got.items, (std::vector<int>{1, 2, 3}));
    QVERIFY(got.ended);

    Channel<int> room(4);
    std::optional<PutResult> sent;
    Task send = sendOnce(room, 1, sent);
    QVERIFY(send.done());
    QCOMPARE(sent, PutResult::Ok);
}

void tst_Awaiters::receiveSuspendsAndResumesFromTheEventLoop() {
    Channel<QString> ch;
    Received got;
    Task task = consume(ch, got);
    QVERIFY(!task.done());
    QCOMPARE(ch.pendingGets(), 1); // one waiter in the line
    std::thread producer([&] {
        ch.tryPut(QStringLiteral("7"));
        ch.tryPut(QStringLiteral("8"));
        ch.close();
    });
    producer.join();
    QVERIFY(!task.done()); // not resumed by the producer's thread
    QVERIFY(TestUtil::waitFor([&] { return task.done(); }));
    QCOMPARE(got.items, (std::vector<int>{7, 8}));
    QCOMPARE(got.resumedOutside, 0);
}

void tst_Awaiters::neverResumedInlineNotEvenByThisThread() {
    Channel<int> ch;
    std::optional<std::optional<int>> got;
    Task task = receiveOnce(ch, got);
    QVERIFY(!task.done());
    QCOMPARE(ch.tryPut(5), PutResult::Ok); // hands the item over...
    QVERIFY(!got.has_value());             // ...without resuming it here
    QCOMPARE(ch.size(), 0);
    QVERIFY(TestUtil::waitFor([&] { return task.done(); }));
    QCOMPARE(got, std::optional<int>(5));
}

void tst_Awaiters::manyResumptionsInOneEvent() {
    Channel<int> ch;
    constexpr int N = 50;
    std::vector<std::optional<std::optional<int>>> got(N);
    std::vector<Task> tasks;
    for (int i = 0; i < N; ++i)
        tasks.push_back(receiveOnce(ch, got[size_t(i)]));
    QCOMPARE(ch.pendingGets(), N);
    EventCounter counter;
    QCoreApplication::instance()->installEventFilter(&counter);
    QList<int> items;
    for (int i = 0; i < N; ++i)
        items.append(i);
    QCOMPARE(ch.tryPutMany(items), qsizetype(N));
    QCoreApplication::sendPostedEvents();
    QCoreApplication::instance()->removeEventFilter(&counter);
    for (int i = 0; i < N; ++i) {
        QVERIFY(tasks[size_t(i)].done());
        QCOMPARE(got[size_t(i)], std::optional<int>(i)); // first come, first served
    }
    QCOMPARE(counter.count, 1);
}

void tst_Awaiters::sendWaitsForRoom() {
    Channel<int> ch(1);
    ch.tryPut(0);
    std::optional<PutResult> sent;
    Task task = sendOnce(ch, 1, sent);
    QVERIFY(!task.done());
    QCOMPARE(ch.pendingPuts(), 1);
    QVERIFY(ch.isFull());
    QCOMPARE(ch.tryGet(), 0); // makes room: the send is accepted now
    QCOMPARE(ch.size(), 1);
    QVERIFY(!sent.has_value()); // and resumes from the event loop
    QVERIFY(TestUtil::waitFor([&] { return task.done(); }));
    QCOMPARE(sent, PutResult::Ok);
    QCOMPARE(ch.tryGet(), 1);
}

void tst_Awaiters::sendOnAClosedChannel() {
    Channel<Counted> ch;
    int undelivered = 0;
    ch.setUndeliveredHandler([&](Counted &&) { ++undelivered; });
    ch.close();
    std::optional<PutResult> sent;
    {
        Task task = sendOnce(ch, Counted(1), sent);
        QVERIFY(task.done()); // ready at once
    }
    QCOMPARE(sent, PutResult::Closed);
    QCOMPARE(Counted::live(), 0); // the item is destroyed...
    QCOMPARE(undelivered, 0);     // ...refused at the door, not undelivered
}

void tst_Awaiters::closeResumesSuspendedCoroutines() {
    Channel<int> in;
    Channel<Counted> out(0);
    std::vector<int> undelivered;
    out.setUndeliveredHandler([&](Counted &&c) { undelivered.push_back(c.value()); });
    Received got;
    std::optional<PutResult> sent;
    Task consumer = consume(in, got);
    Task producer = sendOnce(out, Counted(3), sent);
    in.close();
    out.close();
    QCOMPARE(undelivered, std::vector<int>{3}); // the waiting send's item, handed over
    QVERIFY(TestUtil::waitFor([&] { return consumer.done() && producer.done(); }));
    QVERIFY(got.ended);
    QCOMPARE(sent, PutResult::Closed);
}

void tst_Awaiters::destructionResumesSuspendedCoroutines() {
    auto *in = new Channel<int>;
    auto *out = new Channel<int>(0);
    Received got;
    std::optional<PutResult> sent;
    Task consumer = consume(*in, got);
    Task producer = sendOnce(*out, 4, sent);
    delete in;
    delete out;
    QVERIFY(TestUtil::waitFor([&] { return consumer.done() && producer.done(); }));
    QVERIFY(got.ended);
    QCOMPARE(sent, PutResult::Closed);
}

void tst_Awaiters::destroyedCoroutineWithdraws() {
    Channel<int> ch;
    {
        std::optional<std::optional<int>> got;
        Task task = receiveOnce(ch, got);
        QCOMPARE(ch.pendingGets(), 1);
    } // destroyed while suspended
    QCOMPARE(ch.pendingGets(), 0);
    ch.tryPut(1);
    QCOMPARE(ch.tryGet(), 1); // it swallowed nothing

    Channel<Counted> full(1);
    std::vector<int> undelivered;
    full.setUndeliveredHandler([&](Counted &&c) { undelivered.push_back(c.value()); });
    full.tryPut(Counted(0));
    {
        std::optional<PutResult> sent;
        Task task = sendOnce(full, Counted(2), sent);
        QCOMPARE(full.pendingPuts(), 1);
    }
    QCOMPARE(full.pendingPuts(), 0);
    QCOMPARE(undelivered, std::vector<int>{2}); // withdrawn: never lands later
    QCOMPARE(full.tryGet()->value(), 0);
    QCOMPARE(full.tryGet(), std::nullopt);
}

void tst_Awaiters::destroyedAfterItWasHandedAnItem() {
    Channel<Counted> ch;
    {
        std::optional<std::optional<Counted>> got;
        auto receive = [](Channel<Counted> &c, std::optional<std::optional<Counted>> &g) -> Task {
            g = co_await c.receive();
        };
        Task task = receive(ch, got);
        ch.tryPut(Counted(1)); // handed to the suspended receive; its resumption is queued
        ch.tryPut(Counted(2));
        QCOMPARE(ch.size(), 1);
    }                       // destroyed before its resumption ran
    QCOMPARE(ch.size(), 2); // the item went back to the head of the line
    QCOMPARE(ch.tryGet()->value(), 1);
    QCOMPARE(ch.tryGet()->value(), 2);
    QCoreApplication::sendPostedEvents(); // the queued resumption finds nothing
    QCOMPARE(Counted::live(), 0);
}

void tst_Awaiters::suspendedReceiveWaitsInLineWithOtherStyles() {
    Channel<int> ch;
    QFuture<int> first = ch.get();
    std::optional<std::optional<int>> second;
    Task task = receiveOnce(ch, second);
    QFuture<int> third = ch.get();
    QList<int> items{1, 2, 3};
    ch.tryPutMany(items);
    QCOMPARE(first.result(), 1);
    QCOMPARE(third.result(), 3);
    QVERIFY(TestUtil::waitFor([&] { return task.done(); }));
    QCOMPARE(second, std::optional<int>(2));
}

void tst_Awaiters::rendezvousMeetsAWaitingCounterpart() {
    Channel<int> ch(0);
    QFuture<void> put = ch.put(6);
    std::optional<std::optional<int>> got;
    Task receive = receiveOnce(ch, got);
    QVERIFY(receive.done()); // a waiting put is "ready": no suspension
    QCOMPARE(got, std::optional<int>(6));
    QVERIFY(put.isFinished());

    QFuture<int> get = ch.get();
    std::optional<PutResult> sent;
    Task send = sendOnce(ch, 7, sent);
    QVERIFY(send.done());
    QCOMPARE(get.result(), 7);

    // A suspended receive counts as a waiting get: a rendezvous channel is not full.
    std::optional<std::optional<int>> waiting;
    Task suspended = receiveOnce(ch, waiting);
    QVERIFY(!ch.isFull());
    QCOMPARE(ch.tryPut(8), PutResult::Ok);
    QVERIFY(TestUtil::waitFor([&] { return suspended.done(); }));
    QCOMPARE(waiting, std::optional<int>(8));
}

// While a coroutine waits for an item, its thread keeps running its event loop: a timer in it
// ticks, and only after it ticked does the producer put.
void tst_Awaiters::theThreadIsNeverBlocked() {
    Channel<int> ch;
    std::atomic<int> ticks{0};
    QTimer timer;
    QObject::connect(&timer, &QTimer::timeout, [&] { ticks.fetch_add(1); });
    timer.start(1);
    std::optional<std::optional<int>> got;
    Task task = receiveOnce(ch, got);
    std::thread producer([&] {
        while (ticks.load() < 5)
            std::this_thread::yield();
        ch.tryPut(1);
    });
    QVERIFY(TestUtil::waitFor([&] { return task.done(); }));
    producer.join();
    QCOMPARE(got, std::optional<int>(1));
    QVERIFY(ticks.load() >= 5);
}

void tst_Awaiters::resumedInTheAwaitingThread() {
    Channel<int> ch;
    QThread worker;
    worker.start();
    std::atomic<bool> done{false};
    std::atomic<QThread *> resumedIn{nullptr};
    std::optional<Task> task;
    auto starter = new QObject;
    starter->moveToThread(&worker);
    QMetaObject::invokeMethod(starter, [&] {
        auto body = [](Channel<int> &c, std::atomic<QThread *> &in,
                       std::atomic<bool> &finished) -> Task {
            std::optional<int> v = co_await c.receive();
            in = QThread::currentThread();
            finished = v.has_value();
        };
        task.emplace(body(ch, resumedIn, done));
    });
    QVERIFY(TestUtil::waitFor([&] { return ch.pendingGets() == 1; }));
    ch.tryPut(1); // from the main thread
    QVERIFY(TestUtil::waitFor([&] { return done.load(); }));
    QCOMPARE(resumedIn.load(), &worker);
    QMetaObject::invokeMethod(
        starter, [&] { task.reset(); }, Qt::BlockingQueuedConnection);
    starter->deleteLater();
    worker.quit();
    worker.wait();
}

void tst_Awaiters::handles() {
    auto [tx, rx] = makeChannel<int>(1);
    auto body = [](Receiver<int> r, Received &out) -> Task {
        while (std::optional<int> v = co_await r.receive())
            out.items.push_back(*v);
        out.ended = true;
    };
    auto producer = [](Sender<int> s) -> Task {
        for (int i = 1; i <= 3; ++i)
            co_await s.send(i);
    }; // the coroutine's Sender goes with it: the channel closes
    Received got;
    Task consumer = body(rx, got);
    rx.reset();
    {
        Task p = producer(std::move(tx));
        QVERIFY(TestUtil::waitFor([&] { return p.done(); }));
    }
    QVERIFY(TestUtil::waitFor([&] { return consumer.done(); }));
    QCOMPARE(got.items, (std::vector<int>{1, 2, 3}));
    QVERIFY(got.ended);
}

QTEST_GUILESS_MAIN(tst_Awaiters)
#include "tst_awaiters.moc"
