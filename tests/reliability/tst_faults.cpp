// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// Faults: items whose copy or move constructor throws, at every construction point of every
// operation; forEach callbacks and future continuations that throw; consumer objects
// destroyed mid-stream.
//
// The rule (channel.h, "T"): a throwing transfer fails the operation that owns the item: the
// caller of a put or take (the channel is then unchanged), or a pending put whose item was
// being moved (that put fails with the exception). Nothing else changes, no item is lost or
// duplicated, and no waiter is stranded.

#include "items.h"
#include "sync.h"

#include "../testutil.h"

#include <QtChannel/Channel>

#include <QtCore/QThread>
#include <QtTest/QTest>

#include <functional>
#include <latch>
#include <thread>

using namespace QtChannel;
using Rel::Faulty;
using Rel::InjectedFault;

namespace {

using Ch = Channel<Faulty>;

std::vector<int> contents(Ch &ch) {
    std::vector<int> out;
    Faulty::disarm();
    for (const Faulty &f : ch.snapshot())
        out.push_back(f.value());
    return out;
}

struct State {
    std::vector<int> items;
    qsizetype size, pendingPuts, pendingGets;
    bool closed;
    bool operator==(const State &) const = default;
};

State stateOf(Ch &ch) {
    return {contents(ch), ch.size(), ch.pendingPuts(), ch.pendingGets(), ch.isClosed()};
}

} // namespace

class tst_Faults : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();

    // throwing transfers, at every construction point
    void putsKeepTheStrongGuarantee_data();
    void putsKeepTheStrongGuarantee();
    void takesKeepTheStrongGuarantee_data();
    void takesKeepTheStrongGuarantee();
    void handOverToAPendingGetFails();
    void handOverToABlockedGetFails();
    void refillFromPendingPutsFailsThatPut();
    void rendezvousTakeFromPendingPutsFailsThatPut();
    void rendezvousTakeFromABlockedPutRethrowsInIt();
    void forEachTakeThatThrowsFailsTheLoop();

    // throwing user code
    void forEachCallbackThrows_data();
    void forEachCallbackThrows();
    void continuationsThatThrowDoNotStrandOtherWaiters();

    // consumers destroyed mid-stream
    void forEachContextDestroyedMidStreamInAnotherThread();
    void slotReceiverDestroyedMidStream();

private:
    long m_liveBefore = 0;
};

void tst_Faults::init() {
    Faulty::disarm();
    Faulty::resetCount();
    m_liveBefore = Faulty::live();
}

void tst_Faults::cleanup() {
    Faulty::disarm();
    QCOMPARE(Faulty::live(), m_liveBefore); // nothing leaked, nothing destroyed twice
}

// --- throwing transfers ---------------------------------------------------------------------

// Each put style, on a channel whose buffer must grow (16 items: the ring buffer's first
// growth copies them all) and on one that needs no growth.
void tst_Faults::putsKeepTheStrongGuarantee_data() {
    QTest::addColumn<int>("style");
    QTest::addColumn<int>("prefill");
    const char *names[] = {"tryPut-const", "tryPut-rvalue", "put", "putBlocking-rvalue",
                           "putBlocking-const"};
    for (int style = 0; style < 5; ++style) {
        for (int prefill : {0, 3, 16}) {
            QTest::addRow("%s-prefill%d", names[style], prefill) << style << prefill;
        }
    }
}

