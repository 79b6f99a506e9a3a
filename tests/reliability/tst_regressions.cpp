// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// One test per bug the reliability suites found, named after the bug, with the minimal
// reproduction the model-based test or the fault tests printed.

#include "items.h"

#include <QtChannel/Channel>

#include <QtCore/QSemaphore>
#include <QtCore/QThread>
#include <QtTest/QTest>

#include "sync.h"

using namespace QtChannel;
using Rel::Faulty;
using Rel::Guarded;
using Rel::InjectedFault;
using Rel::Tracked;

namespace {
// These regressions are about the channel finishing the canceled futures it meets: without
// the prompt sweeper, which would otherwise race it (see TestUtil::LazyCancellation).
struct Lazy {
    Lazy() { QtChannel::detail::CancelWatch::setEnabled(false); }
    ~Lazy() { QtChannel::detail::CancelWatch::setEnabled(true); }
};
} // namespace

class tst_Regressions : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // regressions
    void getBlockingWithExpiredDeadlineFinishesCanceledPuts();
    void putBlockingWithExpiredDeadlineFinishesCanceledGets();
    void fullTryPutFinishesCanceledGets();
    void readyGetKeepsTheItemWhenMovingItIntoTheFutureThrows();
    void forEachTakeThatThrowsDoesNotEscapeIntoTheEventLoop();
    void destroyingWhileForEachTakesInAnotherThreadDestroysEachItemOnce();
    void snapshotWhoseCopyThrowsLeavesTheFastPathsOpen();
};

// A getBlocking() whose deadline had passed unlinked the canceled puts it met at the head of
// a rendezvous channel's line and returned without settling them: their futures never
// finished and their waiters (and items) leaked.
void tst_Regressions::getBlockingWithExpiredDeadlineFinishesCanceledPuts() {
    const Lazy lazy;
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
    const Lazy lazy;
    Channel<int> ch(0);
    QFuture<int> g1 = ch.get();
    g1.cancel();
    QCOMPARE(ch.putBlocking(1, QDeadlineTimer(0)), PutResult::Full);
    QVERIFY(g1.isFinished());
    QCOMPARE(ch.pendingGets(), 0);
}

// tryPut() returning Full on a rendezvous channel did the same with the canceled gets it met.
void tst_Regressions::fullTryPutFinishesCanceledGets() {
    const Lazy lazy;
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

// Destroying a channel while forEach() took items in another thread destroyed an item twice:
// ~Channel() destroyed the ring's items under the channel's lock while the forEach runner went
// on taking from the ring lock-free, and told the runner to stop only afterwards; the runner
// could claim a slot whose item the destructor had just destroyed. (Found by an outside
// review; ThreadSanitizer saw nothing: a logic race, not a data race.) The destructor now
// stops its runners before it destroys any item.
void tst_Regressions::destroyingWhileForEachTakesInAnotherThreadDestroysEachItemOnce() {
    const long liveBefore = Guarded::live();
    const long violationsBefore = Guarded::violations();
    for (int stopAt : {0, 1, 10, 100, 300, 700}) {
        for (int round = 0; round < 10; ++round) {
            QThread worker;
            worker.start();
            auto *context = new QObject;
            context->moveToThread(&worker);
            auto *ch = new Channel<Guarded>(1024);
            for (int i = 0; i < 1024; ++i)
                ch->tryPut(Guarded(i));
            std::atomic<int> calls{0};
            QSemaphore reached;
            QFuture<void> loop = ch->forEach(context, [&](Guarded item) {
                (void)item.value();
                if (calls.fetch_add(1) == stopAt)
                    reached.release();
            });
            reached.acquire(); // the runner is taking from the ring right now
            delete ch;
            QVERIFY(loop.isFinished());
            QVERIFY(loop.isCanceled());
            Rel::deleteInItsThread(context);
            worker.quit();
            worker.wait();
            QCOMPARE(Guarded::violations() - violationsBefore, 0);
            QCOMPARE(Guarded::live(), liveBefore);
        }
    }
}

// After a snapshot() whose item copy threw, the ring's wait bits stayed set: every fast put and
// get went through the lock until later operations happened to clear them (200,000 items took
// 16-80 ms instead of 10-28). The flags are now restored on that exit too.
namespace {
// Moves through the ring (its move cannot throw); its copy throws while armed.
struct CopyThrows {
    explicit CopyThrows(int v) noexcept
        : value(v) {}
    CopyThrows(CopyThrows &&) noexcept = default;
    CopyThrows &operator=(const CopyThrows &) = default;
    CopyThrows(const CopyThrows &other)
        : value(other.value) {
        if (armed)
            throw InjectedFault();
    }
    int value;
    static inline bool armed = false;
};
// Sees the ring's flags, which only the channel's own subclasses may read.
struct FlagsProbe : Channel<CopyThrows> {
    using Channel::Channel;
    quint32 ringFlags() const { return m_ring.flags(); }
};
} // namespace

void tst_Regressions::snapshotWhoseCopyThrowsLeavesTheFastPathsOpen() {
    FlagsProbe ch(8);
    ch.tryPut(CopyThrows(1));
    ch.tryPut(CopyThrows(2));
    QCOMPARE(ch.ringFlags(), 0u);
    CopyThrows::armed = true;
    QVERIFY_THROWS_EXCEPTION(InjectedFault, ch.snapshot());
    CopyThrows::armed = false;
    QCOMPARE(ch.ringFlags(), 0u); // the fast paths are open again
    QCOMPARE(ch.size(), 2);
    QCOMPARE(ch.snapshot().size(), 2);
    QCOMPARE(ch.ringFlags(), 0u);
    QCOMPARE(ch.tryGet()->value, 1);
    QCOMPARE(ch.tryGet()->value, 2);
}

QTEST_GUILESS_MAIN(tst_Regressions)
#include "tst_regressions.moc"
