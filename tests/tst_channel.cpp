// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// Channel<T> in one thread: every row of the API contract, closing, cancellation,
// signals, forEach and destruction. Threads are in tst_threads.cpp.

#include "testutil.h"

#include <QtChannel/Channel>

#include <QtCore/QMetaProperty>
#include <QtCore/QPointer>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

#include <stdexcept>
#include <thread>
#include <type_traits>

using namespace QtChannel;
using TestUtil::Counted;
using TestUtil::Item;
using TestUtil::MoveOnly;

// The contract, checked at compile time.
static_assert(Unbounded == -1);
static_assert(std::is_base_of_v<QException, ChannelClosed>);
static_assert(std::is_base_of_v<ChannelBase, Channel<int>>);
static_assert(std::is_base_of_v<QObject, ChannelBase>);
static_assert(std::is_same_v<decltype(std::declval<Channel<int> &>().put(1)), QFuture<void>>);
static_assert(std::is_same_v<decltype(std::declval<Channel<int> &>().get()), QFuture<int>>);
static_assert(
    std::is_same_v<decltype(std::declval<Channel<int> &>().tryGet()), std::optional<int>>);
static_assert(std::is_same_v<decltype(std::declval<ChannelBase &>().join()), QFuture<void>>);
static_assert(!std::is_copy_constructible_v<Channel<int>>);

namespace {

template <typename T> int valueOf(QFuture<T> f) {
    if constexpr (std::is_copy_constructible_v<T>)
        return Item<T>::value(f.resultAt(0));
    else
        return Item<T>::value(f.takeResult()); // resultAt() copies
}

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

class tst_Channel : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // construction
    void construct_data();
    void construct();
    void invalidCapacity_data();
    void invalidCapacity();
    void invalidCapacityTakesNoParent();
    void properties();
    void channelClosedException();

    // basics
    void tryPutTryGetFifo();
    void boundedFullLeavesItemUntouched();
    void closedWinsOverFull();
    void unboundedIsNeverFull();
    void putAndGetReadyAtOnce();
    void pendingGetServedByPut();
    void pendingGetsServedInOrder();
    void pendingPutsAcceptedInOrder();
    void pendingPutsAndGetsAcrossStyles();
    void snapshot();
    void hugeCapacityDoesNotPreallocate();
    void bufferBeyondTheRing_data();
    void bufferBeyondTheRing();

    // rendezvous
    void rendezvousTryPutNeedsAWaitingGet();
    void rendezvousTryGetTakesFromAWaitingPut();
    void rendezvousIsFullUnlessAGetWaits();
    void rendezvousSignals();

    // close
    void closeTwice();
    void closeFailsPendingPutsAndDestroysTheirItems();
    void closeFailsPendingGets();
    void closeKeepsBufferedItems();
    void closeEmptyFinishesAtOnce();
    void callsAfterFinished();
    void closedAndFinishedEmittedOnce();
    void joinManyAndLate();

    // cancellation
    void canceledGetNeverSwallowsAnItem();
    void canceledGetIsFinishedWhenNoticed();
    void cancelAfterHandOverKeepsTheItem();
    void canceledPutIsNeverEnqueued();
    void canceledWaitersAreSwept();
    void canceledJoinIsDropped();
    void canceledFuturesFinishWithoutAnotherOperation();
    void cancelFromAnotherThreadEndsAWait();

    // signals
    void itemAvailableIsCoalesced();
    void itemAvailableDrainPatternSeesEveryItem();
    void spaceAvailableIsCoalesced();
    void sizeChanged();

    // blocking calls in one thread: deadlines only
    void getBlockingDeadline();
    void putBlockingDeadlineLeavesItemUntouched();
    void putBlockingConstRef();

    // forEach
    void forEachTakesEverythingInOrder();
    void forEachNullContextThrows();
    void forEachStopsWhenContextIsDestroyed();
    void forEachContextDestroyedBeforeItRan();
    void forEachCallbackThrows();
    void forEachCanceled();
    void forEachOnFinishedChannel();
    void forEachSharesWithOtherConsumers();

    // continuations
    void continuationsMayCallBack();
    void readmeChainOnClose();

    // lifetime
    void destroyFailsPendingFutures();
    void destroyCancelsJoinAndForEach();
    void destroyDestroysBufferedItems();
    void destroyEmitsNothing();

private:
    template <typename T> void tryPutTryGetFifoImpl();
    template <typename T> void pendingGetServedByPutImpl();
    template <typename T> void bufferBeyondTheRingImpl(qsizetype capacity);
};

// --- construction ---------------------------------------------------------------------------

void tst_Channel::construct_data() {
    QTest::addColumn<qsizetype>("capacity");
    QTest::addColumn<bool>("full");
    QTest::newRow("unbounded") << Unbounded << false;
    QTest::newRow("rendezvous") << qsizetype(0) << true;
    QTest::newRow("one") << qsizetype(1) << false;
    QTest::newRow("many") << qsizetype(1000) << false;
}

void tst_Channel::construct() {
    QFETCH(qsizetype, capacity);
    QFETCH(bool, full);
    QObject parent;
    auto *ch = new Channel<int>(capacity, &parent);
    QCOMPARE(ch->parent(), &parent);
    QCOMPARE(ch->capacity(), capacity);
    QCOMPARE(ch->size(), 0);
    QVERIFY(ch->isEmpty());
    QCOMPARE(ch->isFull(), full);
    QVERIFY(!ch->isClosed());
    QVERIFY(!ch->isFinished());
    QCOMPARE(ch->pendingPuts(), 0);
    QCOMPARE(ch->pendingGets(), 0);
}

