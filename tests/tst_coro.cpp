// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// QtChannel in QCoro's Task: the awaiters receive() and send() and co_await select, which need
// no QFuture; and the QFuture route, co_await get() and put(), which needs nothing from
// QtChannel but futures that fail with an exception, never a bare cancel. Built only when QCoro
// is installed.

#include "testutil.h"

#include <QtChannel/Channel>

#include <QCoro/QCoroFuture>
#include <QCoro/QCoroTask>

#include <QtTest/QTest>

#include <thread>

using namespace QtChannel;

namespace {

// The aiochannel idiom: `async for item in channel`, ending when the channel is finished.
QCoro::Task<> consumeAll(Channel<int> &ch, QList<int> &seen, bool &closedSeen) {
    try {
        for (;;)
            seen.append(co_await ch.get());
    } catch (const ChannelClosed &) {
        closedSeen = true;
    }
}

QCoro::Task<> produce(Channel<int> &ch, int count, bool &done) {
    for (int i = 0; i < count; ++i)
        co_await ch.put(i); // waits while the channel is full
    ch.close();
    done = true;
}

// The same with the awaiters: the loop ends on a condition.
QCoro::Task<> receiveAll(Channel<int> &ch, QList<int> &seen, bool &ended) {
    while (std::optional<int> item = co_await ch.receive())
        seen.append(*item);
    ended = true;
}

QCoro::Task<> sendAll(Channel<int> &ch, int count, QList<PutResult> &results) {
    for (int i = 0; i < count; ++i)
        results.append(co_await ch.send(i));
    ch.close();
}

} // namespace

class tst_Coro : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void consumerLoopEndsWhenFinished();
    void producerAndConsumerCoroutines();
    void awaitingAPutOnAClosedChannelThrows();
    void receiveAndSendInQCoroTasks();
    void receiveFromAThreadInAQCoroTask();
    void selectInAQCoroTask();
};

void tst_Coro::consumerLoopEndsWhenFinished() {
    Channel<int> ch(4);
    QList<int> seen;
    bool closedSeen = false;
    consumeAll(ch, seen, closedSeen);
    std::jthread producer([&ch] {
        for (int i = 0; i < 100; ++i)
            ch.putBlocking(i);
        ch.close();
    });
    QVERIFY(TestUtil::waitFor([&] { return closedSeen; }));
    QCOMPARE(seen.size(), 100);
    for (int i = 0; i < 100; ++i)
        QCOMPARE(seen[i], i);
    QVERIFY(ch.isFinished());
}

void tst_Coro::producerAndConsumerCoroutines() {
    Channel<int> ch(0); // rendezvous: every put waits for its get
    QList<int> seen;
    bool closedSeen = false, produced = false;
    consumeAll(ch, seen, closedSeen);
    produce(ch, 50, produced);
    QVERIFY(TestUtil::waitFor([&] { return closedSeen && produced; }));
    QCOMPARE(seen.size(), 50);
    QCOMPARE(seen.last(), 49);
}

void tst_Coro::awaitingAPutOnAClosedChannelThrows() {
    Channel<int> ch(1);
    ch.tryPut(1);
    bool threw = false, finished = false;
    [](Channel<int> &c, bool &t, bool &f) -> QCoro::Task<> {
        try {
            co_await c.put(2); // pending: the channel is full; then closed
        } catch (const ChannelClosed &) {
            t = true;
        }
        f = true;
    }(ch, threw, finished);
    ch.close();
    QVERIFY(TestUtil::waitFor([&] { return finished; }));
    QVERIFY(threw);
    QCOMPARE(ch.tryGet(), 1); // the accepted item is still there
}

void tst_Coro::receiveAndSendInQCoroTasks() {
    Channel<int> ch(2); // the producer must wait for room
    QList<int> seen;
    QList<PutResult> results;
    bool ended = false;
    receiveAll(ch, seen, ended);
    sendAll(ch, 100, results);
    QVERIFY(TestUtil::waitFor([&] { return ended; }));
    QCOMPARE(seen.size(), 100);
    for (int i = 0; i < 100; ++i)
        QCOMPARE(seen[i], i);
    QCOMPARE(results.count(PutResult::Ok), 100);
}

void tst_Coro::receiveFromAThreadInAQCoroTask() {
    Channel<int> ch(4);
    QList<int> seen;
    bool ended = false;
    receiveAll(ch, seen, ended);
    std::jthread producer([&ch] {
        for (int i = 0; i < 1000; ++i)
            ch.putBlocking(i);
        ch.close();
    });
    QVERIFY(TestUtil::waitFor([&] { return ended; }));
    QCOMPARE(seen.size(), 1000);
    QCOMPARE(seen.last(), 999);
}

void tst_Coro::selectInAQCoroTask() {
    Channel<int> jobs;
    Channel<QString> stop;
    QList<int> done;
    QString why;
    bool ended = false;
    [](Channel<int> &j, Channel<QString> &s, QList<int> &out, QString &reason,
       bool &e) -> QCoro::Task<> {
        for (bool running = true; running;) {
            Select select;
            select.onGet(j, [&](int v) { out.append(v); });
            select.onGet(s, [&](QString r) {
                reason = r;
                running = false;
            });
            if (co_await select < 0)
                running = false;
        }
        e = true;
    }(jobs, stop, done, why, ended);
    jobs.tryPut(1);
    jobs.tryPut(2);
    QVERIFY(TestUtil::waitFor([&] { return done.size() == 2; }));
    stop.tryPut(QStringLiteral("enough"));
    QVERIFY(TestUtil::waitFor([&] { return ended; }));
    QCOMPARE(done, (QList<int>{1, 2}));
    QCOMPARE(why, QStringLiteral("enough"));
}

QTEST_GUILESS_MAIN(tst_Coro)
#include "tst_coro.moc"