void tst_Faults::putsKeepTheStrongGuarantee() {
    QFETCH(int, style);
    QFETCH(int, prefill);
    int points = 0;
    for (int n = 0; n < 100; ++n, ++points) {
        Ch ch;
        for (int i = 0; i < prefill; ++i)
            ch.tryPut(Faulty(i));
        const State before = stateOf(ch);
        Faulty item(1000);
        Faulty::resetCount();
        Faulty::failAfter(n);
        bool threw = false;
        PutResult r = PutResult::Ok;
        try {
            switch (style) {
            case 0:
                r = ch.tryPut(std::as_const(item));
                break;
            case 1:
                r = ch.tryPut(std::move(item));
                break;
            case 2: {
                QFuture<void> f = ch.put(item);
                QVERIFY(f.isFinished() && !f.isCanceled());
                break;
            }
            case 3:
                r = ch.putBlocking(std::move(item));
                break;
            default:
                r = ch.putBlocking(std::as_const(item));
                break;
            }
        } catch (const InjectedFault &) {
            threw = true;
        }
        const int constructions = Faulty::constructions();
        Faulty::disarm();
        if (threw) {
            QCOMPARE(stateOf(ch), before); // unchanged
            QCOMPARE(item.value(), 1000);  // and the item is still the caller's
        } else {
            QCOMPARE(r, PutResult::Ok);
            std::vector<int> expected = before.items;
            expected.push_back(1000);
            QCOMPARE(contents(ch), expected);
        }
        if (!threw && constructions <= n)
            break; // ran past its last construction: every fault point was covered
    }
    QVERIFY(points > 0);
}

void tst_Faults::takesKeepTheStrongGuarantee_data() {
    QTest::addColumn<int>("style");
    QTest::newRow("tryGet") << 0;
    QTest::newRow("get") << 1;
    QTest::newRow("getBlocking") << 2;
}

void tst_Faults::takesKeepTheStrongGuarantee() {
    QFETCH(int, style);
    for (int n = 0; n < 100; ++n) {
        Ch ch;
        for (int i = 0; i < 3; ++i)
            ch.tryPut(Faulty(i));
        const State before = stateOf(ch);
        Faulty::resetCount();
        Faulty::failAfter(n);
        bool threw = false;
        std::unique_ptr<std::optional<Faulty>> item; // built in place: no copy of our own
        QFuture<Faulty> f;
        try {
            if (style == 0)
                item.reset(new std::optional<Faulty>(ch.tryGet()));
            else if (style == 1)
                f = ch.get();
            else
                item.reset(new std::optional<Faulty>(ch.getBlocking()));
        } catch (const InjectedFault &) {
            threw = true;
        }
        const int constructions = Faulty::constructions();
        Faulty::disarm();
        if (threw) {
            QVERIFY2(contents(ch) == before.items,
                     qPrintable(QStringLiteral("fault point %1: the item was lost").arg(n)));
        } else {
            const int got = style == 1 ? f.resultAt(0).value() : (*item)->value();
            QCOMPARE(got, 0);
            QCOMPARE(contents(ch), (std::vector<int>{1, 2}));
        }
        if (!threw && constructions <= n)
            break;
    }
}

void tst_Faults::handOverToAPendingGetFails() {
    for (int n = 0; n < 100; ++n) {
        Ch ch;
        QFuture<Faulty> g = ch.get();
        Faulty item(7);
        Faulty::resetCount();
        Faulty::failAfter(n);
        bool threw = false;
        try {
            QCOMPARE(ch.tryPut(std::as_const(item)), PutResult::Ok);
        } catch (const InjectedFault &) {
            threw = true;
        }
        const int constructions = Faulty::constructions();
        Faulty::disarm();
        if (threw) {
            QVERIFY(!g.isFinished()); // the get still waits: not stranded, not served
            QCOMPARE(ch.pendingGets(), 1);
            QCOMPARE(ch.size(), 0);
            QCOMPARE(ch.tryPut(std::as_const(item)), PutResult::Ok); // and is served next
        }
        QVERIFY(g.isFinished());
        QCOMPARE(g.resultAt(0).value(), 7);
        if (!threw && constructions <= n)
            break;
    }
}

void tst_Faults::handOverToABlockedGetFails() {
    Ch ch;
    std::optional<int> got;
    std::jthread getter([&] {
        if (std::optional<Faulty> v = ch.getBlocking())
            got = v->value();
    });
    QVERIFY(TestUtil::waitFor([&] { return ch.pendingGets() == 1; }));
    Faulty item(9);
    Faulty::failAfter(0);
    QVERIFY_THROWS_EXCEPTION(InjectedFault, ch.tryPut(std::as_const(item)));
    Faulty::disarm();
    QCOMPARE(ch.pendingGets(), 1); // still blocked, not woken with nothing
    QCOMPARE(ch.tryPut(std::as_const(item)), PutResult::Ok);
    getter.join();
    QCOMPARE(got, 9);
}

