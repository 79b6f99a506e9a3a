// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// Channel<T> across threads: exactly-once accounting, per-producer order, every style of
// put and get at once, cancellation racing delivery, close and destruction waking blocked
// threads. Threads are std::threads joined before the checks (ThreadSanitizer understands
// pthread_join); waiting is on conditions, never on sleeps.

#include "testutil.h"

#include <QtChannel/Channel>

#include <QtCore/QFutureWatcher>
#include <QtTest/QTest>

#include <latch>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

using namespace QtChannel;
using TestUtil::Item;
using TestUtil::MoveOnly;

namespace {

// Item values encode (producer, sequence number).
constexpr int Stride = 1000000;
int encode(int producer, int seq) {
    return producer * Stride + seq;
}

// Collects what consumers took, checks exactly-once and per-producer FIFO.
class Ledger {
public:
    explicit Ledger(int producers)
        : m_lastSeq(producers, -1) {}

    // One consumer's items, in the order it took them.
    void addRun(const std::vector<int> &run) {
        std::vector<int> last(m_lastSeq.size(), -1);
        for (int v : run) {
            const int p = v / Stride;
            const int seq = v % Stride;
            if (seq <= last[p])
                m_orderErrors.push_back(v); // a consumer saw a producer's items out of order
            last[p] = seq;
        }
        std::lock_guard lock(m_mutex);
        for (int v : run) {
            if (!m_seen.insert(v).second)
                m_duplicates.push_back(v);
        }
    }

    qsizetype count() const { return qsizetype(m_seen.size()); }
    bool contains(int v) const { return m_seen.count(v); }
    const std::vector<int> &duplicates() const { return m_duplicates; }
    const std::vector<int> &orderErrors() const { return m_orderErrors; }

private:
    std::mutex m_mutex;
    std::set<int> m_seen;
    std::vector<int> m_duplicates;
    std::vector<int> m_orderErrors;
    std::vector<int> m_lastSeq;
};

} // namespace

class tst_Threads : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // threads
    void blockingProducersConsumers_data();
    void blockingProducersConsumers();
    void everyStyleAtOnce_data();
    void everyStyleAtOnce();
    void canceledGetsRaceDelivery();
    void canceledPutsRaceAcceptance();
    void deadlinesRaceDelivery();
    void itemAvailableFromProducerThreads();
    void forEachWithProducerThreads();
    void joinFromAnotherThread();
    void rendezvousPingPong();

    // lifetime
    void closeWakesBlockedThreads();
    void destructionWakesBlockedThreads();
    void destructionWhileForEachRunsInAnotherThread();

private:
    template <typename T>
    void blockingImpl(qsizetype capacity, int producers, int consumers, int perProducer);
};

// --- threads --------------------------------------------------------------------------------

void tst_Threads::blockingProducersConsumers_data() {
    QTest::addColumn<qsizetype>("capacity");
    QTest::addColumn<int>("producers");
    QTest::addColumn<int>("consumers");
    for (qsizetype capacity :
         {Unbounded, qsizetype(0), qsizetype(1), qsizetype(16), qsizetype(5000)}) {
        for (int producers : {1, 3}) {
            for (int consumers : {1, 3}) {
                QTest::addRow("cap%lld-p%d-c%d", qlonglong(capacity), producers, consumers)
                    << capacity << producers << consumers;
            }
        }
    }
}

template <typename T>
void tst_Threads::blockingImpl(qsizetype capacity, int producers, int consumers, int perProducer) {
    Channel<T> ch(capacity);
    Ledger ledger(producers);
    std::vector<std::vector<int>> runs(consumers);
    {
        std::latch start(producers + consumers);
        std::vector<std::jthread> threads;
        for (int c = 0; c < consumers; ++c) {
            threads.emplace_back([&, c] {
                start.arrive_and_wait();
                while (std::optional<T> item = ch.getBlocking())
                    runs[c].push_back(Item<T>::value(*item));
            });
        }
        std::vector<std::jthread> producerThreads;
        for (int p = 0; p < producers; ++p) {
            producerThreads.emplace_back([&, p] {
                start.arrive_and_wait();
                for (int i = 0; i < perProducer; ++i) {
                    T item = Item<T>::make(encode(p, i));
                    if (ch.putBlocking(std::move(item)) != PutResult::Ok)
                        return;
                }
            });
        }
        producerThreads.clear(); // joins
        ch.close();
    } // joins the consumers: getBlocking returned std::nullopt once the channel finished
    for (const auto &run : runs)
        ledger.addRun(run);
    QVERIFY(ledger.duplicates().empty());
    QVERIFY(ledger.orderErrors().empty());
    QCOMPARE(ledger.count(), qsizetype(producers) * perProducer);
    QVERIFY(ch.isFinished());
}