void tst_Channel::invalidCapacity_data() {
    QTest::addColumn<qsizetype>("capacity");
    QTest::newRow("-2") << qsizetype(-2);
    QTest::newRow("-1000") << qsizetype(-1000);
    QTest::newRow("min") << std::numeric_limits<qsizetype>::min();
}

void tst_Channel::invalidCapacity() {
    QFETCH(qsizetype, capacity);
    try {
        Channel<int> ch(capacity);
        QFAIL("no exception");
    } catch (const std::invalid_argument &e) {
        QVERIFY2(QByteArray(e.what()).contains("capacity"), e.what());
        QVERIFY2(QByteArray(e.what()).contains(QByteArray::number(capacity)), e.what());
    }
}

void tst_Channel::invalidCapacityTakesNoParent() {
    QObject parent;
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, Channel<int>(-5, &parent));
    QVERIFY(parent.children().isEmpty());
}

void tst_Channel::properties() {
    Channel<int> ch(3);
    const QMetaObject *mo = ch.metaObject();
    QCOMPARE(mo->className(), "QtChannel::ChannelBase");
    const auto property = [mo](const char *name) {
        return mo->property(mo->indexOfProperty(name));
    };

    QCOMPARE(property("capacity").read(&ch).value<qsizetype>(), 3);
    QVERIFY(property("capacity").isConstant());
    QCOMPARE(property("size").notifySignal().name(), "sizeChanged");
    QCOMPARE(property("closed").notifySignal().name(), "closed");
    QCOMPARE(property("finished").notifySignal().name(), "finished");

    QCOMPARE(ch.tryPut(1), PutResult::Ok);
    QCOMPARE(property("size").read(&ch).value<qsizetype>(), 1);
    QCOMPARE(ch.property("closed").toBool(), false);
    ch.close();
    QCOMPARE(ch.property("closed").toBool(), true);
    QCOMPARE(ch.property("finished").toBool(), false);
    QCOMPARE(ch.tryGet(), 1);
    QCOMPARE(ch.property("finished").toBool(), true);
}

void tst_Channel::channelClosedException() {
    const ChannelClosed e;
    QVERIFY(QByteArray(e.what()).contains("closed"));
    std::unique_ptr<QException> copy(e.clone());
    QVERIFY(dynamic_cast<ChannelClosed *>(copy.get()));
    QVERIFY_THROWS_EXCEPTION(ChannelClosed, copy->raise());
}

// --- basics ---------------------------------------------------------------------------------

template <typename T> void tst_Channel::tryPutTryGetFifoImpl() {
    Channel<T> ch;
    for (int i = 0; i < 3000; ++i) // more than the lock-free ring holds
        QCOMPARE(ch.tryPut(Item<T>::make(i)), PutResult::Ok);
    QCOMPARE(ch.size(), 3000);
    for (int i = 0; i < 3000; ++i) {
        std::optional<T> item = ch.tryGet();
        QVERIFY(item);
        QCOMPARE(Item<T>::value(*item), i);
    }
    QVERIFY(!ch.tryGet());
    QVERIFY(!ch.isFinished());
}

void tst_Channel::tryPutTryGetFifo() {
    QTCHANNEL_FOR_EACH_ITEM_TYPE(tryPutTryGetFifoImpl);
}

void tst_Channel::boundedFullLeavesItemUntouched() {
    Channel<MoveOnly> ch(2);
    QCOMPARE(ch.tryPut(MoveOnly(1)), PutResult::Ok);
    QVERIFY(!ch.isFull());
    QCOMPARE(ch.tryPut(MoveOnly(2)), PutResult::Ok);
    QVERIFY(ch.isFull());
    MoveOnly third(3);
    QCOMPARE(ch.tryPut(std::move(third)), PutResult::Full);
    QCOMPARE(third.value(), 3); // still ours
    QCOMPARE(ch.tryGet()->value(), 1);
    QCOMPARE(ch.tryPut(std::move(third)), PutResult::Ok);
    QVERIFY(third.isMovedFrom());
    QCOMPARE(ch.tryGet()->value(), 2);
    QCOMPARE(ch.tryGet()->value(), 3);
}

void tst_Channel::closedWinsOverFull() {
    Channel<MoveOnly> ch(1);
    QCOMPARE(ch.tryPut(MoveOnly(1)), PutResult::Ok);
    ch.close();
    MoveOnly item(2);
    QCOMPARE(ch.tryPut(std::move(item)), PutResult::Closed);
    QCOMPARE(item.value(), 2);
    QCOMPARE(ch.putBlocking(std::move(item)), PutResult::Closed);
    QCOMPARE(item.value(), 2);
}

void tst_Channel::unboundedIsNeverFull() {
    Channel<int> ch;
    for (int i = 0; i < 10000; ++i)
        QCOMPARE(ch.tryPut(i), PutResult::Ok);
    QVERIFY(!ch.isFull());
    QCOMPARE(ch.size(), 10000);
}

void tst_Channel::putAndGetReadyAtOnce() {
    Channel<int> ch(1);
    QFuture<void> p = ch.put(7);
    QVERIFY(p.isFinished());
    QVERIFY(!p.isCanceled());
    QFuture<int> g = ch.get();
    QVERIFY(g.isFinished());
    QCOMPARE(g.result(), 7);
}

template <typename T> void tst_Channel::pendingGetServedByPutImpl() {
    Channel<T> ch;
    QFuture<T> g = ch.get();
    QVERIFY(!g.isFinished());
    QCOMPARE(ch.pendingGets(), 1);
    QCOMPARE(ch.tryPut(Item<T>::make(5)), PutResult::Ok);
    QVERIFY(g.isFinished());
    QCOMPARE(valueOf(g), 5);
    QCOMPARE(ch.size(), 0); // handed over, never buffered
    QCOMPARE(ch.pendingGets(), 0);
}

