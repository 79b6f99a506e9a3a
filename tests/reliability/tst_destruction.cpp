// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// Destroying a channel from another thread while every kind of consumer and producer the
// library runs on it is active: forEach() loops taking lock-free in their context's thread,
// threads blocked in putBlocking()/getBlocking()/getManyBlocking(), pending futures of every
// kind. Every item must be destroyed exactly once (Rel::Guarded counts any item touched after
// its death), every future must finish, every thread must return. Run under ThreadSanitizer,
// AddressSanitizer and valgrind in CI.
//
// The destructor's contract: no other thread may call a member when it starts, except the
// ones that wait. So each thread here makes one waiting call, and the test destroys only once
// they are all waiting (pendingPuts()/pendingGets() count them), or once they returned.

#include "items.h"
#include "sync.h"

#include <QtChannel/Channel>

#include <QtCore/QFutureWatcher>
#include <QtCore/QSemaphore>
#include <QtCore/QThread>
#include <QtTest/QTest>

#include <atomic>
#include <memory>
#include <random>
#include <thread>
#include <vector>

using namespace QtChannel;
using Rel::Guarded;

namespace {

// A worker thread with an event loop and a context object living in it.
struct Worker {
    Worker() {
        thread.start();
        context = new QObject;
        context->moveToThread(&thread);
    }
    ~Worker() {
        Rel::deleteInItsThread(context);
        thread.quit();
        thread.wait();
    }
    QThread thread;
    QObject *context;
};

bool waitUntil(const std::function<bool()> &condition) {
    QDeadlineTimer deadline(30000);
    while (!condition()) {
        if (deadline.hasExpired())
            return false;
        std::this_thread::yield();
    }
    return true;
}

// Destroys `channel` in a thread of its own, and waits for that.
template <typename T> void destroyElsewhere(Channel<T> *channel) {
    std::thread([channel] { delete channel; }).join();
}

} // namespace

class tst_Destruction : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void fullChannelWithForEachAndBlockedProducers_data();
    void fullChannelWithForEachAndBlockedProducers();
    void emptyChannelWithBlockedConsumers_data();
    void emptyChannelWithBlockedConsumers();

private:
    void checkNothingLeft(long liveBefore, long violationsBefore);
};

void tst_Destruction::checkNothingLeft(long liveBefore, long violationsBefore) {
    QCOMPARE(Guarded::violations() - violationsBefore, 0);
    QCOMPARE(Guarded::live(), liveBefore);
}

void tst_Destruction::fullChannelWithForEachAndBlockedProducers_data() {
    QTest::addColumn<qsizetype>("capacity");
    QTest::addColumn<int>("stopAt"); // the forEach call during which the channel is destroyed
    for (qsizetype capacity : {qsizetype(1), qsizetype(16), qsizetype(1024), qsizetype(3000)}) {
        for (int stopAt : {0, 1, 10, 255, 256, 700}) {
            if (stopAt >= capacity)
                continue;
            QTest::addRow("capacity %lld, destroyed at call %d", qlonglong(capacity), stopAt)
                << capacity << stopAt;
        }
    }
}