// A take from a full bounded channel moves pending puts' items into the room it made. If one
// of those moves throws, that put fails with the exception; the take and the others go on.
void tst_Faults::refillFromPendingPutsFailsThatPut() {
    for (int n = 0; n < 100; ++n) {
        Ch ch(1);
        ch.tryPut(Faulty(0));
        QFuture<void> p1 = ch.put(Faulty(1));
        QFuture<void> p2 = ch.put(Faulty(2));
        Faulty::resetCount();
        Faulty::failAfter(n);
        bool threw = false;
        std::unique_ptr<std::optional<Faulty>> taken; // built in place: no copy of our own
        try {
            taken.reset(new std::optional<Faulty>(ch.tryGet()));
        } catch (const InjectedFault &) {
            threw = true;
        }
        const int constructions = Faulty::constructions();
        Faulty::disarm();
        const std::optional<Faulty> got = taken ? *taken : std::nullopt;
        if (threw) {
            // The fault hit the taken item itself: nothing changed.
            QCOMPARE(contents(ch), std::vector<int>{0});
            QVERIFY(!p1.isFinished() && !p2.isFinished());
        } else {
            QVERIFY(got);
            QCOMPARE(got->value(), 0);
            QVERIFY(p1.isFinished());
            const bool p1Failed = p1.isCanceled();
            if (p1Failed) {
                QVERIFY_THROWS_EXCEPTION(InjectedFault, p1.waitForFinished());
                QVERIFY(p2.isFinished() && !p2.isCanceled()); // the next put took the room
                QCOMPARE(contents(ch), std::vector<int>{2});
            } else {
                QCOMPARE(contents(ch), std::vector<int>{1});
                QVERIFY(!p2.isFinished());
            }
        }
        ch.close();
        QVERIFY(p1.isFinished() && p2.isFinished()); // nobody stranded
        if (!threw && constructions <= n)
            break;
    }
}

void tst_Faults::rendezvousTakeFromPendingPutsFailsThatPut() {
    for (int n = 0; n < 100; ++n) {
        Ch ch(0);
        QFuture<void> p1 = ch.put(Faulty(1));
        QFuture<void> p2 = ch.put(Faulty(2));
        Faulty::resetCount();
        Faulty::failAfter(n);
        bool threw = false;
        std::unique_ptr<std::optional<Faulty>> taken; // built in place: no copy of our own
        try {
            taken.reset(new std::optional<Faulty>(ch.tryGet()));
        } catch (const InjectedFault &) {
            threw = true;
        }
        const int constructions = Faulty::constructions();
        Faulty::disarm();
        const std::optional<Faulty> got = taken ? *taken : std::nullopt;
        QVERIFY2(!threw, "a failed transfer from a pending put must fail that put, not the take");
        QVERIFY(got);
        if (got->value() == 2) {
            QVERIFY(p1.isFinished() && p1.isCanceled());
            QVERIFY_THROWS_EXCEPTION(InjectedFault, p1.waitForFinished());
            QVERIFY(p2.isFinished() && !p2.isCanceled());
        } else {
            QCOMPARE(got->value(), 1);
            QVERIFY(p1.isFinished() && !p1.isCanceled());
            QVERIFY(!p2.isFinished());
        }
        ch.close();
        QVERIFY(p2.isFinished());
        if (constructions <= n)
            break;
    }
}

void tst_Faults::rendezvousTakeFromABlockedPutRethrowsInIt() {
    Ch ch(0);
    bool putterSawFault = false;
    int itemAfter = -1;
    std::jthread putter([&] {
        Faulty item(5);
        try {
            ch.putBlocking(std::move(item));
        } catch (const InjectedFault &) {
            putterSawFault = true;
        }
        itemAfter = item.value();
    });
    QVERIFY(TestUtil::waitFor([&] { return ch.pendingPuts() == 1; }));
    Faulty::failAfter(0);
    std::optional<Faulty> got = ch.tryGet();
    Faulty::disarm();
    QVERIFY(!got); // the only put failed: nothing to take
    putter.join();
    QVERIFY(putterSawFault);
    QCOMPARE(itemAfter, 5); // the caller still owns its item
    QCOMPARE(ch.pendingPuts(), 0);
}