void tst_Threads::blockingProducersConsumers() {
    QFETCH(qsizetype, capacity);
    QFETCH(int, producers);
    QFETCH(int, consumers);
    const int n = capacity == 0 ? 2000 : 20000;
    blockingImpl<int>(capacity, producers, consumers, n);
    if (QTest::currentTestFailed())
        return;
    blockingImpl<QString>(capacity, producers, consumers, n / 4);
    if (QTest::currentTestFailed())
        return;
    blockingImpl<MoveOnly>(capacity, producers, consumers, n / 4);
    if (QTest::currentTestFailed())
        return;
    blockingImpl<TestUtil::MayThrowMove>(capacity, producers, consumers, n / 4);
}

void tst_Threads::everyStyleAtOnce_data() {
    QTest::addColumn<qsizetype>("capacity");
    QTest::newRow("unbounded") << Unbounded;
    QTest::newRow("rendezvous") << qsizetype(0);
    QTest::newRow("bounded-4") << qsizetype(4);
}

// Producers: putBlocking, tryPut (retrying on Full), and put() futures. Consumers:
// getBlocking, tryGet polling, get() futures chained on the event loop, forEach, and an
// itemAvailable() slot that drains with tryGet(). All on one channel at once.
void tst_Threads::everyStyleAtOnce() {
    QFETCH(qsizetype, capacity);
    constexpr int PerProducer = 3000;
    constexpr int Producers = 3;
    Channel<int> ch(capacity);
    QObject context;

    std::vector<int> viaForEach;
    QFuture<void> loop = ch.forEach(&context, [&](int v) { viaForEach.push_back(v); });

    std::vector<int> viaSlot;
    connect(&ch, &ChannelBase::itemAvailable, &context, [&] {
        while (std::optional<int> v = ch.tryGet())
            viaSlot.push_back(*v);
    });

    std::vector<int> viaFutures;
    bool futuresDone = false;
    // Takes ready items in a loop and waits on the first pending get. It watches the pending
    // future with a QFutureWatcher, not then(): Qt 6.4.2 can run a continuation twice when
    // then() attaches it just as another thread finishes the future (QTBUG-109230, fixed in
    // 6.4.3); see docs/guide.md.
    std::function<void()> nextGet = [&] {
        for (;;) {
            QFuture<int> f = ch.get();
            if (!f.isFinished()) {
                auto *watcher = new QFutureWatcher<int>(&context);
                connect(watcher, &QFutureWatcherBase::finished, &context, [&, watcher] {
                    watcher->deleteLater();
                    try {
                        viaFutures.push_back(watcher->future().result());
                    } catch (const ChannelClosed &) {
                        futuresDone = true;
                        return;
                    }
                    nextGet();
                });
                watcher->setFuture(f);
                return;
            }
            try {
                viaFutures.push_back(f.result());
            } catch (const ChannelClosed &) {
                futuresDone = true;
                return;
            }
        }
    };
    nextGet();

    std::vector<int> viaBlocking, viaPolling;
    std::jthread blockingConsumer([&] {
        while (std::optional<int> v = ch.getBlocking())
            viaBlocking.push_back(*v);
    });
    std::jthread pollingConsumer([&] {
        for (;;) {
            if (std::optional<int> v = ch.tryGet())
                viaPolling.push_back(*v);
            else if (ch.isFinished())
                return;
            else
                std::this_thread::yield();
        }
    });

    std::atomic<int> errors{0};
    std::atomic<int> running{Producers};
    {
        std::vector<std::jthread> producers;
        producers.emplace_back([&] {
            for (int i = 0; i < PerProducer; ++i) {
                if (ch.putBlocking(encode(0, i)) != PutResult::Ok)
                    ++errors;
            }
            --running;
        });
        producers.emplace_back([&] {
            for (int i = 0; i < PerProducer; ++i) {
                while (ch.tryPut(encode(1, i)) == PutResult::Full)
                    std::this_thread::yield();
            }
            --running;
        });
        producers.emplace_back([&] {
            for (int i = 0; i < PerProducer; ++i)
                ch.put(encode(2, i)).waitForFinished();
            --running;
        });
        // The event-loop consumers need this thread's event loop while the producers run.
        QVERIFY(TestUtil::waitFor([&] { return running.load() == 0; }, 120000));
    }
    QCOMPARE(errors.load(), 0);
    ch.close();
    QVERIFY(TestUtil::waitFor([&] { return loop.isFinished() && futuresDone; }));
    blockingConsumer.join();
    pollingConsumer.join();
    QVERIFY(TestUtil::waitFor([&] { return ch.isFinished(); }));
    QCoreApplication::processEvents();

    Ledger ledger(Producers);
    for (const auto *run : {&viaForEach, &viaSlot, &viaFutures, &viaBlocking, &viaPolling})
        ledger.addRun(*run);
    QVERIFY(ledger.duplicates().empty());
    QVERIFY(ledger.orderErrors().empty());
    QCOMPARE(ledger.count(), Producers * PerProducer);
    QVERIFY(!loop.isCanceled());
}

