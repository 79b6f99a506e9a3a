// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// Hostile input: invalid and extreme capacities, every operation after close() and after the
// channel finished, forEach after its context died, futures outliving their channel, and
// racing close() calls. Each gets its documented result or error, never undefined behaviour
// (run under AddressSanitizer + UndefinedBehaviorSanitizer in CI).

#include "heap.h"
#include "items.h"

#include "../testutil.h"

#include <QtChannel/Channel>

#include <QtTest/QTest>

#include <latch>
#include <limits>
#include <thread>

using namespace QtChannel;
using Rel::Tracked;

namespace {

template <typename T> bool failedWithClosed(QFuture<T> f) {
    if (!f.isFinished())
        return false;
    try {
        f.waitForFinished();
    } catch (const ChannelClosed &) {
        return true;
    } catch (...) {
    }
    return false;
}

} // namespace

class tst_Hostile : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // capacities
    void invalidCapacity_data();
    void invalidCapacity();
    void extremeCapacity_data();
    void extremeCapacity();

    // after close
    void everyCallAfterClose_data();
    void everyCallAfterClose();
    void blockingCallsAfterCloseDoNotWait();

    // forEach contexts
    void forEachNullContext();
    void channelUsableAfterForEachContextDied();
    void forEachContextWithoutEventLoop();

    // futures and lifetime
    void futuresOutliveTheirChannel();
    void channelDestroyedByItsParent();
    void cancelTwiceAndAfterSettled();
    void racingCloses();
};

// --- capacities -----------------------------------------------------------------------------

void tst_Hostile::invalidCapacity_data() {
    QTest::addColumn<qsizetype>("capacity");
    QTest::newRow("-2") << qsizetype(-2);
    QTest::newRow("-3") << qsizetype(-3);
    QTest::newRow("-1000000") << qsizetype(-1000000);
    QTest::newRow("min+1") << std::numeric_limits<qsizetype>::min() + 1;
    QTest::newRow("min") << std::numeric_limits<qsizetype>::min();
}

void tst_Hostile::invalidCapacity() {
    QFETCH(qsizetype, capacity);
    QObject parent;
    try {
        Channel<Tracked> ch(capacity, &parent);
        QFAIL("no exception");
    } catch (const std::invalid_argument &e) {
        QVERIFY2(QByteArray(e.what()).contains(QByteArray::number(capacity)), e.what());
    }
    QVERIFY(parent.children().isEmpty()); // never adopted, so never double-deleted
}

void tst_Hostile::extremeCapacity_data() {
    QTest::addColumn<qsizetype>("capacity");
    QTest::newRow("unbounded") << Unbounded;
    QTest::newRow("rendezvous") << qsizetype(0);
    QTest::newRow("1") << qsizetype(1);
    QTest::newRow("max-1") << std::numeric_limits<qsizetype>::max() - 1;
    QTest::newRow("max") << std::numeric_limits<qsizetype>::max();
}

// No capacity allocates up front, and a huge bound behaves like any bound: the buffer grows
// with its items only.
void tst_Hostile::extremeCapacity() {
    QFETCH(qsizetype, capacity);
    const std::size_t before = Rel::heapInUse();
    auto ch = std::make_unique<Channel<int>>(capacity);
    const std::size_t constructed = Rel::heapInUse();
    QVERIFY2(
        constructed < before + 4096,
        QByteArray(QByteArray::number(qlonglong(constructed - before)) + " bytes").constData());
    QCOMPARE(ch->capacity(), capacity);
    const int n = 1000;
    int accepted = 0;
    for (int i = 0; i < n; ++i)
        accepted += ch->tryPut(i) == PutResult::Ok ? 1 : 0;
    QCOMPARE(accepted, capacity == Unbounded ? n : int(std::min<qsizetype>(capacity, n)));
    QVERIFY(Rel::heapInUse() < constructed + 64 * 1024); // grew with the items, not the bound
    QCOMPARE(ch->isFull(), capacity >= 0 && capacity <= n);
    for (int i = 0; i < accepted; ++i)
        QCOMPARE(ch->tryGet(), i);
    QVERIFY(!ch->tryGet());
}

// --- after close ----------------------------------------------------------------------------