void tst_Channel::pendingGetServedByPut() {
    QTCHANNEL_FOR_EACH_ITEM_TYPE(pendingGetServedByPutImpl);
}

void tst_Channel::pendingGetsServedInOrder() {
    Channel<int> ch(4);
    QList<QFuture<int>> gets;
    for (int i = 0; i < 5; ++i)
        gets.append(ch.get());
    for (int i = 0; i < 5; ++i) {
        QVERIFY(!gets[i].isFinished());
        QCOMPARE(ch.put(100 + i).isFinished(), true);
        QCOMPARE(gets[i].result(), 100 + i);
        for (int j = i + 1; j < 5; ++j)
            QVERIFY(!gets[j].isFinished());
    }
}

void tst_Channel::pendingPutsAcceptedInOrder() {
    Channel<int> ch(1);
    QVERIFY(ch.put(0).isFinished());
    QList<QFuture<void>> puts;
    for (int i = 1; i <= 4; ++i)
        puts.append(ch.put(i));
    QCOMPARE(ch.pendingPuts(), 4);
    for (int i = 0; i <= 4; ++i) {
        for (int j = i; j < 4; ++j)
            QVERIFY(!puts[j].isFinished());
        QCOMPARE(ch.tryGet(), i); // makes room for exactly the oldest pending put
        if (i < 4)
            QVERIFY(puts[i].isFinished());
        QCOMPARE(ch.size(), i < 4 ? 1 : 0);
    }
}

void tst_Channel::pendingPutsAndGetsAcrossStyles() {
    // A pending future put and a tryGet consumer; pending future gets and a tryPut producer.
    Channel<int> ch(1);
    QCOMPARE(ch.tryPut(1), PutResult::Ok);
    QFuture<void> p2 = ch.put(2);
    QCOMPARE(ch.tryPut(3), PutResult::Full); // a non-waiting put never overtakes a pending one
    QCOMPARE(ch.tryGet(), 1);
    QVERIFY(p2.isFinished());
    QCOMPARE(ch.get().result(), 2);
    QFuture<int> g1 = ch.get();
    QFuture<int> g2 = ch.get();
    QCOMPARE(ch.tryPut(3), PutResult::Ok);
    QCOMPARE(ch.putBlocking(4, QDeadlineTimer(0)), PutResult::Ok);
    QCOMPARE(g1.result(), 3);
    QCOMPARE(g2.result(), 4);
    QCOMPARE(ch.size(), 0);
}

void tst_Channel::snapshot() {
    Channel<QString> ch;
    QVERIFY(ch.snapshot().isEmpty());
    ch.tryPut(QStringLiteral("a"));
    ch.tryPut(QStringLiteral("b"));
    QCOMPARE(ch.snapshot(), (QStringList{QStringLiteral("a"), QStringLiteral("b")}));
    QCOMPARE(ch.size(), 2); // nothing taken
    QCOMPARE(*ch.tryGet(), QStringLiteral("a"));
    QCOMPARE(ch.snapshot(), QStringList{QStringLiteral("b")});
}

void tst_Channel::hugeCapacityDoesNotPreallocate() {
    // Would need exabytes if the capacity were allocated up front.
    Channel<int> ch(std::numeric_limits<qsizetype>::max());
    QCOMPARE(ch.tryPut(1), PutResult::Ok);
    QVERIFY(!ch.isFull());
    QCOMPARE(ch.tryGet(), 1);
}

void tst_Channel::bufferBeyondTheRing_data() {
    QTest::addColumn<qsizetype>("capacity");
    QTest::newRow("1") << qsizetype(1);
    QTest::newRow("3") << qsizetype(3);
    QTest::newRow("4096") << qsizetype(4096);
    QTest::newRow("5000") << qsizetype(5000);
    QTest::newRow("unbounded") << Unbounded;
}

// Items cross the boundary between the lock-free ring and the buffer behind it many times,
// in both directions: FIFO, exact capacity and size throughout.
template <typename T> void tst_Channel::bufferBeyondTheRingImpl(qsizetype capacity) {
    Channel<T> ch(capacity);
    const int limit = capacity == Unbounded ? 6000 : int(capacity);
    int next = 0, expected = 0;
    for (int round = 0; round < 4; ++round) {
        // fill to the limit
        while (next - expected < limit) {
            QCOMPARE(ch.tryPut(Item<T>::make(next)), PutResult::Ok);
            ++next;
            QCOMPARE(ch.size(), qsizetype(next - expected));
        }
        if (capacity != Unbounded) {
            QVERIFY(ch.isFull());
            QCOMPARE(ch.tryPut(Item<T>::make(-1)), PutResult::Full);
        }
        // take about two thirds, putting one back every third take
        for (int i = 0; i < limit * 2 / 3; ++i) {
            std::optional<T> item = ch.tryGet();
            QVERIFY(item);
            QCOMPARE(Item<T>::value(*item), expected);
            ++expected;
            if (i % 3 == 0) {
                QCOMPARE(ch.tryPut(Item<T>::make(next)), PutResult::Ok);
                ++next;
            }
        }
    }
    while (std::optional<T> item = ch.tryGet()) {
        QCOMPARE(Item<T>::value(*item), expected);
        ++expected;
    }
    QCOMPARE(expected, next);
    QCOMPARE(ch.size(), 0);
}

