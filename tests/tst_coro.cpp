// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// QtChannel's futures with C++20 coroutines (QCoro): co_await get() and put() need nothing
// from QtChannel but futures that fail with an exception, never a bare cancel. Built only when
// QCoro is installed.

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

} // namespace

class tst_Coro : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void consumerLoopEndsWhenFinished();
    void producerAndConsumerCoroutines();
    void awaitingAPutOnAClosedChannelThrows();
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

QTEST_GUILESS_MAIN(tst_Coro)
#include "tst_coro.moc"