// Pending gets canceled from one thread while another puts: a canceled get never swallows
// an item, and one canceled just after it got its item keeps it. Each round races 64 cancels
// against 64 puts; every item must end up in exactly one get or still in the channel.
void tst_Threads::canceledGetsRaceDelivery() {
    constexpr int Rounds = 300;
    constexpr int PerRound = 64;
    Channel<int> ch;
    int kept = 0, withdrawn = 0;
    for (int round = 0; round < Rounds; ++round) {
        std::vector<QFuture<int>> gets;
        for (int i = 0; i < PerRound; ++i)
            gets.push_back(ch.get());
        {
            std::latch start(2);
            std::jthread canceler([&] {
                start.arrive_and_wait();
                for (auto &g : gets)
                    g.cancel();
            });
            std::jthread producer([&] {
                start.arrive_and_wait();
                for (int i = 0; i < PerRound; ++i)
                    ch.tryPut(i);
            });
        }
        std::vector<int> count(PerRound, 0);
        for (auto &g : gets) {
            if (g.resultCount() == 1) {
                ++count[size_t(g.resultAt(0))];
                ++kept;
            } else {
                ++withdrawn;
            }
        }
        while (std::optional<int> v = ch.tryGet())
            ++count[size_t(*v)];
        for (int i = 0; i < PerRound; ++i)
            QVERIFY2(count[size_t(i)] == 1,
                     qPrintable(QStringLiteral("round %1 item %2 taken %3 times")
                                    .arg(round)
                                    .arg(i)
                                    .arg(count[size_t(i)])));
        QCOMPARE(ch.size(), 0);
    }
    ch.close();
    qDebug("%d gets were canceled after they got their item, %d before", kept, withdrawn);
}

// Pending puts canceled from another thread while a consumer takes: an item is taken at most
// once, and every put that was not canceled is taken.
void tst_Threads::canceledPutsRaceAcceptance() {
    constexpr int Items = 10000;
    Channel<int> ch(2);
    std::vector<QFuture<void>> puts(Items);
    std::atomic<int> published{0}; // puts[0, published) are set
    std::jthread producer([&] {
        for (int i = 0; i < Items; ++i) {
            puts[size_t(i)] = ch.put(i);
            published.store(i + 1, std::memory_order_release);
        }
    });
    std::jthread canceler([&] {
        for (int i = 0; i < Items; i += 3) {
            while (published.load(std::memory_order_acquire) <= i)
                std::this_thread::yield();
            QFuture<void> f = puts[size_t(i)];
            f.cancel();
        }
    });
    std::set<int> seen;
    std::atomic<int> duplicates{0};
    std::jthread consumer([&] {
        while (std::optional<int> v = ch.getBlocking()) {
            if (!seen.insert(*v).second)
                ++duplicates;
        }
    });
    producer.join();
    canceler.join();
    ch.close();
    consumer.join();
    QCOMPARE(duplicates.load(), 0);
    int canceled = 0;
    for (int i = 0; i < Items; ++i) {
        // A canceled put may still be finishing in the sweeper thread: wait for it. A put
        // still pending at close() fails (and counts as canceled in Qt 6.4's QFuture).
        try {
            puts[size_t(i)].waitForFinished();
        } catch (const ChannelClosed &) {
        }
        if (puts[size_t(i)].isCanceled())
            ++canceled;
        else
            QVERIFY2(seen.count(i), qPrintable(QString::number(i)));
    }
    QVERIFY(canceled > 0);
}