void tst_Channel::bufferBeyondTheRing() {
    QFETCH(qsizetype, capacity);
    bufferBeyondTheRingImpl<int>(capacity);
    if (QTest::currentTestFailed())
        return;
    bufferBeyondTheRingImpl<TestUtil::MayThrowMove>(capacity);
}

// --- rendezvous -----------------------------------------------------------------------------

void tst_Channel::rendezvousTryPutNeedsAWaitingGet() {
    Channel<MoveOnly> ch(0);
    MoveOnly item(1);
    QCOMPARE(ch.tryPut(std::move(item)), PutResult::Full);
    QCOMPARE(item.value(), 1);
    QFuture<MoveOnly> g = ch.get();
    QVERIFY(!ch.isFull());
    QCOMPARE(ch.tryPut(std::move(item)), PutResult::Ok);
    QVERIFY(g.isFinished());
    QCOMPARE(g.takeResult().value(), 1);
    QCOMPARE(ch.size(), 0);
    QVERIFY(ch.isFull());
}

void tst_Channel::rendezvousTryGetTakesFromAWaitingPut() {
    Channel<int> ch(0);
    QVERIFY(!ch.tryGet());
    QFuture<void> p1 = ch.put(1);
    QFuture<void> p2 = ch.put(2);
    QVERIFY(!p1.isFinished()); // a rendezvous put completes only when its item is taken
    QCOMPARE(ch.size(), 0);
    QCOMPARE(ch.pendingPuts(), 2);
    QCOMPARE(ch.tryGet(), 1);
    QVERIFY(p1.isFinished());
    QVERIFY(!p2.isFinished());
    QCOMPARE(ch.get().result(), 2);
    QVERIFY(p2.isFinished());
    QVERIFY(!ch.tryGet());
}

void tst_Channel::rendezvousIsFullUnlessAGetWaits() {
    const TestUtil::LazyCancellation lazy; // the channel finishes them when it looks
    Channel<int> ch(0);
    QVERIFY(ch.isFull());
    QFuture<int> g = ch.get();
    QVERIFY(!ch.isFull());
    g.cancel();
    QVERIFY(ch.isFull()); // a canceled get is not room
    QVERIFY(g.isFinished());
    QCOMPARE(ch.pendingGets(), 0);
}

void tst_Channel::rendezvousSignals() {
    Channel<int> ch(0);
    QSignalSpy items(&ch, &ChannelBase::itemAvailable);
    QSignalSpy space(&ch, &ChannelBase::spaceAvailable);
    QSignalSpy sizes(&ch, &ChannelBase::sizeChanged);
    QFuture<void> p = ch.put(1); // a put started waiting: an item is available
    QCOMPARE(items.count(), 1);
    QCOMPARE(space.count(), 0);
    QCOMPARE(ch.tryGet(), 1);
    QVERIFY(!ch.tryGet());
    QFuture<int> g = ch.get(); // a get started waiting: room for one put
    QCOMPARE(space.count(), 1);
    QCOMPARE(ch.tryPut(2), PutResult::Ok);
    QCOMPARE(g.result(), 2);
    QCOMPARE(sizes.count(), 0); // the buffer of a rendezvous channel never changes
}

// --- close ----------------------------------------------------------------------------------

void tst_Channel::closeTwice() {
    Channel<int> ch(1);
    QFuture<void> pending = (ch.tryPut(1), ch.put(2));
    QVERIFY(ch.close());
    QVERIFY(!ch.close()); // harmless, even with (failed) puts that had been pending
    QVERIFY(ch.isClosed());
    QVERIFY(failedWithClosed(pending));
}

void tst_Channel::closeFailsPendingPutsAndDestroysTheirItems() {
    {
        Channel<Counted> ch(1);
        QCOMPARE(ch.tryPut(Counted(1)), PutResult::Ok);
        QFuture<void> p2 = ch.put(Counted(2));
        QFuture<void> p3 = ch.put(Counted(3));
        QCOMPARE(Counted::live(), 3);
        ch.close();
        QVERIFY(failedWithClosed(p2));
        QVERIFY(failedWithClosed(p3));
        QCOMPARE(Counted::live(), 1); // only the buffered item is left
        QCOMPARE(ch.tryGet()->value(), 1);
        QVERIFY(!ch.tryGet());
        QVERIFY(ch.isFinished());
    }
    QCOMPARE(Counted::live(), 0);
}

void tst_Channel::closeFailsPendingGets() {
    Channel<int> ch;
    QFuture<int> g1 = ch.get();
    QFuture<int> g2 = ch.get();
    bool failedHandlerRan = false;
    auto chained = g1.then([](int v) { return v; }).onFailed([&](const ChannelClosed &) {
        failedHandlerRan = true;
        return -1;
    });
    ch.close();
    QVERIFY(failedWithClosed(g1));
    QVERIFY(failedWithClosed(g2));
    QVERIFY(failedHandlerRan);
    QCOMPARE(chained.result(), -1);
    QVERIFY_THROWS_EXCEPTION(ChannelClosed, g2.result());
}

void tst_Channel::closeKeepsBufferedItems() {
    Channel<int> ch;
    ch.tryPut(1);
    ch.tryPut(2);
    QFuture<void> joined = ch.join();
    ch.close();
    QVERIFY(!ch.isFinished());
    QVERIFY(!joined.isFinished());
    QCOMPARE(ch.get().result(), 1);
    QVERIFY(!joined.isFinished());
    QCOMPARE(ch.tryGet(), 2);
    QVERIFY(ch.isFinished());
    QVERIFY(joined.isFinished());
    QVERIFY(!joined.isCanceled());
}

