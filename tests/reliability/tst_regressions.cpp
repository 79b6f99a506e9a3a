// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// One test per bug the reliability suites found, named after the bug, with the minimal
// reproduction the model-based test or the fault tests printed.

#include "items.h"

#include <QtChannel/Channel>

#include <QtTest/QTest>

using namespace QtChannel;
using Rel::Tracked;

class tst_Regressions : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // regressions
    void getBlockingWithExpiredDeadlineFinishesCanceledPuts();
    void putBlockingWithExpiredDeadlineFinishesCanceledGets();
    void fullTryPutFinishesCanceledGets();
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

QTEST_GUILESS_MAIN(tst_Regressions)
#include "tst_regressions.moc"