void tst_Hostile::everyCallAfterClose_data() {
    QTest::addColumn<qsizetype>("capacity");
    QTest::addColumn<bool>("buffered"); // an item still buffered: closed, not yet finished
    for (qsizetype c : {Unbounded, qsizetype(0), qsizetype(2)}) {
        for (bool buffered : {false, true}) {
            if (c == 0 && buffered)
                continue; // a rendezvous channel buffers nothing
            QTest::addRow("cap%lld-%s", qlonglong(c), buffered ? "buffered" : "empty")
                << c << buffered;
        }
    }
}

void tst_Hostile::everyCallAfterClose() {
    QFETCH(qsizetype, capacity);
    QFETCH(bool, buffered);
    const long live = Tracked::live();
    {
        Channel<Tracked> ch(capacity);
        if (buffered)
            QCOMPARE(ch.tryPut(Tracked(1)), PutResult::Ok);
        QVERIFY(ch.close());
        QVERIFY(!ch.close());
        QVERIFY(ch.isClosed());
        QCOMPARE(ch.isFinished(), !buffered);

        // Puts: Closed, the item untouched; futures fail with ChannelClosed.
        Tracked item(7);
        QCOMPARE(ch.tryPut(std::as_const(item)), PutResult::Closed);
        QCOMPARE(ch.tryPut(std::move(item)), PutResult::Closed);
        QCOMPARE(ch.putBlocking(std::move(item)), PutResult::Closed);
        QCOMPARE(ch.putBlocking(std::as_const(item)), PutResult::Closed);
        QCOMPARE(item.value(), 7);
        QVERIFY(failedWithClosed(ch.put(Tracked(8))));
        QCOMPARE(ch.size(), buffered ? 1 : 0);

        // A join made now finishes once drained.
        QFuture<void> joined = ch.join();
        QCOMPARE(joined.isFinished(), !buffered);

        // Takes: the buffered item, then nothing, for ever.
        if (buffered) {
            QFuture<Tracked> g = ch.get();
            QVERIFY(g.isFinished());
            QCOMPARE(g.resultAt(0).value(), 1);
        }
        QVERIFY(ch.isFinished());
        QVERIFY(joined.isFinished() && !joined.isCanceled());
        QVERIFY(failedWithClosed(ch.get()));
        QVERIFY(!ch.tryGet());
        QVERIFY(!ch.getBlocking());
        QVERIFY(ch.join().isFinished());
        QObject context;
        QFuture<void> loop = ch.forEach(&context, [](const Tracked &) {});
        QVERIFY(loop.isFinished() && !loop.isCanceled());
        QCOMPARE(ch.pendingGets(), 0);
        QCOMPARE(ch.pendingPuts(), 0);
        QVERIFY(ch.snapshot().isEmpty());
        QCOMPARE(ch.isFull(), capacity == 0); // rendezvous: no get waits
    }
    QCOMPARE(Tracked::live(), live);
}

// getBlocking()/putBlocking() with no deadline on a closed channel return at once. A watchdog
// thread bounds the test if they did not.
void tst_Hostile::blockingCallsAfterCloseDoNotWait() {
    Channel<int> ch(1);
    ch.tryPut(1);
    ch.close();
    std::atomic<bool> done{false};
    std::jthread caller([&] {
        QCOMPARE(ch.putBlocking(2), PutResult::Closed); // full and closed: Closed, no wait
        QCOMPARE(ch.getBlocking(), 1);
        QCOMPARE(ch.getBlocking(), std::nullopt); // finished: no wait
        done = true;
    });
    QVERIFY(TestUtil::waitFor([&] { return done.load(); }, 10000));
}

// --- forEach contexts -----------------------------------------------------------------------

void tst_Hostile::forEachNullContext() {
    Channel<int> ch;
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, ch.forEach(nullptr, [](int) {}));
    QCOMPARE(ch.tryPut(1), PutResult::Ok); // and nothing was registered
    QCOMPARE(ch.tryGet(), 1);
}

// After a forEach's context died, every call on the channel still behaves, and a new forEach
// takes over what the old one left.
void tst_Hostile::channelUsableAfterForEachContextDied() {
    Channel<int> ch;
    auto *context = new QObject;
    QFuture<void> first = ch.forEach(context, [](int) {});
    delete context;
    QVERIFY(first.isFinished() && first.isCanceled());
    for (int i = 0; i < 5; ++i)
        QCOMPARE(ch.tryPut(i), PutResult::Ok);
    QCoreApplication::processEvents(); // the dead loop's queued wake-ups find nothing
    QCOMPARE(ch.size(), 5);
    first.cancel(); // harmless
    QObject next;
    std::vector<int> seen;
    QFuture<void> second = ch.forEach(&next, [&](int v) { seen.push_back(v); });
    ch.close();
    QVERIFY(TestUtil::waitFor([&] { return second.isFinished(); }));
    QVERIFY(!second.isCanceled());
    QCOMPARE(seen, (std::vector<int>{0, 1, 2, 3, 4}));
}