void tst_Channel::closeEmptyFinishesAtOnce() {
    Channel<int> ch;
    QSignalSpy finished(&ch, &ChannelBase::finished);
    QFuture<void> joined = ch.join();
    ch.close();
    QVERIFY(ch.isFinished());
    QCOMPARE(finished.count(), 1);
    QVERIFY(joined.isFinished());
}

void tst_Channel::callsAfterFinished() {
    Channel<int> ch(2);
    ch.close();
    QVERIFY(failedWithClosed(ch.put(1)));
    QCOMPARE(ch.tryPut(1), PutResult::Closed);
    QCOMPARE(ch.putBlocking(1), PutResult::Closed);
    QVERIFY(failedWithClosed(ch.get())); // at once: nothing can ever reach it
    QVERIFY(!ch.tryGet());
    QVERIFY(!ch.getBlocking()); // no deadline needed: finished
    QVERIFY(ch.join().isFinished());
    QCOMPARE(ch.size(), 0);
}

void tst_Channel::closedAndFinishedEmittedOnce() {
    Channel<int> ch;
    QSignalSpy closed(&ch, &ChannelBase::closed);
    QSignalSpy finished(&ch, &ChannelBase::finished);
    ch.tryPut(1);
    ch.close();
    ch.close();
    QCOMPARE(closed.count(), 1);
    QCOMPARE(finished.count(), 0);
    ch.tryGet();
    ch.tryGet();
    ch.get();
    QCOMPARE(finished.count(), 1);
    ch.close();
    QCOMPARE(closed.count(), 1);
    QCOMPARE(finished.count(), 1);
}

void tst_Channel::joinManyAndLate() {
    const TestUtil::LazyCancellation lazy; // the channel finishes them when it looks
    Channel<int> ch;
    QList<QFuture<void>> joins;
    for (int i = 0; i < 100; ++i)
        joins.append(ch.join());
    joins[3].cancel(); // one joiner giving up does not affect the others
    ch.close();
    for (int i = 0; i < 100; ++i) {
        QVERIFY(joins[i].isFinished());
        QCOMPARE(joins[i].isCanceled(), i == 3);
    }
    QVERIFY(ch.join().isFinished()); // ready at once, and never un-finishes
}

// --- cancellation ---------------------------------------------------------------------------

void tst_Channel::canceledGetNeverSwallowsAnItem() {
    const TestUtil::LazyCancellation lazy; // the channel finishes them when it looks
    Channel<int> ch;
    QFuture<int> g1 = ch.get();
    QFuture<int> g2 = ch.get();
    g1.cancel();
    QCOMPARE(ch.tryPut(1), PutResult::Ok);
    QCOMPARE(g2.result(), 1); // skipped the canceled get
    QVERIFY(g1.isFinished() && g1.isCanceled());
    QCOMPARE(g1.resultCount(), 0);
    QFuture<int> g3 = ch.get();
    g3.cancel();
    QCOMPARE(ch.tryPut(2), PutResult::Ok);
    QCOMPARE(ch.size(), 1); // no live get: buffered
    QCOMPARE(ch.tryGet(), 2);
}

void tst_Channel::canceledGetIsFinishedWhenNoticed() {
    const TestUtil::LazyCancellation lazy; // the channel finishes them when it looks
    Channel<int> ch;
    QFuture<int> g = ch.get();
    bool canceledHandlerRan = false;
    auto chained = g.onCanceled([&] {
        canceledHandlerRan = true;
        return -1;
    });
    g.cancel();
    // Qt 6.4 does not tell a promise that its future was canceled; the channel notices at its
    // next look at the pending gets and then finishes the future, which runs its handlers.
    QVERIFY(!canceledHandlerRan);
    ch.tryPut(1);
    QVERIFY(g.isFinished());
    QVERIFY(canceledHandlerRan);
    QCOMPARE(chained.result(), -1);
}

void tst_Channel::cancelAfterHandOverKeepsTheItem() {
    Channel<QString> ch;
    QFuture<QString> g = ch.get();
    QCOMPARE(ch.tryPut(QStringLiteral("nine")), PutResult::Ok);
    g.cancel();
    QVERIFY(g.isCanceled());
    QCOMPARE(g.resultCount(), 1);
    QCOMPARE(g.resultAt(0), QStringLiteral("nine"));
    QVERIFY(!ch.tryGet()); // taken exactly once: by g
}

void tst_Channel::canceledPutIsNeverEnqueued() {
    const TestUtil::LazyCancellation lazy; // the channel finishes them when it looks
    Channel<Counted> ch(1);
    QCOMPARE(ch.tryPut(Counted(1)), PutResult::Ok);
    QFuture<void> p2 = ch.put(Counted(2));
    QFuture<void> p3 = ch.put(Counted(3));
    p2.cancel();
    QCOMPARE(ch.tryGet()->value(), 1);
    QVERIFY(p2.isFinished() && p2.isCanceled());
    QVERIFY(p3.isFinished() && !p3.isCanceled());
    QCOMPARE(ch.tryGet()->value(), 3);
    QVERIFY(!ch.tryGet());
    QCOMPARE(Counted::live(), 0); // the canceled put's item was destroyed, not kept
}

void tst_Channel::canceledWaitersAreSwept() {
    const TestUtil::LazyCancellation lazy; // the channel finishes them when it looks
    Channel<int> ch;
    QList<QFuture<int>> canceled;
    for (int i = 0; i < 10000; ++i) {
        QFuture<int> g = ch.get();
        g.cancel();
        canceled.append(g);
        // Canceled gets do not pile up while no item arrives.
        QVERIFY2(ch.pendingGets() <= 64, qPrintable(QString::number(ch.pendingGets())));
    }
    QVERIFY(canceled.first().isFinished());
    QFuture<int> live = ch.get();
    QCOMPARE(ch.tryPut(1), PutResult::Ok);
    QCOMPARE(live.result(), 1);
    for (const auto &g : std::as_const(canceled))
        QVERIFY(g.isFinished());
    QCOMPARE(ch.pendingGets(), 0);
}