// A full bounded channel, a forEach loop draining it in a worker thread, producers blocked in
// putBlocking() and pending put() futures; destroyed from a third thread while the loop takes.
void tst_Destruction::fullChannelWithForEachAndBlockedProducers() {
    QFETCH(qsizetype, capacity);
    QFETCH(int, stopAt);
    const long liveBefore = Guarded::live();
    const long violationsBefore = Guarded::violations();
    for (int round = 0; round < 8; ++round) {
        Worker worker;
        auto *ch = new Channel<Guarded>(capacity);
        for (qsizetype i = 0; i < capacity; ++i)
            QCOMPARE(ch->tryPut(Guarded(int(i))), PutResult::Ok);
        constexpr int Producers = 3;
        std::vector<std::thread> producers;
        std::atomic<int> closed{0};
        for (int p = 0; p < Producers; ++p) {
            producers.emplace_back([ch, p, &closed] {
                if (ch->putBlocking(Guarded(100000 + p)) == PutResult::Closed)
                    closed.fetch_add(1);
            });
        }
        QVERIFY(waitUntil([&] { return ch->pendingPuts() == Producers; }));
        std::vector<QFuture<void>> puts;
        for (int i = 0; i < 3; ++i)
            puts.push_back(ch->put(Guarded(200000 + i)));

        std::atomic<int> calls{0};
        std::atomic<int> bad{0};
        QSemaphore reached;
        QFuture<void> loop = ch->forEach(worker.context, [&](Guarded item) {
            if (item.value() < 0)
                bad.fetch_add(1);
            if (calls.fetch_add(1) == stopAt)
                reached.release();
        });
        reached.acquire(); // the loop is taking from the ring right now
        destroyElsewhere(ch);

        for (auto &t : producers)
            t.join();
        QFutureWatcher<void> watcher;
        watcher.setFuture(loop);
        QVERIFY(waitUntil([&] { return loop.isFinished(); }));
        QVERIFY(loop.isCanceled());
        for (const QFuture<void> &put : puts)
            QVERIFY(put.isFinished());
        QVERIFY(calls.load() > stopAt);
        QCOMPARE(bad.load(), 0);
    }
    checkNothingLeft(liveBefore, violationsBefore);
}

void tst_Destruction::emptyChannelWithBlockedConsumers_data() {
    QTest::addColumn<qsizetype>("capacity");
    for (qsizetype capacity : {qsizetype(0), qsizetype(1), qsizetype(64), Unbounded})
        QTest::addRow("capacity %lld", qlonglong(capacity)) << capacity;
}

// An empty channel with threads blocked in getBlocking() and getManyBlocking(), pending get()
// and getMany() futures and an idle forEach loop; destroyed from another thread.
void tst_Destruction::emptyChannelWithBlockedConsumers() {
    QFETCH(qsizetype, capacity);
    const long liveBefore = Guarded::live();
    const long violationsBefore = Guarded::violations();
    for (int round = 0; round < 20; ++round) {
        Worker worker;
        auto *ch = new Channel<Guarded>(capacity);
        QFuture<void> loop = ch->forEach(worker.context, [](Guarded) {});
        constexpr int Consumers = 4;
        std::vector<std::thread> consumers;
        std::atomic<int> empty{0};
        for (int c = 0; c < Consumers; ++c) {
            consumers.emplace_back([ch, c, &empty] {
                const bool none =
                    c % 2 ? ch->getManyBlocking(8).isEmpty() : !ch->getBlocking().has_value();
                if (none)
                    empty.fetch_add(1);
            });
        }
        std::vector<QFuture<Guarded>> gets;
        for (int i = 0; i < 3; ++i)
            gets.push_back(ch->get());
        QFuture<QList<Guarded>> many = ch->getMany(4);
        QVERIFY(waitUntil([&] { return ch->pendingGets() == Consumers + 4; }));
        destroyElsewhere(ch);

        for (auto &t : consumers)
            t.join();
        QCOMPARE(empty.load(), Consumers);
        for (QFuture<Guarded> &get : gets) {
            QVERIFY(get.isFinished());
            QVERIFY_THROWS_EXCEPTION(ChannelClosed, get.waitForFinished());
        }
        QVERIFY(many.isFinished());
        QVERIFY_THROWS_EXCEPTION(ChannelClosed, many.waitForFinished());
        QFutureWatcher<void> watcher;
        watcher.setFuture(loop);
        QVERIFY(waitUntil([&] { return loop.isFinished(); }));
        QVERIFY(loop.isCanceled());
    }
    checkNothingLeft(liveBefore, violationsBefore);
}

QTEST_GUILESS_MAIN(tst_Destruction)
#include "tst_destruction.moc"
