// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// One test per bug the reliability suites found, named after the bug, with the minimal
// reproduction the model-based test or the fault tests printed.

#include "items.h"

#include <QtChannel/Channel>

#include <QtTest/QTest>

using namespace QtChannel;
using Rel::Faulty;
using Rel::InjectedFault;
using Rel::Tracked;

class tst_Regressions : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // regressions
    void getBlockingWithExpiredDeadlineFinishesCanceledPuts();
    void putBlockingWithExpiredDeadlineFinishesCanceledGets();
    void fullTryPutFinishesCanceledGets();
    void readyGetKeepsTheItemWhenMovingItIntoTheFutureThrows();
    void forEachTakeThatThrowsDoesNotEscapeIntoTheEventLoop();
};

// A getBlocking() whose deadline had passed unlinked the canceled puts it met at the head of
// a rendezvous channel's line and returned without settling them: their futures never
// finished and their waiters (and items) leaked.
void tst_Regressions::getBlockingWithExpiredDeadlineFinishesCanceledPuts() {
    const long before = Tracked::live();
    {
        Channel<Tracked> ch(0);
        QFuture<void> p1 = ch.put(Tracked(1));
        p1.cancel();
        QCOMPARE(ch.getBlocking(QDeadlineTimer(0)), std::nullopt);
        QVERIFY(p1.isFinished()); // the channel looked at it
        QVERIFY(p1.isCanceled());
        QCOMPARE(ch.pendingPuts(), 0);
        QCOMPARE(Tracked::live(), before); // the canceled put's item is gone with its waiter
    }
    QCOMPARE(Tracked::live(), before);
}

// The same on the put side: a putBlocking() with an expired deadline met canceled gets on a
// rendezvous channel, unlinked them and returned Full without settling them.
void tst_Regressions::putBlockingWithExpiredDeadlineFinishesCanceledGets() {
    Channel<int> ch(0);
    QFuture<int> g1 = ch.get();
    g1.cancel();
    QCOMPARE(ch.putBlocking(1, QDeadlineTimer(0)), PutResult::Full);
    QVERIFY(g1.isFinished());
    QCOMPARE(ch.pendingGets(), 0);
}

// tryPut() returning Full on a rendezvous channel did the same with the canceled gets it met.
void tst_Regressions::fullTryPutFinishesCanceledGets() {
    Channel<int> ch(0);
    QFuture<int> g1 = ch.get();
    QFuture<int> g2 = ch.get();
    g1.cancel();
    g2.cancel();
    QCOMPARE(ch.tryPut(1), PutResult::Full);
    QVERIFY(g1.isFinished());
    QVERIFY(g2.isFinished());
    QCOMPARE(ch.pendingGets(), 0);
}

// get() on a channel with a buffered item took the item out of the buffer first and then
// moved it into the ready future's result store. When that copy threw, the exception left
// get() and the item was destroyed: taken from the channel, yet nobody had it.
void tst_Regressions::readyGetKeepsTheItemWhenMovingItIntoTheFutureThrows() {
    Channel<Faulty> ch;
    ch.tryPut(Faulty(1));
    ch.tryPut(Faulty(2));
    // Construction 0 is the take's, construction 1 the result store's (before the fix).
    for (int n = 0; n < 2; ++n) {
        Faulty::failAfter(n);
        try {
            QFuture<Faulty> f = ch.get();
            Faulty::disarm();
            QCOMPARE(f.resultAt(0).value(), 1);
            return; // the transfer made no second copy: nothing to fail
        } catch (const InjectedFault &) {
            Faulty::disarm();
        }
        QCOMPARE(ch.size(), 2); // the item is still in the channel
        QCOMPARE(ch.snapshot().first().value(), 1);
    }
}

// forEach takes in its context's thread from the event loop. A take whose transfer threw let
// the exception escape run() into the event loop (undefined behaviour through a C event
// dispatcher) instead of failing the forEach future.
void tst_Regressions::forEachTakeThatThrowsDoesNotEscapeIntoTheEventLoop() {
    Channel<Faulty> ch;
    ch.tryPut(Faulty(1));
    QObject context;
    int calls = 0;
    QFuture<void> loop = ch.forEach(&context, [&](const Faulty &) { ++calls; });
    Faulty::failAfter(0); // the take's transfer
    bool escaped = false;
    try {
        QCoreApplication::sendPostedEvents();
    } catch (const InjectedFault &) {
        escaped = true;
    }
    Faulty::disarm();
    QVERIFY(!escaped);
    QCOMPARE(calls, 0);
    QVERIFY(loop.isFinished());
    QVERIFY_THROWS_EXCEPTION(InjectedFault, loop.waitForFinished());
    QCOMPARE(ch.size(), 1); // the item it could not take is still in the channel
}

QTEST_GUILESS_MAIN(tst_Regressions)
#include "tst_regressions.moc"