// A canceled pending future finishes at once (its onCanceled handlers run, waitForFinished()
// returns), although nothing happens on the channel afterwards: before, it finished only when
// the channel next looked at its line, and never on an idle channel.
void tst_Channel::canceledFuturesFinishWithoutAnotherOperation() {
    if (!detail::CancelWatch::isAvailable())
        QSKIP("built without Qt's private headers (qt6-base-private-dev): lazy cancellation");
    Channel<Counted> ch(1);
    std::atomic<int> undelivered{0};
    ch.setUndeliveredHandler([&](Counted &&) { undelivered.fetch_add(1); });
    QCOMPARE(ch.tryPut(Counted(1)), PutResult::Ok);
    Channel<Counted> empty;
    QFuture<Counted> get = empty.get();
    QFuture<QList<Counted>> many = empty.getMany(4);
    QFuture<void> put = ch.put(Counted(2));
    QFuture<void> join = empty.join();
    std::atomic<int> handlers{0};
    auto getDone = get.onCanceled([&] {
        handlers.fetch_add(1);
        return Counted(-1);
    });
    auto putDone = put.onCanceled([&] { handlers.fetch_add(1); });
    get.cancel();
    many.cancel();
    put.cancel();
    join.cancel();
    // No channel operation from here on.
    QVERIFY(QTest::qWaitFor([&] {
        return get.isFinished() && many.isFinished() && put.isFinished() && join.isFinished() &&
               handlers.load() == 2;
    }));
    get.waitForFinished();
    put.waitForFinished();
    QCOMPARE(undelivered.load(), 1); // the withdrawn put's item went to the handler
    QCOMPARE(ch.pendingPuts(), 0);
    QCOMPARE(empty.pendingGets(), 0);
    QCOMPARE(ch.tryGet()->value(), 1); // and only that one: the buffered item is still there
}

// The same across threads: a thread waits for a get that another thread cancels.
void tst_Channel::cancelFromAnotherThreadEndsAWait() {
    if (!detail::CancelWatch::isAvailable())
        QSKIP("built without Qt's private headers (qt6-base-private-dev): lazy cancellation");
    Channel<int> ch;
    for (int round = 0; round < 200; ++round) {
        QFuture<int> get = ch.get();
        std::thread canceler([get]() mutable { get.cancel(); });
        get.waitForFinished(); // returns only because the channel finished the canceled future
        canceler.join();
        QVERIFY(get.isCanceled());
        QCOMPARE(get.resultCount(), 0);
    }
    QVERIFY(ch.pendingGets() <= 1); // swept, not piled up
    QCOMPARE(ch.tryPut(7), PutResult::Ok);
    QCOMPARE(ch.tryGet(), 7); // no canceled get swallowed it
}

void tst_Channel::canceledJoinIsDropped() {
    const TestUtil::LazyCancellation lazy; // the channel finishes them when it looks
    Channel<int> ch;
    for (int i = 0; i < 1000; ++i) {
        QFuture<void> j = ch.join();
        j.cancel();
    }
    QFuture<void> live = ch.join();
    ch.close();
    QVERIFY(live.isFinished());
    QVERIFY(!live.isCanceled());
}

// --- signals --------------------------------------------------------------------------------

void tst_Channel::itemAvailableIsCoalesced() {
    Channel<int> ch;
    QSignalSpy spy(&ch, &ChannelBase::itemAvailable);
    ch.tryPut(1);
    ch.tryPut(2);
    ch.tryPut(3);
    QCOMPARE(spy.count(), 1); // one notification until somebody finds the channel empty
    QCOMPARE(ch.tryGet(), 1);
    ch.tryPut(4);
    QCOMPARE(spy.count(), 1); // a successful take does not re-arm
    while (ch.tryGet()) {
    }
    ch.tryPut(5);
    QCOMPARE(spy.count(), 2); // the empty take did
    QCOMPARE(ch.get().result(), 5);
    QFuture<int> pending = ch.get(); // a get that has to wait re-arms too
    ch.tryPut(6);                    // but the item goes straight to it: nothing to announce
    QCOMPARE(spy.count(), 2);
    ch.tryPut(7);
    QCOMPARE(spy.count(), 3);
    QCOMPARE(pending.result(), 6);
}

void tst_Channel::itemAvailableDrainPatternSeesEveryItem() {
    Channel<int> ch;
    QList<int> seen;
    connect(&ch, &ChannelBase::itemAvailable, this, [&] {
        while (std::optional<int> v = ch.tryGet()) {
            seen.append(*v);
            if (*v % 3 == 0)
                ch.tryPut(*v + 1000); // put from inside the slot
        }
    });
    for (int i = 1; i <= 10; ++i)
        ch.tryPut(i);
    // 1003 is put while the slot is still draining, so the same drain takes it.
    QCOMPARE(seen, (QList<int>{1, 2, 3, 1003, 4, 5, 6, 1006, 7, 8, 9, 1009, 10}));
}