// forEach takes in its context's thread. A throwing transfer there must not escape into the
// event loop: the loop fails with the exception and the item stays in the channel.
void tst_Faults::forEachTakeThatThrowsFailsTheLoop() {
    for (int n = 0; n < 20; ++n) {
        Ch ch;
        ch.tryPut(Faulty(1));
        ch.tryPut(Faulty(2));
        QObject context;
        std::vector<int> seen;
        QFuture<void> loop =
            ch.forEach(&context, [&](const Faulty &f) { seen.push_back(f.value()); });
        Faulty::resetCount();
        Faulty::failAfter(n);
        bool escaped = false;
        try {
            for (int i = 0; i < 10; ++i)
                QCoreApplication::sendPostedEvents();
        } catch (const InjectedFault &) {
            escaped = true;
        }
        const int constructions = Faulty::constructions();
        Faulty::disarm();
        QVERIFY2(!escaped,
                 qPrintable(QStringLiteral("fault point %1 escaped into the event loop").arg(n)));
        // Every item is seen once or still in the channel, except the one the loop was
        // passing to the callback when constructing the callback's argument threw: that
        // fails the loop like a throwing callback, and the item goes with it.
        std::vector<int> all = seen;
        for (int v : contents(ch))
            all.push_back(v);
        std::sort(all.begin(), all.end());
        const bool failed = loop.isFinished() && loop.isCanceled();
        if (failed)
            QVERIFY_THROWS_EXCEPTION(InjectedFault, loop.waitForFinished());
        if (all != std::vector<int>{1, 2}) {
            QVERIFY2(failed, "an item was lost");
            const int passing = int(seen.size()) + 1;
            std::vector<int> expected{1, 2};
            expected.erase(std::find(expected.begin(), expected.end(), passing));
            QCOMPARE(all, expected);
        }
        ch.close();
        for (int i = 0; i < 10; ++i)
            QCoreApplication::sendPostedEvents();
        if (constructions <= n)
            break;
    }
}

// --- throwing user code ---------------------------------------------------------------------

void tst_Faults::forEachCallbackThrows_data() {
    QTest::addColumn<int>("throwAt");
    for (int k : {0, 1, 5, 255, 256, 300})
        QTest::addRow("at item %d", k) << k;
}

void tst_Faults::forEachCallbackThrows() {
    QFETCH(int, throwAt);
    Channel<int> ch;
    for (int i = 0; i < 400; ++i)
        ch.tryPut(i);
    QObject context;
    std::vector<int> seen;
    QFuture<void> loop = ch.forEach(&context, [&](int v) {
        seen.push_back(v);
        if (v == throwAt)
            throw std::runtime_error("callback failed");
    });
    QVERIFY(TestUtil::waitFor([&] { return loop.isFinished(); }));
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, loop.waitForFinished());
    QCOMPARE(int(seen.size()), throwAt + 1);
    QCOMPARE(ch.size(), 400 - throwAt - 1); // the rest is still there, in order
    QCOMPARE(ch.tryGet(), throwAt + 1);
    ch.tryPut(1000);
    QCoreApplication::processEvents();
    QCOMPARE(int(seen.size()), throwAt + 1); // and it takes nothing more
}