// A context in a thread that runs no event loop never gets its items; the channel is not
// blocked by it, and destroying the channel settles its future.
void tst_Hostile::forEachContextWithoutEventLoop() {
    QThread idle; // never started
    QObject context;
    context.moveToThread(&idle); // destroyed here later: allowed, its thread never ran
    QFuture<void> loop;
    {
        Channel<int> ch;
        loop = ch.forEach(&context, [](int) {});
        QCOMPARE(ch.tryPut(1), PutResult::Ok);
        QCOMPARE(ch.tryGet(), 1); // others still take
        QVERIFY(!loop.isFinished());
    }
    QVERIFY(loop.isFinished() && loop.isCanceled());
}

// --- futures and lifetime -------------------------------------------------------------------

void tst_Hostile::futuresOutliveTheirChannel() {
    QFuture<Tracked> pendingGet, readyGet;
    QFuture<void> pendingPut, joined;
    const long live = Tracked::live();
    {
        Channel<Tracked> getters;
        Channel<Tracked> putters(0);
        getters.tryPut(Tracked(1));
        readyGet = getters.get();
        pendingGet = getters.get();
        pendingPut = putters.put(Tracked(2));
        joined = getters.join();
    }
    QVERIFY(failedWithClosed(pendingGet));
    QVERIFY_THROWS_EXCEPTION(ChannelClosed, pendingGet.result()); // never a crash
    QVERIFY(failedWithClosed(pendingPut));
    QVERIFY(joined.isFinished() && joined.isCanceled());
    QCOMPARE(readyGet.result().value(), 1); // a result already handed out stays
    pendingGet.cancel();                    // harmless on a settled future
    readyGet = {};
    QCOMPARE(Tracked::live(), live);
}

void tst_Hostile::channelDestroyedByItsParent() {
    auto *parent = new QObject;
    auto *ch = new Channel<int>(0, parent);
    QFuture<void> p = ch->put(1);
    QFuture<int> g = ch->get(); // takes 1 at once from the waiting put
    QCOMPARE(g.result(), 1);
    QFuture<int> pending = ch->get();
    delete parent;
    QVERIFY(p.isFinished() && !p.isCanceled());
    QVERIFY(failedWithClosed(pending));
}

void tst_Hostile::cancelTwiceAndAfterSettled() {
    Channel<int> ch;
    QFuture<int> g = ch.get();
    g.cancel();
    g.cancel();
    QCOMPARE(ch.tryPut(1), PutResult::Ok);
    // The cancel finishes the future promptly, in the sweeper's thread: wait for it.
    QVERIFY(TestUtil::waitFor([&g] { return g.isFinished(); }));
    QCOMPARE(g.resultCount(), 0); // the canceled get took nothing
    QCOMPARE(ch.tryGet(), 1);
    QFuture<int> ready = (ch.tryPut(2), ch.get());
    ready.cancel(); // after it settled: keeps its item
    QCOMPARE(ready.resultAt(0), 2);
    ch.close();
    g.cancel();
}

// Many threads close at once: exactly one gets true, signals are emitted once.
void tst_Hostile::racingCloses() {
    for (int round = 0; round < 200; ++round) {
        Channel<int> ch;
        std::atomic<int> closedSignals{0}, finishedSignals{0}, winners{0};
        QObject::connect(
            &ch, &ChannelBase::closed, &ch, [&] { ++closedSignals; }, Qt::DirectConnection);
        QObject::connect(
            &ch, &ChannelBase::finished, &ch, [&] { ++finishedSignals; }, Qt::DirectConnection);
        {
            std::latch start(4);
            std::vector<std::jthread> threads;
            for (int t = 0; t < 4; ++t) {
                threads.emplace_back([&] {
                    start.arrive_and_wait();
                    if (ch.close())
                        ++winners;
                });
            }
        }
        QCOMPARE(winners.load(), 1);
        QCOMPARE(closedSignals.load(), 1);
        QCOMPARE(finishedSignals.load(), 1);
    }
}

QTEST_GUILESS_MAIN(tst_Hostile)
#include "tst_hostile.moc"