void tst_Channel::spaceAvailableIsCoalesced() {
    Channel<int> ch(2);
    QSignalSpy spy(&ch, &ChannelBase::spaceAvailable);
    ch.tryPut(1);
    ch.tryPut(2);
    QCOMPARE(ch.tryPut(3), PutResult::Full); // arms
    ch.tryGet();
    QCOMPARE(spy.count(), 1);
    ch.tryGet();
    QCOMPARE(spy.count(), 1);
    ch.tryPut(1);
    ch.tryPut(2);
    QFuture<void> waiting = ch.put(3); // a waiting put arms too...
    ch.tryGet();                       // ...but the room went to it: still full
    QCOMPARE(spy.count(), 1);
    QVERIFY(waiting.isFinished());
    ch.tryGet();
    QCOMPARE(spy.count(), 2);

    Channel<int> unbounded;
    QSignalSpy never(&unbounded, &ChannelBase::spaceAvailable);
    unbounded.tryPut(1);
    unbounded.tryGet();
    QCOMPARE(never.count(), 0); // there was always room
}

void tst_Channel::sizeChanged() {
    Channel<int> ch(2);
    QSignalSpy spy(&ch, &ChannelBase::sizeChanged);
    ch.tryPut(1);
    ch.tryPut(2);
    QFuture<void> p = ch.put(3);
    ch.tryGet(); // 2 -> 1 -> 2 within one call: no change to report
    ch.tryGet();
    ch.tryGet();
    QList<qsizetype> sizes;
    for (const auto &args : std::as_const(spy))
        sizes.append(args.at(0).value<qsizetype>());
    QCOMPARE(sizes, (QList<qsizetype>{1, 2, 1, 0}));
}

// --- blocking calls: deadlines --------------------------------------------------------------

void tst_Channel::getBlockingDeadline() {
    Channel<int> ch;
    QVERIFY(!ch.getBlocking(QDeadlineTimer(0)));
    QElapsedTimer timer;
    timer.start();
    QVERIFY(!ch.getBlocking(QDeadlineTimer(30)));
    QVERIFY(timer.elapsed() >= 29); // it did wait for the deadline
    QCOMPARE(ch.pendingGets(), 0);  // and withdrew
    ch.tryPut(4);
    QCOMPARE(ch.getBlocking(QDeadlineTimer(0)), 4);
}

void tst_Channel::putBlockingDeadlineLeavesItemUntouched() {
    Channel<MoveOnly> ch(1);
    QCOMPARE(ch.putBlocking(MoveOnly(1)), PutResult::Ok);
    MoveOnly item(2);
    QCOMPARE(ch.putBlocking(std::move(item), QDeadlineTimer(0)), PutResult::Full);
    QCOMPARE(item.value(), 2);
    QCOMPARE(ch.putBlocking(std::move(item), QDeadlineTimer(20)), PutResult::Full);
    QCOMPARE(item.value(), 2);
    QCOMPARE(ch.pendingPuts(), 0);
    QCOMPARE(ch.size(), 1);
}

void tst_Channel::putBlockingConstRef() {
    Channel<QString> ch(1);
    const QString a = QStringLiteral("a");
    QCOMPARE(ch.putBlocking(a), PutResult::Ok);
    QCOMPARE(ch.putBlocking(a, QDeadlineTimer(10)), PutResult::Full);
    QCOMPARE(*ch.tryGet(), a);
}

// --- forEach --------------------------------------------------------------------------------

void tst_Channel::forEachTakesEverythingInOrder() {
    Channel<int> ch(4);
    ch.tryPut(1);
    ch.tryPut(2);
    QObject context;
    QList<int> seen;
    QFuture<void> done = ch.forEach(&context, [&](int v) { seen.append(v); });
    QVERIFY(seen.isEmpty()); // called from the event loop, never inside forEach()
    QVERIFY(TestUtil::waitFor([&] { return seen.size() == 2; }));
    for (int i = 3; i <= 1000; ++i) {
        if (ch.tryPut(i) == PutResult::Full) {
            QVERIFY(TestUtil::waitFor([&] { return !ch.isFull(); }));
            QCOMPARE(ch.tryPut(i), PutResult::Ok);
        }
    }
    QVERIFY(!done.isFinished());
    ch.close();
    QVERIFY(TestUtil::waitFor([&] { return done.isFinished(); }));
    QVERIFY(!done.isCanceled());
    QCOMPARE(seen.size(), 1000);
    for (int i = 0; i < 1000; ++i)
        QCOMPARE(seen[i], i + 1);
}

void tst_Channel::forEachNullContextThrows() {
    Channel<int> ch;
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, ch.forEach(nullptr, [](int) {}));
}

void tst_Channel::forEachStopsWhenContextIsDestroyed() {
    Channel<int> ch;
    for (int i = 1; i <= 5; ++i)
        ch.tryPut(i);
    auto *context = new QObject;
    QList<int> seen;
    QFuture<void> done = ch.forEach(context, [&](int v) {
        seen.append(v);
        if (v == 2)
            delete context;
    });
    QVERIFY(TestUtil::waitFor([&] { return done.isFinished(); }));
    QVERIFY(done.isCanceled());
    QCOMPARE(seen, (QList<int>{1, 2}));
    QCOMPARE(ch.size(), 3); // what it had not passed on is still in the channel
    QCOMPARE(ch.tryGet(), 3);
    ch.tryPut(6);
    QCoreApplication::processEvents();
    QCOMPARE(seen.size(), 2);
}

void tst_Channel::forEachContextDestroyedBeforeItRan() {
    Channel<int> ch;
    ch.tryPut(1);
    auto *context = new QObject;
    bool called = false;
    QFuture<void> done = ch.forEach(context, [&](int) { called = true; });
    delete context;
    QVERIFY(done.isFinished());
    QVERIFY(done.isCanceled());
    QCoreApplication::processEvents();
    QVERIFY(!called);
    QCOMPARE(ch.tryGet(), 1);
}