// Continuations run synchronously inside the call that settles their future. One that throws
// must not stop the channel from settling the other waiters of the same call.
void tst_Faults::continuationsThatThrowDoNotStrandOtherWaiters() {
    Channel<int> ch;
    std::vector<QFuture<int>> gets;
    std::vector<QFuture<void>> chained;
    for (int i = 0; i < 4; ++i) {
        gets.push_back(ch.get());
        chained.push_back(gets.back()
                              .then([](int) { throw std::runtime_error("then"); })
                              .onFailed([](const QtChannel::ChannelClosed &) {
                                  throw std::logic_error("onFailed");
                              }));
    }
    QCOMPARE(ch.tryPut(1), PutResult::Ok); // runs the first continuation, which throws
    QVERIFY(gets[0].isFinished());
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, chained[0].waitForFinished());
    QVERIFY(ch.close()); // fails the other three; each onFailed throws
    for (int i = 1; i < 4; ++i) {
        QVERIFY(gets[size_t(i)].isFinished());
        QVERIFY_THROWS_EXCEPTION(std::logic_error, chained[size_t(i)].waitForFinished());
    }
    QVERIFY(ch.isFinished());
    QVERIFY(ch.join().isFinished());
}

// --- consumers destroyed mid-stream ---------------------------------------------------------

// A forEach whose context lives in a worker thread is destroyed there while a producer thread
// streams items: every item was passed to the callback exactly once or is still in the channel.
void tst_Faults::forEachContextDestroyedMidStreamInAnotherThread() {
    constexpr int Items = 20000;
    Channel<int> ch(16);
    QThread worker;
    worker.start();
    auto *context = new QObject;
    context->moveToThread(&worker);
    auto *fence = new QObject; // see below
    fence->moveToThread(&worker);
    std::mutex mutex;
    std::vector<int> seen;
    QFuture<void> loop = ch.forEach(context, [&](int v) {
        std::lock_guard lock(mutex);
        seen.push_back(v);
        if (seen.size() == Items / 3)
            delete context; // from inside its own callback, in its own thread
    });
    std::jthread producer([&] {
        for (int i = 0; i < Items; ++i) {
            if (ch.putBlocking(i) != PutResult::Ok)
                return;
        }
    });
    QVERIFY(TestUtil::waitFor([&] { return loop.isFinished(); }));
    QVERIFY(loop.isCanceled());
    // Everything the worker did before (destroying the context) happens-before what follows,
    // for ThreadSanitizer too.
    Rel::deleteInItsThread(fence);
    // The producer is now blocked on a full channel; drain it here.
    std::vector<int> rest;
    const auto seenCount = [&] {
        std::lock_guard lock(mutex);
        return seen.size();
    };
    while (rest.size() + seenCount() < size_t(Items)) {
        if (std::optional<int> v = ch.getBlocking(QDeadlineTimer(20000)))
            rest.push_back(*v);
        else
            break;
    }
    producer.join();
    worker.quit();
    worker.wait();
    std::lock_guard lock(mutex);
    QCOMPARE(int(seen.size()), Items / 3);
    std::vector<int> all = seen;
    all.insert(all.end(), rest.begin(), rest.end());
    QCOMPARE(int(all.size()), Items);
    for (int i = 0; i < Items; ++i)
        QCOMPARE(all[size_t(i)], i); // exactly once, and in order
}

// An itemAvailable() receiver destroyed while a producer thread streams: its connection goes,
// and nothing it did not take is lost.
void tst_Faults::slotReceiverDestroyedMidStream() {
    constexpr int Items = 20000;
    Channel<int> ch;
    auto *receiver = new QObject;
    std::vector<int> seen;
    QObject::connect(&ch, &ChannelBase::itemAvailable, receiver, [&] {
        while (std::optional<int> v = ch.tryGet()) {
            seen.push_back(*v);
            if (seen.size() == Items / 4) {
                delete receiver;
                return;
            }
        }
    });
    std::jthread producer([&] {
        for (int i = 0; i < Items; ++i)
            ch.tryPut(i);
        ch.close();
    });
    QVERIFY(TestUtil::waitFor([&] { return ch.isClosed(); }));
    producer.join();
    QCoreApplication::processEvents(); // stale queued calls to the dead receiver are dropped
    std::vector<int> all = seen;
    while (std::optional<int> v = ch.tryGet())
        all.push_back(*v);
    QCOMPARE(int(all.size()), Items);
    for (int i = 0; i < Items; ++i)
        QCOMPARE(all[size_t(i)], i);
    QVERIFY(ch.isFinished());
}

QTEST_GUILESS_MAIN(tst_Faults)
#include "tst_faults.moc"