// getBlocking() and putBlocking() with deadlines so short that many expire exactly as an item
// is handed over: an item is never lost or delivered twice in the window between the deadline
// and the withdrawal (a put that reported Full and is retried would show up twice).
//
// Progress must not depend on the two threads' timing (short deadlines can expire again and
// again when the threads take turns on one core, as under valgrind): every 4th try of an item
// waits without a deadline, which the consumer's loop of short gets is sure to meet.
void tst_Threads::deadlinesRaceDelivery() {
    constexpr int Items = 20000;
    Channel<int> ch(0);
    std::set<int> seen;
    std::atomic<int> duplicates{0};
    std::jthread consumer([&] {
        for (;;) {
            if (std::optional<int> v =
                    ch.getBlocking(QDeadlineTimer(std::chrono::microseconds(1)))) {
                if (!seen.insert(*v).second)
                    ++duplicates;
            } else if (ch.isFinished()) {
                return;
            }
        }
    });
    int expired = 0;
    for (int i = 0; i < Items; ++i) {
        PutResult r;
        for (int retry = 1;; ++retry) {
            const auto deadline = retry % 4 == 0 ? QDeadlineTimer(QDeadlineTimer::Forever)
                                                 : QDeadlineTimer(std::chrono::microseconds(50));
            r = ch.putBlocking(i, deadline);
            if (r != PutResult::Full)
                break;
            ++expired;
        }
        QCOMPARE(r, PutResult::Ok);
    }
    ch.close();
    consumer.join();
    QCOMPARE(duplicates.load(), 0);
    QCOMPARE(int(seen.size()), Items);
    qDebug("%d puts expired before a get met them", expired);
}

// The guarantee behind the signal style: a slot that drains with tryGet() until nullopt sees
// every item a producer thread puts, and the notifications are coalesced.
void tst_Threads::itemAvailableFromProducerThreads() {
    constexpr int Items = 200000;
    Channel<int> ch;
    std::vector<int> seen;
    int slotCalls = 0;
    connect(&ch, &ChannelBase::itemAvailable, this, [&] {
        ++slotCalls;
        while (std::optional<int> v = ch.tryGet())
            seen.push_back(*v);
    });
    std::jthread producer([&] {
        for (int i = 0; i < Items; ++i)
            ch.tryPut(i);
        ch.close();
    });
    QVERIFY(TestUtil::waitFor([&] { return ch.isFinished(); }));
    producer.join();
    QCoreApplication::processEvents();
    QCOMPARE(int(seen.size()), Items);
    for (int i = 0; i < Items; ++i)
        QCOMPARE(seen[size_t(i)], i);
    QVERIFY2(slotCalls < Items / 2, qPrintable(QString::number(slotCalls)));
}

void tst_Threads::forEachWithProducerThreads() {
    constexpr int Producers = 4;
    constexpr int PerProducer = 5000;
    Channel<int> ch(8);
    QObject context;
    std::vector<int> seen;
    QFuture<void> loop = ch.forEach(&context, [&](int v) { seen.push_back(v); });
    std::atomic<int> running{Producers};
    std::vector<std::jthread> producers;
    for (int p = 0; p < Producers; ++p) {
        producers.emplace_back([&, p] {
            for (int i = 0; i < PerProducer; ++i)
                ch.putBlocking(encode(p, i));
            if (--running == 0)
                ch.close();
        });
    }
    QVERIFY(TestUtil::waitFor([&] { return loop.isFinished(); }));
    producers.clear();
    QVERIFY(!loop.isCanceled());
    Ledger ledger(Producers);
    ledger.addRun(seen);
    QVERIFY(ledger.duplicates().empty());
    QVERIFY(ledger.orderErrors().empty());
    QCOMPARE(ledger.count(), Producers * PerProducer);
}