void tst_Channel::forEachCallbackThrows() {
    Channel<int> ch;
    for (int i = 1; i <= 5; ++i)
        ch.tryPut(i);
    QObject context;
    QList<int> seen;
    QFuture<void> done = ch.forEach(&context, [&](int v) {
        seen.append(v);
        if (v == 2)
            throw std::runtime_error("boom");
    });
    QVERIFY(TestUtil::waitFor([&] { return done.isFinished(); }));
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, done.waitForFinished());
    QCOMPARE(seen, (QList<int>{1, 2}));
    QCOMPARE(ch.size(), 3); // no item it was not given is lost
}

void tst_Channel::forEachCanceled() {
    Channel<int> ch;
    QObject context;
    QList<int> seen;
    QFuture<void> done = ch.forEach(&context, [&](int v) { seen.append(v); });
    ch.tryPut(1);
    QVERIFY(TestUtil::waitFor([&] { return seen.size() == 1; }));
    done.cancel();
    ch.tryPut(2);
    QVERIFY(TestUtil::waitFor([&] { return done.isFinished(); }));
    QCOMPARE(seen, QList<int>{1});
    QCOMPARE(ch.tryGet(), 2);
}

void tst_Channel::forEachOnFinishedChannel() {
    Channel<int> ch;
    ch.close();
    QObject context;
    QFuture<void> done = ch.forEach(&context, [](int) {});
    QVERIFY(done.isFinished());
    QVERIFY(!done.isCanceled());
}

void tst_Channel::forEachSharesWithOtherConsumers() {
    Channel<int> ch;
    QObject context;
    QList<int> seen;
    QFuture<void> done = ch.forEach(&context, [&](int v) { seen.append(v); });
    QFuture<int> g = ch.get(); // a pending get is served first: it is waiting already
    ch.tryPut(1);
    ch.tryPut(2);
    ch.tryPut(3);
    QCOMPARE(g.result(), 1);
    QCOMPARE(ch.tryGet(), 2); // and a non-waiting take competes fairly
    ch.close();
    QVERIFY(TestUtil::waitFor([&] { return done.isFinished(); }));
    QCOMPARE(seen, QList<int>{3});
}

// --- continuations --------------------------------------------------------------------------

void tst_Channel::continuationsMayCallBack() {
    // Continuations run synchronously inside put()/get()/close() here; the channel must not
    // hold its lock while they run.
    Channel<int> ch(1);
    QList<int> log;
    std::function<void()> consume = [&] {
        ch.get()
            .then([&](int v) {
                log.append(v);
                if (v < 5) {
                    ch.put(v + 1);
                    consume();
                }
            })
            .onFailed([&](const ChannelClosed &) { log.append(-1); });
    };
    consume();
    ch.put(1);
    QCOMPARE(log, (QList<int>{1, 2, 3, 4, 5}));
    consume();
    ch.close();
    QCOMPARE(log.last(), -1);
}

void tst_Channel::readmeChainOnClose() {
    Channel<QString> ch;
    QObject context;
    QStringList log;
    ch.get()
        .then(&context, [&](const QString &s) { log.append(s); })
        .onFailed(&context, [&](const ChannelClosed &) { log.append(QStringLiteral("closed")); });
    ch.get()
        .then(&context, [&](const QString &s) { log.append(s); })
        .onFailed(&context, [&](const ChannelClosed &) { log.append(QStringLiteral("closed")); });
    ch.tryPut(QStringLiteral("hello"));
    ch.close();
    QCOMPARE(log, (QStringList{QStringLiteral("hello"), QStringLiteral("closed")}));
}

// --- lifetime -------------------------------------------------------------------------------

void tst_Channel::destroyFailsPendingFutures() {
    QFuture<int> g;
    QFuture<void> p;
    {
        Channel<int> getters;
        g = getters.get();
        Channel<Counted> putters(0);
        p = putters.put(Counted(1));
        QCOMPARE(Counted::live(), 1);
    }
    QVERIFY(failedWithClosed(g)); // an exception, never a bare cancel
    QVERIFY(failedWithClosed(p));
    QCOMPARE(Counted::live(), 0);
}

void tst_Channel::destroyCancelsJoinAndForEach() {
    QFuture<void> joined;
    QFuture<void> loop;
    QObject context;
    {
        Channel<int> ch;
        joined = ch.join();
        loop = ch.forEach(&context, [](int) {});
    }
    QVERIFY(joined.isFinished() && joined.isCanceled());
    QVERIFY(loop.isFinished() && loop.isCanceled());
    QCoreApplication::processEvents(); // the queued first run finds the channel gone
}

void tst_Channel::destroyDestroysBufferedItems() {
    {
        Channel<Counted> ch;
        for (int i = 0; i < 50; ++i)
            ch.tryPut(Counted(i));
        ch.tryGet();
        QCOMPARE(Counted::live(), 49);
    }
    QCOMPARE(Counted::live(), 0);
}

void tst_Channel::destroyEmitsNothing() {
    auto *ch = new Channel<int>;
    ch->tryPut(1);
    QFuture<int> g;
    int signalsSeen = 0;
    connect(ch, &ChannelBase::closed, this, [&] { ++signalsSeen; });
    connect(ch, &ChannelBase::finished, this, [&] { ++signalsSeen; });
    connect(ch, &ChannelBase::sizeChanged, this, [&] { ++signalsSeen; });
    QPointer<ChannelBase> guard(ch);
    delete ch;
    QVERIFY(!guard);
    QCOMPARE(signalsSeen, 0);
}

QTEST_GUILESS_MAIN(tst_Channel)
#include "tst_channel.moc"