void tst_Threads::joinFromAnotherThread() {
    Channel<int> ch(4);
    std::atomic<bool> joined{false};
    std::jthread waiter([&] {
        ch.join().waitForFinished();
        joined = true;
    });
    std::jthread producer([&] {
        for (int i = 0; i < 1000; ++i)
            ch.putBlocking(i);
        ch.close();
    });
    int taken = 0;
    while (ch.getBlocking())
        ++taken;
    waiter.join();
    QVERIFY(joined);
    QCOMPARE(taken, 1000);
}

void tst_Threads::rendezvousPingPong() {
    constexpr int Rounds = 20000;
    Channel<int> ping(0), pong(0);
    std::atomic<int> errors{0};
    std::jthread echo([&] {
        while (std::optional<int> v = ping.getBlocking()) {
            if (pong.putBlocking(*v + 1) != PutResult::Ok)
                ++errors;
        }
    });
    for (int i = 0; i < Rounds; ++i) {
        QCOMPARE(ping.putBlocking(2 * i), PutResult::Ok);
        QCOMPARE(pong.getBlocking(), 2 * i + 1);
    }
    ping.close();
    echo.join();
    QCOMPARE(errors.load(), 0);
}

// --- lifetime -------------------------------------------------------------------------------

void tst_Threads::closeWakesBlockedThreads() {
    Channel<int> empty;
    Channel<int> full(1);
    full.tryPut(0);
    std::vector<std::jthread> threads;
    std::atomic<int> gotNullopt{0}, gotClosed{0};
    for (int i = 0; i < 4; ++i) {
        threads.emplace_back([&] {
            if (!empty.getBlocking())
                ++gotNullopt;
        });
        threads.emplace_back([&, i] {
            if (full.putBlocking(i + 1) == PutResult::Closed)
                ++gotClosed;
        });
    }
    QVERIFY(TestUtil::waitFor([&] { return empty.pendingGets() == 4 && full.pendingPuts() == 4; }));
    empty.close();
    full.close();
    threads.clear();
    QCOMPARE(gotNullopt.load(), 4);
    QCOMPARE(gotClosed.load(), 4);
    QCOMPARE(full.tryGet(), 0); // the buffered item survived the close
    QVERIFY(full.isFinished());
}

void tst_Threads::destructionWakesBlockedThreads() {
    auto *empty = new Channel<MoveOnly>;
    auto *full = new Channel<MoveOnly>(0);
    std::vector<std::jthread> threads;
    std::atomic<int> gotNullopt{0}, gotClosed{0};
    for (int i = 0; i < 4; ++i) {
        threads.emplace_back([&] {
            if (!empty->getBlocking())
                ++gotNullopt;
        });
        threads.emplace_back([&, i] {
            MoveOnly item(i);
            if (full->putBlocking(std::move(item)) == PutResult::Closed && item.value() == i)
                ++gotClosed; // and the item is still ours
        });
    }
    QVERIFY(
        TestUtil::waitFor([&] { return empty->pendingGets() == 4 && full->pendingPuts() == 4; }));
    delete empty;
    delete full;
    threads.clear();
    QCOMPARE(gotNullopt.load(), 4);
    QCOMPARE(gotClosed.load(), 4);
}

// A forEach whose context lives in a worker thread, while the channel is destroyed in this
// one: the loop stops with a canceled future, whatever it was doing.
void tst_Threads::destructionWhileForEachRunsInAnotherThread() {
    QThread worker;
    worker.start();
    auto *context = new QObject;
    context->moveToThread(&worker);
    std::atomic<int> calls{0};
    QFuture<void> loop;
    {
        Channel<int> ch;
        loop = ch.forEach(context, [&](int) { ++calls; });
        for (int i = 0; i < 100000; ++i)
            ch.tryPut(i);
        QVERIFY(TestUtil::waitFor([&] { return calls.load() > 0; }));
    }
    QVERIFY(loop.isFinished());
    QVERIFY(loop.isCanceled());
    worker.quit();
    worker.wait();
    delete context; // its thread has finished: deleting it here is safe
}

QTEST_GUILESS_MAIN(tst_Threads)
#include "tst_threads.moc"
