// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// What makes pipelines end well: close with a reason, clear(), the overflow policies and the
// undelivered handler, batches, and the Sender/Receiver handles that close their channel.
// Every row of those API sections, in every style it has.

#include "testutil.h"

#include <QtChannel/Channel>

#include <QtCore/QFutureWatcher>
#include <QtCore/QMetaProperty>
#include <QtCore/QThread>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <numeric>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <vector>

using namespace QtChannel;
using TestUtil::Counted;
using TestUtil::Item;
using TestUtil::MoveOnly;

// The contract, checked at compile time.
static_assert(
    std::is_same_v<decltype(std::declval<ChannelBase &>().close(std::exception_ptr())), bool>);
static_assert(std::is_same_v<decltype(std::declval<const ChannelBase &>().closeReason()),
                             std::exception_ptr>);
static_assert(std::is_same_v<decltype(std::declval<ChannelBase &>().clear()), qsizetype>);
static_assert(std::is_same_v<decltype(std::declval<Channel<int> &>().tryGetMany(1)), QList<int>>);
static_assert(
    std::is_same_v<decltype(std::declval<Channel<int> &>().getMany(1)), QFuture<QList<int>>>);
static_assert(
    std::is_same_v<decltype(std::declval<Channel<int> &>().getManyBlocking(1)), QList<int>>);
static_assert(std::is_same_v<
              decltype(std::declval<Channel<int> &>().tryPutMany(std::declval<QList<int> &>())),
              qsizetype>);
static_assert(std::is_same_v<decltype(std::declval<const ChannelBase &>().overflow()), Overflow>);
static_assert(std::is_same_v<decltype(std::declval<const ChannelBase &>().droppedCount()), qint64>);
static_assert(std::is_same_v<decltype(makeChannel<int>()), std::pair<Sender<int>, Receiver<int>>>);
static_assert(std::is_copy_constructible_v<Sender<int>> &&
              std::is_move_constructible_v<Sender<int>>);
static_assert(std::is_copy_constructible_v<Receiver<int>> &&
              std::is_move_constructible_v<Receiver<int>>);

namespace {

// The reason a pipeline stage closes its output with.
struct StageFailed : std::runtime_error {
    explicit StageFailed(const char *what)
        : std::runtime_error(what) {}
};

std::exception_ptr reason(const char *what = "stage failed") {
    return std::make_exception_ptr(StageFailed(what));
}

// What a future failed with: "ChannelClosed", the StageFailed message, or "" (not failed).
template <typename T> std::string failure(QFuture<T> f) {
    if (!f.isFinished())
        return "pending";
    try {
        f.waitForFinished();
    } catch (const ChannelClosed &) {
        return "ChannelClosed";
    } catch (const StageFailed &e) {
        return e.what();
    } catch (...) {
        return "other";
    }
    return "";
}

// Records what the undelivered handler got, in order, and in which thread.
struct Undelivered {
    template <typename T> void attach(Channel<T> &ch) {
        ch.setUndeliveredHandler([this](T &&item) {
            std::lock_guard lock(mutex);
            values.push_back(Item<T>::value(item));
            threads.push_back(QThread::currentThread());
        });
    }
    std::vector<int> got() {
        std::lock_guard lock(mutex);
        return values;
    }
    std::mutex mutex;
    std::vector<int> values;
    std::vector<QThread *> threads;
};

template <typename T> std::vector<int> contents(Channel<T> &ch) {
    std::vector<int> out;
    while (std::optional<T> item = ch.tryGet())
        out.push_back(Item<T>::value(*item));
    return out;
}

std::vector<int> values(const QList<int> &list) {
    return std::vector<int>(list.begin(), list.end());
}

} // namespace

class tst_Pipelines : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // close with a reason
    void closeWithReasonFailsPendingPutsWithIt();
    void closeWithReasonFailsGetsOnceDrained();
    void closeWithReasonFailsJoinAndForEach();
    void onlyTheClosingCallsReasonCounts();
    void nullReasonIsAPlainClose();
    void callsWithoutFuturesIgnoreTheReason();
    void reasonReachesHandlesAndBatches();

    // clear
    void clearRemovesEveryBufferedItem();
    void clearLetsWaitingPutsIn();
    void closeThenClearFinishes();

    // overflow policies
    void dropPoliciesNeedACapacity_data();
    void dropPoliciesNeedACapacity();
    void dropOldestEvictsTheOldest_data();
    void dropOldestEvictsTheOldest();
    void dropNewestDiscardsTheNewItem();
    void conflatedChannelKeepsTheLatest();
    void dropPoliciesNeverWait();
    void dropPoliciesNeverRefuseWhileAGetTakes_data();
    void dropPoliciesNeverRefuseWhileAGetTakes();
    void droppedChangedIsCoalesced();
    void dropPolicyIsFullAtCapacity();
    void waitingGetsTakeWhatAFullChannelWouldDrop();
    void overflowAndDroppedAreProperties();

    // the undelivered handler
    void handlerGetsPendingPutsOnClose();
    void handlerGetsWithdrawnPuts();
    void handlerGetsBufferedItemsAtDestruction();
    void handlerIsNotCalledForRefusedItems();
    void handlerRunsOutsideTheLock();
    void handlerThatThrowsIsReported();
    void everyItemTakenHandledOrBuffered();

    // batches
    void batchesRejectABadMax();
    void tryGetManyTakesWhatIsThereInOrder_data();
    void tryGetManyTakesWhatIsThereInOrder();
    void tryGetManyTakesFromPendingPuts();
    void aShortBatchArmsItemAvailable_data();
    void aShortBatchArmsItemAvailable();
    void getManyWaitsForOneThenTakesUpToMax();
    void getManyFailsAsGetDoes();
    void getManyCanceledWithdraws();
    void getManyBlocking();
    void tryPutManyAcceptsTheLongestPrefix();
    void tryPutManyHandsItemsToWaitingGets();
    void tryPutManyOnAClosedChannel();
    void tryPutManyWithADropPolicyAcceptsEverything();
    void batchesMixWithOtherStylesInOrder();

    // handles
    void lastSenderClosesTheChannel();
    void lastReceiverClosesTheChannel();
    void copiesCountMovesDoNot();
    void assigningOverTheLastSenderClosesItsChannel();
    void emptyHandlesThrow();
    void makeChannelRejectsBadArguments();
    void lastHandleGoneWhileAFutureIsPending();
    void lastSenderGoneWhileAThreadIsBlocked();
    void theLastHandleDestroysTheChannelInItsThread();
    void handlesInManyThreads();
};

// --- close with a reason ---------------------------------------------------------------------

void tst_Pipelines::closeWithReasonFailsPendingPutsWithIt() {
    Channel<int> ch(1);
    QCOMPARE(ch.tryPut(1), PutResult::Ok);
    QFuture<void> pending = ch.put(2);
    QVERIFY(ch.close(reason("parser failed")));
    QCOMPARE(failure(pending), std::string("parser failed"));
    QCOMPARE(failure(ch.put(3)), std::string("parser failed")); // later puts too
    QVERIFY(ch.closeReason());
}

void tst_Pipelines::closeWithReasonFailsGetsOnceDrained() {
    Channel<int> ch;
    ch.tryPut(1);
    QFuture<int> waiting; // none yet: the buffered item is reachable
    ch.close(reason());
    QFuture<int> first = ch.get();
    QCOMPARE(first.result(), 1); // buffered items can still be taken
    QCOMPARE(failure(ch.get()), std::string("stage failed"));

    Channel<int> empty;
    QFuture<int> g1 = empty.get();
    QFuture<int> g2 = empty.get();
    empty.close(reason("reader died"));
    QCOMPARE(failure(g1), std::string("reader died"));
    QCOMPARE(failure(g2), std::string("reader died"));
}

void tst_Pipelines::closeWithReasonFailsJoinAndForEach() {
    Channel<int> ch;
    ch.tryPut(1);
    QFuture<void> joined = ch.join();
    QObject context;
    std::vector<int> seen;
    QFuture<void> loop = ch.forEach(&context, [&](int v) { seen.push_back(v); });
    ch.close(reason());
    QVERIFY(!joined.isFinished()); // not drained yet
    QVERIFY(TestUtil::waitFor([&] { return loop.isFinished(); }));
    QCOMPARE(seen, std::vector<int>{1});
    QCOMPARE(failure(loop), std::string("stage failed"));
    QCOMPARE(failure(joined), std::string("stage failed"));
    QCOMPARE(failure(ch.join()), std::string("stage failed")); // a join after the end too
    QObject late;
    QCOMPARE(failure(ch.forEach(&late, [](int) {})), std::string("stage failed"));

    // After a plain close they finish normally.
    Channel<int> plain;
    QFuture<void> plainJoin = plain.join();
    plain.close();
    QCOMPARE(failure(plainJoin), std::string());
    QVERIFY(!plainJoin.isCanceled());
}

void tst_Pipelines::onlyTheClosingCallsReasonCounts() {
    Channel<int> ch;
    QFuture<int> g = ch.get();
    QVERIFY(ch.close(reason("first")));
    QVERIFY(!ch.close(reason("second")));
    QVERIFY(!ch.close());
    QCOMPARE(failure(g), std::string("first"));
    try {
        std::rethrow_exception(ch.closeReason());
    } catch (const StageFailed &e) {
        QCOMPARE(std::string(e.what()), std::string("first"));
    }

    Channel<int> plainFirst;
    QVERIFY(plainFirst.close());
    QVERIFY(!plainFirst.close(reason("too late")));
    QVERIFY(!plainFirst.closeReason());
    QCOMPARE(failure(plainFirst.get()), std::string("ChannelClosed"));
}

void tst_Pipelines::nullReasonIsAPlainClose() {
    Channel<int> ch;
    QVERIFY(!ch.closeReason()); // open
    QFuture<int> g = ch.get();
    QVERIFY(ch.close(std::exception_ptr()));
    QVERIFY(ch.isClosed());
    QVERIFY(!ch.closeReason());
    QCOMPARE(failure(g), std::string("ChannelClosed"));
    QCOMPARE(failure(ch.join()), std::string());
}

void tst_Pipelines::callsWithoutFuturesIgnoreTheReason() {
    Channel<int> ch(1);
    ch.tryPut(1);
    ch.close(reason());
    QCOMPARE(ch.tryPut(2), PutResult::Closed);
    QCOMPARE(ch.putBlocking(2), PutResult::Closed);
    QCOMPARE(ch.tryGet(), 1);
    QCOMPARE(ch.tryGet(), std::nullopt);
    QCOMPARE(ch.getBlocking(), std::nullopt);
    QVERIFY(ch.tryGetMany(4).isEmpty());
    QVERIFY(ch.getManyBlocking(4).isEmpty());
    QVERIFY(ch.isFinished());
}

void tst_Pipelines::reasonReachesHandlesAndBatches() {
    auto [tx, rx] = makeChannel<int>();
    QFuture<QList<int>> many = rx.getMany(8);
    QVERIFY(tx.close(reason("upstream")));
    QCOMPARE(failure(many), std::string("upstream"));
    QCOMPARE(failure(rx.get()), std::string("upstream"));
    QCOMPARE(failure(tx.put(1)), std::string("upstream"));
}

// --- clear -------------------------------------------------------------------------------------

void tst_Pipelines::clearRemovesEveryBufferedItem() {
    for (qsizetype capacity : {Unbounded, qsizetype(3), qsizetype(2000)}) {
        Undelivered undelivered;
        Channel<int> ch(capacity);
        undelivered.attach(ch);
        const int n = capacity == Unbounded ? 1500 : int(capacity);
        for (int i = 1; i <= n; ++i)
            QCOMPARE(ch.tryPut(i), PutResult::Ok);
        QSignalSpy sizes(&ch, &ChannelBase::sizeChanged);
        QCOMPARE(ch.clear(), qsizetype(n));
        QCOMPARE(ch.size(), 0);
        QVERIFY(ch.isEmpty());
        std::vector<int> expected(static_cast<size_t>(n));
        std::iota(expected.begin(), expected.end(), 1);
        QCOMPARE(undelivered.got(), expected); // oldest first
        QCOMPARE(sizes.count(), 1);
        QCOMPARE(ch.clear(), qsizetype(0));
        QCOMPARE(ch.tryPut(7), PutResult::Ok); // still open
        QCOMPARE(ch.tryGet(), 7);
    }
}

void tst_Pipelines::clearLetsWaitingPutsIn() {
    Undelivered undelivered;
    Channel<int> ch(2);
    undelivered.attach(ch);
    ch.tryPut(1);
    ch.tryPut(2);
    QFuture<void> p3 = ch.put(3);
    QFuture<void> p4 = ch.put(4);
    QFuture<void> p5 = ch.put(5);
    QSignalSpy space(&ch, &ChannelBase::spaceAvailable);
    QCOMPARE(ch.clear(), qsizetype(2));
    QCOMPARE(undelivered.got(), (std::vector<int>{1, 2}));
    QVERIFY(p3.isFinished() && !p3.isCanceled());
    QVERIFY(p4.isFinished() && !p4.isCanceled());
    QVERIFY(!p5.isFinished()); // the room was for two
    QCOMPARE(contents(ch), (std::vector<int>{3, 4, 5}));
    QVERIFY(p5.isFinished());
}

void tst_Pipelines::closeThenClearFinishes() {
    Channel<Counted> ch;
    ch.tryPut(Counted(1));
    ch.tryPut(Counted(2));
    QFuture<void> joined = ch.join();
    QSignalSpy finished(&ch, &ChannelBase::finished);
    ch.close();
    QVERIFY(!ch.isFinished());
    QCOMPARE(ch.clear(), qsizetype(2)); // stop now, drop the queued work
    QVERIFY(ch.isFinished());
    QCOMPARE(finished.count(), 1);
    QVERIFY(joined.isFinished());
    QCOMPARE(Counted::live(), 0);
}

// --- overflow policies -----------------------------------------------------------------------

void tst_Pipelines::dropPoliciesNeedACapacity_data() {
    QTest::addColumn<qsizetype>("capacity");
    QTest::addColumn<int>("policy");
    for (Overflow policy : {Overflow::DropOldest, Overflow::DropNewest}) {
        for (qsizetype capacity : {Unbounded, qsizetype(0), qsizetype(-2)})
            QTest::addRow("%s, capacity %lld",
                          policy == Overflow::DropOldest ? "DropOldest" : "DropNewest",
                          qlonglong(capacity))
                << capacity << int(policy);
    }
}

void tst_Pipelines::dropPoliciesNeedACapacity() {
    QFETCH(qsizetype, capacity);
    QFETCH(int, policy);
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, Channel<int>(capacity, Overflow(policy)));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, (makeChannel<int>(capacity, Overflow(policy))));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, Channel<int>(4, Overflow(7)));
    Channel<int> wait(capacity < Unbounded ? 1 : capacity, Overflow::Wait); // Wait: any capacity
    QCOMPARE(wait.overflow(), Overflow::Wait);
}

void tst_Pipelines::dropOldestEvictsTheOldest_data() {
    QTest::addColumn<qsizetype>("capacity");
    QTest::newRow("ring") << qsizetype(3);
    QTest::newRow("ring and behind") << qsizetype(1030);
}

void tst_Pipelines::dropOldestEvictsTheOldest() {
    QFETCH(qsizetype, capacity);
    const int n = int(capacity) + 5;
    auto run = [&](auto item) {
        using T = decltype(item);
        Undelivered undelivered;
        Channel<T> ch(capacity, Overflow::DropOldest);
        undelivered.attach(ch);
        for (int i = 1; i <= n; ++i)
            QCOMPARE(ch.tryPut(Item<T>::make(i)), PutResult::Ok);
        QCOMPARE(ch.size(), capacity);
        QCOMPARE(ch.droppedCount(), qint64(5));
        QCOMPARE(undelivered.got(), (std::vector<int>{1, 2, 3, 4, 5}));
        std::vector<int> expected(static_cast<size_t>(capacity));
        std::iota(expected.begin(), expected.end(), 6);
        QCOMPARE(contents(ch), expected);
    };
    run(0);
    run(QString());
    run(MoveOnly());
    run(TestUtil::MayThrowMove()); // no ring
}

void tst_Pipelines::dropNewestDiscardsTheNewItem() {
    Undelivered undelivered;
    Channel<QString> ch(3, Overflow::DropNewest);
    undelivered.attach(ch);
    for (int i = 1; i <= 5; ++i)
        QCOMPARE(ch.tryPut(QString::number(i)), PutResult::Ok);
    QFuture<void> put = ch.put(QStringLiteral("6"));
    QVERIFY(put.isFinished() && !put.isCanceled()); // completes, and its item is discarded
    QCOMPARE(ch.putBlocking(QStringLiteral("7")), PutResult::Ok);
    QCOMPARE(ch.droppedCount(), qint64(4));
    QCOMPARE(undelivered.got(), (std::vector<int>{4, 5, 6, 7}));
    QCOMPARE(contents(ch), (std::vector<int>{1, 2, 3}));
}

void tst_Pipelines::conflatedChannelKeepsTheLatest() {
    Channel<int> latest(1, Overflow::DropOldest);
    for (int i = 1; i <= 1000; ++i)
        QCOMPARE(latest.tryPut(i), PutResult::Ok);
    QCOMPARE(latest.size(), 1);
    QCOMPARE(latest.tryGet(), 1000);
    QCOMPARE(latest.droppedCount(), qint64(999));
    latest.tryPut(1001);
    latest.close();
    QCOMPARE(latest.tryGet(), 1001);
    QVERIFY(latest.isFinished());
}

// Regression: a put on a full DropOldest channel returned Full when a fast get in another
// thread had just claimed the oldest item (nothing left to evict, its slot not yet free), so
// the caller kept an item that the policy promised to accept.
void tst_Pipelines::dropPoliciesNeverRefuseWhileAGetTakes_data() {
    QTest::addColumn<int>("capacity");
    QTest::addColumn<Overflow>("overflow");
    QTest::newRow("conflated") << 1 << Overflow::DropOldest;
    QTest::newRow("DropOldest 4") << 4 << Overflow::DropOldest;
    QTest::newRow("DropNewest 1") << 1 << Overflow::DropNewest;
    QTest::newRow("DropNewest 4") << 4 << Overflow::DropNewest;
}

void tst_Pipelines::dropPoliciesNeverRefuseWhileAGetTakes() {
    QFETCH(int, capacity);
    QFETCH(Overflow, overflow);
    constexpr int N = 500000;
    Channel<int> ch(capacity, overflow);
    std::vector<int> seen(N, 0); // each item: taken or dropped, exactly once
    std::mutex mutex;
    ch.setUndeliveredHandler([&](int &&v) {
        std::lock_guard lock(mutex);
        ++seen[size_t(v)];
    });
    std::atomic<int> refused{0};
    std::thread producer([&] {
        for (int i = 0; i < N; ++i) {
            if (ch.tryPut(i) != PutResult::Ok)
                refused.fetch_add(1);
        }
        ch.close();
    });
    for (;;) {
        if (std::optional<int> v = ch.tryGet()) {
            std::lock_guard lock(mutex);
            ++seen[size_t(*v)];
        } else if (ch.isFinished()) {
            break;
        }
    }
    producer.join();
    QCOMPARE(refused.load(), 0);
    QCOMPARE(qsizetype(std::count(seen.begin(), seen.end(), 1)), qsizetype(N));
}

void tst_Pipelines::dropPoliciesNeverWait() {
    for (Overflow policy : {Overflow::DropOldest, Overflow::DropNewest}) {
        Channel<int> ch(2, policy);
        for (int i = 0; i < 10; ++i) {
            QCOMPARE(ch.tryPut(i), PutResult::Ok);
            QCOMPARE(ch.putBlocking(i, QDeadlineTimer(0)), PutResult::Ok);
            QVERIFY(ch.put(i).isFinished());
            QList<int> batch{i, i, i};
            QCOMPARE(ch.tryPutMany(batch), qsizetype(3));
            QVERIFY(batch.isEmpty());
        }
        QCOMPARE(ch.pendingPuts(), 0);
        QCOMPARE(ch.size(), 2);
        QCOMPARE(ch.droppedCount(), qint64(60 - 2));
        ch.close();
        QCOMPARE(ch.tryPut(1), PutResult::Closed); // closed wins over any policy
        QCOMPARE(ch.droppedCount(), qint64(58));   // a refused put is not a drop
    }
}

void tst_Pipelines::droppedChangedIsCoalesced() {
    Channel<int> ch(1, Overflow::DropOldest);
    QSignalSpy dropped(&ch, &ChannelBase::droppedChanged);
    ch.tryPut(1);
    QCOMPARE(dropped.count(), 0);
    ch.tryPut(2);
    QCOMPARE(dropped.count(), 1);
    QCOMPARE(dropped.at(0).at(0).value<qint64>(), qint64(1));
    ch.tryPut(3);
    ch.tryPut(4);
    QCOMPARE(dropped.count(), 1); // coalesced until the count is read
    QCOMPARE(ch.droppedCount(), qint64(3));
    ch.tryPut(5);
    QCOMPARE(dropped.count(), 2); // re-armed by the read
    QCOMPARE(dropped.at(1).at(0).value<qint64>(), qint64(4));
}

void tst_Pipelines::dropPolicyIsFullAtCapacity() {
    Channel<int> ch(2, Overflow::DropNewest);
    QVERIFY(!ch.isFull());
    ch.tryPut(1);
    ch.tryPut(2);
    QVERIFY(ch.isFull()); // size == capacity, although a put would not wait
    ch.tryGet();
    QVERIFY(!ch.isFull());
}

void tst_Pipelines::waitingGetsTakeWhatAFullChannelWouldDrop() {
    Channel<int> ch(1, Overflow::DropNewest);
    QFuture<int> g = ch.get();
    QCOMPARE(ch.tryPut(1), PutResult::Ok); // straight to the get: nothing dropped
    QCOMPARE(g.result(), 1);
    QCOMPARE(ch.droppedCount(), qint64(0));
}

void tst_Pipelines::overflowAndDroppedAreProperties() {
    Channel<int> ch(1, Overflow::DropOldest);
    const QMetaObject *mo = ch.metaObject();
    const QMetaProperty dropped = mo->property(mo->indexOfProperty("dropped"));
    QVERIFY(dropped.isValid());
    QVERIFY(dropped.hasNotifySignal());
    QCOMPARE(dropped.notifySignal().name(), QByteArray("droppedChanged"));
    ch.tryPut(1);
    ch.tryPut(2);
    QCOMPARE(dropped.read(&ch).value<qint64>(), qint64(1));
    QCOMPARE(ch.overflow(), Overflow::DropOldest);
}

// --- the undelivered handler ---------------------------------------------------------------

void tst_Pipelines::handlerGetsPendingPutsOnClose() {
    Undelivered undelivered;
    Channel<MoveOnly> ch(1);
    undelivered.attach(ch);
    ch.tryPut(MoveOnly(1));
    QFuture<void> p2 = ch.put(MoveOnly(2));
    QFuture<void> p3 = ch.put(MoveOnly(3));
    ch.close();
    QCOMPARE(undelivered.got(), (std::vector<int>{2, 3}));         // in line order
    QCOMPARE(undelivered.threads.at(0), QThread::currentThread()); // the thread that closed
    QCOMPARE(failure(p2), std::string("ChannelClosed"));
    QCOMPARE(ch.tryGet()->value(), 1); // buffered: not undelivered
}

void tst_Pipelines::handlerGetsWithdrawnPuts() {
    const TestUtil::LazyCancellation lazy; // the channel finishes them when it looks
    Undelivered undelivered;
    Channel<int> ch(1);
    undelivered.attach(ch);
    ch.tryPut(1);
    QFuture<void> p2 = ch.put(2);
    QFuture<void> p3 = ch.put(3);
    p2.cancel();
    QCOMPARE(ch.tryGet(), 1); // the channel notices the canceled put as it refills
    QCOMPARE(undelivered.got(), std::vector<int>{2});
    QCOMPARE(ch.tryGet(), 3);
    QVERIFY(p2.isFinished() && p2.isCanceled());
}

void tst_Pipelines::handlerGetsBufferedItemsAtDestruction() {
    Undelivered undelivered;
    QFuture<void> p4, p5;
    {
        Channel<int> ch(3);
        undelivered.attach(ch);
        for (int i = 1; i <= 3; ++i)
            ch.tryPut(i);
        p4 = ch.put(4);
        p5 = ch.put(5);
    }
    // Buffered items oldest first, then the pending puts' items in line order.
    QCOMPARE(undelivered.got(), (std::vector<int>{1, 2, 3, 4, 5}));
    QCOMPARE(failure(p4), std::string("ChannelClosed"));
    QCOMPARE(failure(p5), std::string("ChannelClosed"));
}

void tst_Pipelines::handlerIsNotCalledForRefusedItems() {
    Undelivered undelivered;
    Channel<int> ch(1);
    undelivered.attach(ch);
    ch.tryPut(1);
    int item = 2;
    QCOMPARE(ch.tryPut(std::move(item)), PutResult::Full); // left to the caller
    QCOMPARE(ch.putBlocking(2, QDeadlineTimer(1)), PutResult::Full);
    ch.close();
    QCOMPARE(ch.tryPut(3), PutResult::Closed);
    QCOMPARE(failure(ch.put(4)), std::string("ChannelClosed")); // destroyed, not handled
    QList<int> batch{5, 6};
    QCOMPARE(ch.tryPutMany(batch), qsizetype(0));
    QCOMPARE(batch.size(), 2);
    QVERIFY(undelivered.got().empty());
}

void tst_Pipelines::handlerRunsOutsideTheLock() {
    Channel<int> ch(1, Overflow::DropOldest);
    std::vector<qsizetype> sizes;
    ch.setUndeliveredHandler([&](int &&) {
        // Calls back into the channel: this would deadlock under the channel's lock.
        sizes.push_back(ch.size());
        ch.pendingPuts();
        ch.isFull();
    });
    ch.tryPut(1);
    ch.tryPut(2);
    ch.tryPut(3);
    QCOMPARE(sizes.size(), size_t(2));
    ch.setUndeliveredHandler({}); // removed: items are just destroyed
    ch.tryPut(4);
    QCOMPARE(sizes.size(), size_t(2));
}

void tst_Pipelines::handlerThatThrowsIsReported() {
    Channel<Counted> ch(1, Overflow::DropNewest);
    ch.setUndeliveredHandler([](Counted &&) { throw std::runtime_error("handler"); });
    ch.tryPut(Counted(1));
    QTest::ignoreMessage(QtWarningMsg,
                         "QtChannel: the undelivered handler threw; the exception was ignored");
    QCOMPARE(ch.tryPut(Counted(2)), PutResult::Ok);
    QCOMPARE(ch.droppedCount(), qint64(1));
    QCOMPARE(Counted::live(), 1); // the dropped item was destroyed anyway
    QTest::ignoreMessage(QtWarningMsg,
                         "QtChannel: the undelivered handler threw; the exception was ignored");
    ch.clear();
    QCOMPARE(Counted::live(), 0);
}

// Every item handed to the channel is taken exactly once, or handed to the undelivered handler
// exactly once, or still in the channel: with producers and consumers in threads, drops,
// clears, canceled puts and a close.
void tst_Pipelines::everyItemTakenHandledOrBuffered() {
    for (Overflow policy : {Overflow::Wait, Overflow::DropOldest, Overflow::DropNewest}) {
        constexpr int Producers = 3, PerProducer = 20000;
        std::mutex mutex;
        std::vector<int> taken, handled; // what the handler captures outlives the channel
        Channel<int> ch(64, policy);
        ch.setUndeliveredHandler([&](int &&v) {
            std::lock_guard lock(mutex);
            handled.push_back(v);
        });
        std::vector<std::thread> threads;
        std::atomic<int> producing{Producers};
        std::vector<int> refused;
        for (int p = 0; p < Producers; ++p) {
            threads.emplace_back([&, p] {
                for (int i = 0; i < PerProducer; ++i) {
                    const int v = p * PerProducer + i;
                    bool accepted = true;
                    switch (i % 4) {
                    case 0:
                        accepted = ch.tryPut(v) == PutResult::Ok;
                        break;
                    case 1:
                        accepted = ch.putBlocking(v, QDeadlineTimer(2)) == PutResult::Ok;
                        break;
                    case 2: {
                        QFuture<void> f = ch.put(v);
                        if (i % 8 == 2)
                            f.cancel(); // withdrawn, or accepted just before
                        break;
                    }
                    default: {
                        QList<int> batch{v};
                        accepted = ch.tryPutMany(batch) == 1;
                    }
                    }
                    if (!accepted) {
                        std::lock_guard lock(mutex);
                        refused.push_back(v);
                    }
                    if (i == PerProducer / 2 && p == 0)
                        ch.clear();
                }
                if (producing.fetch_sub(1) == 1)
                    ch.close();
            });
        }
        std::vector<int> mine;
        for (int c = 0; c < 2; ++c) {
            threads.emplace_back([&, c] {
                std::vector<int> local;
                while (true) {
                    if (c == 0) {
                        const QList<int> batch = ch.getManyBlocking(16);
                        if (batch.isEmpty())
                            break;
                        local.insert(local.end(), batch.begin(), batch.end());
                    } else if (std::optional<int> v = ch.getBlocking()) {
                        local.push_back(*v);
                    } else {
                        break;
                    }
                }
                std::lock_guard lock(mutex);
                taken.insert(taken.end(), local.begin(), local.end());
            });
        }
        for (auto &t : threads)
            t.join();
        QVERIFY(ch.isFinished());
        std::vector<int> all = taken;
        all.insert(all.end(), handled.begin(), handled.end());
        all.insert(all.end(), refused.begin(), refused.end());
        std::sort(all.begin(), all.end());
        // Each value at most once across taken, handled and refused...
        QVERIFY(std::adjacent_find(all.begin(), all.end()) == all.end());
        // ...and every value that was not a canceled put() is there.
        std::vector<int> missing;
        std::vector<bool> seen(size_t(Producers * PerProducer));
        for (int v : all)
            seen[size_t(v)] = true;
        for (int v = 0; v < Producers * PerProducer; ++v) {
            if (!seen[size_t(v)] && (v % PerProducer) % 8 != 2)
                missing.push_back(v);
        }
        QVERIFY2(missing.empty(), qPrintable(QStringLiteral("%1 items lost, e.g. %2")
                                                 .arg(missing.size())
                                                 .arg(missing.empty() ? -1 : missing.front())));
        if (policy != Overflow::Wait)
            QVERIFY(ch.droppedCount() > 0);
    }
}

// --- batches ---------------------------------------------------------------------------------

void tst_Pipelines::batchesRejectABadMax() {
    Channel<int> ch;
    for (qsizetype max : {qsizetype(0), qsizetype(-1)}) {
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, ch.tryGetMany(max));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, ch.getMany(max));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, ch.getManyBlocking(max));
    }
    ch.tryPut(1);
    QCOMPARE(ch.size(), 1); // nothing was taken by the refused calls
}

void tst_Pipelines::tryGetManyTakesWhatIsThereInOrder_data() {
    QTest::addColumn<qsizetype>("capacity");
    QTest::addColumn<int>("items");
    QTest::newRow("unbounded, in the ring") << Unbounded << 100;
    QTest::newRow("unbounded, ring and behind") << Unbounded << 3000;
    QTest::newRow("bounded 8") << qsizetype(8) << 8;
    QTest::newRow("bounded 2000") << qsizetype(2000) << 2000;
}

void tst_Pipelines::tryGetManyTakesWhatIsThereInOrder() {
    QFETCH(qsizetype, capacity);
    QFETCH(int, items);
    auto run = [&](auto item) {
        using T = decltype(item);
        Channel<T> ch(capacity);
        for (int i = 0; i < items; ++i)
            QCOMPARE(ch.tryPut(Item<T>::make(i)), PutResult::Ok);
        QVERIFY(ch.tryGetMany(1).size() == 1);
        int next = 1;
        while (next < items) {
            const QList<T> batch = ch.tryGetMany(64);
            QVERIFY(!batch.isEmpty());
            QVERIFY(batch.size() <= 64);
            for (const T &v : batch)
                QCOMPARE(Item<T>::value(v), next++);
        }
        QVERIFY(ch.tryGetMany(64).isEmpty());
        QCOMPARE(ch.size(), 0);
    };
    run(0);
    run(QString());
    run(TestUtil::MayThrowMove());
}

void tst_Pipelines::tryGetManyTakesFromPendingPuts() {
    // Pending puts whose items get room as the batch drains are "available now".
    Channel<int> ch(2);
    ch.tryPut(1);
    ch.tryPut(2);
    QFuture<void> p3 = ch.put(3);
    QFuture<void> p4 = ch.put(4);
    QCOMPARE(values(ch.tryGetMany(10)), (std::vector<int>{1, 2, 3, 4}));
    QVERIFY(p3.isFinished() && p4.isFinished());

    // Rendezvous: from the waiting puts.
    Channel<int> rendezvous(0);
    QFuture<void> r1 = rendezvous.put(1);
    QFuture<void> r2 = rendezvous.put(2);
    QFuture<void> r3 = rendezvous.put(3);
    QCOMPARE(values(rendezvous.tryGetMany(2)), (std::vector<int>{1, 2}));
    QVERIFY(r1.isFinished() && r2.isFinished() && !r3.isFinished());
}

void tst_Pipelines::aShortBatchArmsItemAvailable_data() {
    QTest::addColumn<qsizetype>("capacity");
    QTest::addColumn<int>("items");
    QTest::newRow("bounded 8, in the ring") << qsizetype(8) << 3;
    QTest::newRow("unbounded, ring and behind") << Unbounded << 1500;
    QTest::newRow("bounded 2, pending puts") << qsizetype(2) << 5;
    QTest::newRow("rendezvous, waiting puts") << qsizetype(0) << 3;
}

void tst_Pipelines::aShortBatchArmsItemAvailable() {
    // A drain that stops at the first batch shorter than it asked for must hear of the next
    // item: the short batch armed itemAvailable().
    QFETCH(qsizetype, capacity);
    QFETCH(int, items);
    Channel<int> ch(capacity);
    QList<QFuture<void>> pending;
    for (int i = 0; i < items; ++i) {
        if (ch.tryPut(i) != PutResult::Ok)
            pending.append(ch.put(i)); // beyond the capacity (or rendezvous): a waiting put
    }
    QSignalSpy available(&ch, &ChannelBase::itemAvailable);
    const QList<int> batch = ch.tryGetMany(items + 1);
    QCOMPARE(batch.size(), items);
    for (int i = 0; i < items; ++i)
        QCOMPARE(batch.at(i), i);
    QCOMPARE(available.count(), 0);
    if (capacity == 0)
        pending.append(ch.put(items));
    else
        QCOMPARE(ch.tryPut(items), PutResult::Ok);
    QCOMPARE(available.count(), 1);
    QCOMPARE(ch.tryGetMany(items + 1), QList<int>{items});
    for (const QFuture<void> &f : pending)
        QVERIFY(f.isFinished());
}

void tst_Pipelines::getManyWaitsForOneThenTakesUpToMax() {
    Channel<int> ch;
    ch.tryPut(1);
    ch.tryPut(2);
    QFuture<QList<int>> ready = ch.getMany(5);
    QVERIFY(ready.isFinished());
    QCOMPARE(values(ready.result()), (std::vector<int>{1, 2}));

    QFuture<QList<int>> waiting = ch.getMany(5);
    QVERIFY(!waiting.isFinished());
    QCOMPARE(ch.pendingGets(), 1);
    ch.tryPut(3);
    QVERIFY(waiting.isFinished());
    QCOMPARE(values(waiting.result()), std::vector<int>{3});

    // Behind another waiting get: first come, first served.
    QFuture<int> first = ch.get();
    QFuture<QList<int>> second = ch.getMany(3);
    QList<int> four{4, 5, 6, 7};
    QCOMPARE(ch.tryPutMany(four), qsizetype(4));
    QCOMPARE(first.result(), 4);
    QCOMPARE(values(second.result()), std::vector<int>{5});
    QCOMPARE(values(ch.tryGetMany(9)), (std::vector<int>{6, 7}));
}

void tst_Pipelines::getManyFailsAsGetDoes() {
    Channel<int> ch;
    QFuture<QList<int>> waiting = ch.getMany(3);
    ch.close();
    QCOMPARE(failure(waiting), std::string("ChannelClosed"));
    QCOMPARE(failure(ch.getMany(3)), std::string("ChannelClosed")); // at once when finished
}

void tst_Pipelines::getManyCanceledWithdraws() {
    const TestUtil::LazyCancellation lazy; // the channel finishes them when it looks
    Channel<int> ch;
    QFuture<QList<int>> canceled = ch.getMany(3);
    QFuture<QList<int>> next = ch.getMany(3);
    canceled.cancel();
    ch.tryPut(1);
    QVERIFY(next.isFinished());
    QCOMPARE(values(next.result()), std::vector<int>{1}); // the canceled one took nothing
    QVERIFY(canceled.isFinished());
    QCOMPARE(canceled.resultCount(), 0);
}

void tst_Pipelines::getManyBlocking() {
    Channel<int> ch;
    QVERIFY(ch.getManyBlocking(4, QDeadlineTimer(5)).isEmpty()); // the deadline passed
    std::thread producer([&] {
        QList<int> items{1, 2, 3};
        ch.tryPutMany(items);
        ch.close();
    });
    QList<int> got;
    while (true) {
        const QList<int> batch = ch.getManyBlocking(2);
        if (batch.isEmpty())
            break;
        QVERIFY(batch.size() <= 2);
        got += batch;
    }
    producer.join();
    QCOMPARE(values(got), (std::vector<int>{1, 2, 3}));
    QVERIFY(ch.isFinished());
}

void tst_Pipelines::tryPutManyAcceptsTheLongestPrefix() {
    Channel<Counted> ch(3);
    QList<Counted> items;
    for (int i = 1; i <= 5; ++i)
        items.append(Counted(i));
    QCOMPARE(ch.tryPutMany(items), qsizetype(3));
    QCOMPARE(items.size(), 2);
    QCOMPARE(items.at(0).value(), 4); // the rest, untouched
    QCOMPARE(items.at(1).value(), 5);
    QCOMPARE(ch.tryPutMany(items), qsizetype(0));
    QCOMPARE(items.size(), 2);
    QCOMPARE(ch.tryGet()->value(), 1);
    QCOMPARE(ch.tryPutMany(items), qsizetype(1));
    QCOMPARE(items.at(0).value(), 5);

    Channel<int> big(2000); // ring and behind
    QList<int> many;
    for (int i = 0; i < 2500; ++i)
        many.append(i);
    QCOMPARE(big.tryPutMany(many), qsizetype(2000));
    QCOMPARE(many.size(), 500);
    QCOMPARE(many.first(), 2000);
    int next = 0;
    while (std::optional<int> v = big.tryGet())
        QCOMPARE(*v, next++);
    QCOMPARE(next, 2000);
}

void tst_Pipelines::tryPutManyHandsItemsToWaitingGets() {
    Channel<int> ch(0);
    QFuture<int> g1 = ch.get();
    QFuture<int> g2 = ch.get();
    QList<int> items{1, 2, 3};
    QCOMPARE(ch.tryPutMany(items), qsizetype(2)); // rendezvous: as many as gets wait
    QCOMPARE(g1.result(), 1);
    QCOMPARE(g2.result(), 2);
    QCOMPARE(items, QList<int>{3});
}

void tst_Pipelines::tryPutManyOnAClosedChannel() {
    Channel<int> ch;
    ch.close();
    QList<int> items{1, 2};
    QCOMPARE(ch.tryPutMany(items), qsizetype(0));
    QCOMPARE(items, (QList<int>{1, 2}));
    QList<int> none;
    QCOMPARE(ch.tryPutMany(none), qsizetype(0));
}

void tst_Pipelines::tryPutManyWithADropPolicyAcceptsEverything() {
    Channel<int> oldest(2, Overflow::DropOldest);
    QList<int> items{1, 2, 3, 4, 5};
    QCOMPARE(oldest.tryPutMany(items), qsizetype(5));
    QVERIFY(items.isEmpty());
    QCOMPARE(contents(oldest), (std::vector<int>{4, 5}));
    Channel<int> newest(2, Overflow::DropNewest);
    items = {1, 2, 3, 4, 5};
    QCOMPARE(newest.tryPutMany(items), qsizetype(5));
    QCOMPARE(contents(newest), (std::vector<int>{1, 2}));
    QCOMPARE(newest.droppedCount(), qint64(3));
}

void tst_Pipelines::batchesMixWithOtherStylesInOrder() {
    Channel<int> ch(4);
    QList<int> a{1, 2};
    ch.tryPutMany(a);
    ch.tryPut(3);
    QList<int> b{4, 5, 6};
    QCOMPARE(ch.tryPutMany(b), qsizetype(1));
    QFuture<void> p5 = ch.put(5);
    QCOMPARE(ch.tryGet(), 1);
    QCOMPARE(values(ch.tryGetMany(2)), (std::vector<int>{2, 3}));
    QCOMPARE(ch.getBlocking(), 4);
    QCOMPARE(values(ch.getMany(8).result()), std::vector<int>{5});
    QVERIFY(p5.isFinished());
}

// --- handles ---------------------------------------------------------------------------------

void tst_Pipelines::lastSenderClosesTheChannel() {
    auto [tx, rx] = makeChannel<int>(4);
    QFuture<void> joined = rx.channel()->join();
    Sender<int> second = tx;
    tx.tryPut(1);
    tx.reset();
    QVERIFY(!rx.channel()->isClosed()); // one Sender left
    second.tryPut(2);
    second = Sender<int>(); // the last one goes
    QVERIFY(rx.channel()->isClosed());
    QCOMPARE(rx.getBlocking(), 1);
    QCOMPARE(rx.getBlocking(), 2);
    QCOMPARE(rx.getBlocking(), std::nullopt); // finished: no consumer hangs
    QVERIFY(joined.isFinished());
}

void tst_Pipelines::lastReceiverClosesTheChannel() {
    auto [tx, rx] = makeChannel<int>(1);
    tx.tryPut(1);
    QFuture<void> pending = tx.put(2);
    {
        Receiver<int> gone = std::move(rx);
        QVERIFY(!rx.isValid());
    }
    QVERIFY(tx.channel()->isClosed());
    QCOMPARE(failure(pending), std::string("ChannelClosed")); // puts fail instead of piling up
    QCOMPARE(tx.tryPut(3), PutResult::Closed);
}

void tst_Pipelines::copiesCountMovesDoNot() {
    auto [tx, rx] = makeChannel<int>();
    std::vector<Sender<int>> senders(3, tx);
    Sender<int> moved = std::move(tx);
    QVERIFY(!tx.isValid());
    moved.reset();
    senders.pop_back();
    senders.pop_back();
    QVERIFY(!rx.channel()->isClosed());
    senders.clear();
    QVERIFY(rx.channel()->isClosed());
    Receiver<int> copy = rx;
    rx.reset();
    QVERIFY(copy.isValid());
    QVERIFY(copy.channel()->isFinished());
}

void tst_Pipelines::assigningOverTheLastSenderClosesItsChannel() {
    auto [tx1, rx1] = makeChannel<int>();
    auto [tx2, rx2] = makeChannel<int>();
    tx1 = tx2; // tx1 was the last Sender of channel 1
    QVERIFY(rx1.channel()->isClosed());
    QVERIFY(!rx2.channel()->isClosed());
    tx2.reset();
    QVERIFY(!rx2.channel()->isClosed()); // tx1 holds it now
    tx1 = std::move(tx1);                // self-move: harmless
    tx1.reset();
    QVERIFY(rx2.channel()->isClosed());
}

void tst_Pipelines::emptyHandlesThrow() {
    Sender<int> tx;
    Receiver<int> rx;
    QVERIFY(!tx.isValid() && !rx.isValid());
    QVERIFY_THROWS_EXCEPTION(std::logic_error, tx.tryPut(1));
    QVERIFY_THROWS_EXCEPTION(std::logic_error, tx.put(1));
    QVERIFY_THROWS_EXCEPTION(std::logic_error, tx.channel());
    QVERIFY_THROWS_EXCEPTION(std::logic_error, tx.close());
    QVERIFY_THROWS_EXCEPTION(std::logic_error, rx.tryGet());
    QVERIFY_THROWS_EXCEPTION(std::logic_error, rx.get());
    QVERIFY_THROWS_EXCEPTION(std::logic_error, rx.getBlocking(QDeadlineTimer(0)));
    QVERIFY_THROWS_EXCEPTION(std::logic_error, rx.channel());
    tx.reset(); // harmless on an empty handle
    rx.reset();
}

void tst_Pipelines::makeChannelRejectsBadArguments() {
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, makeChannel<int>(-2));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, makeChannel<int>(0, Overflow::DropOldest));
    auto [tx, rx] = makeChannel<int>(1, Overflow::DropNewest);
    QCOMPARE(rx.channel()->overflow(), Overflow::DropNewest);
    QCOMPARE(rx.channel()->capacity(), 1);
}

void tst_Pipelines::lastHandleGoneWhileAFutureIsPending() {
    QFuture<int> get;
    QFuture<void> put;
    {
        auto [tx, rx] = makeChannel<int>(0);
        get = rx.get();
        auto [tx2, rx2] = makeChannel<int>(0);
        put = tx2.put(1);
    } // both channels destroyed with their last handles
    QCOMPARE(failure(get), std::string("ChannelClosed"));
    QCOMPARE(failure(put), std::string("ChannelClosed"));
}

void tst_Pipelines::lastSenderGoneWhileAThreadIsBlocked() {
    auto [tx, rx] = makeChannel<int>();
    std::optional<int> got = 0;
    std::thread consumer([&, rx = rx] { got = rx.getBlocking(); });
    QVERIFY(TestUtil::waitFor([&] { return rx.channel()->pendingGets() == 1; }));
    tx.reset(); // closes: the blocked thread returns
    consumer.join();
    QCOMPARE(got, std::nullopt);

    auto [tx2, rx2] = makeChannel<int>(0);
    PutResult result = PutResult::Ok;
    std::thread producer([&, tx2 = tx2] { result = tx2.putBlocking(1); });
    QVERIFY(TestUtil::waitFor([&] { return tx2.channel()->pendingPuts() == 1; }));
    rx2.reset();
    producer.join();
    QCOMPARE(result, PutResult::Closed);
}

void tst_Pipelines::theLastHandleDestroysTheChannelInItsThread() {
    auto [tx, rx] = makeChannel<int>();
    std::thread::id destroyedIn;
    QObject::connect(rx.channel(), &QObject::destroyed,
                     [&] { destroyedIn = std::this_thread::get_id(); });
    tx.reset();
    std::thread t([rx = std::move(rx)]() mutable { rx.reset(); });
    const std::thread::id worker = t.get_id();
    t.join();
    QVERIFY(destroyedIn == worker);
}

void tst_Pipelines::handlesInManyThreads() {
    constexpr int Producers = 4, PerProducer = 10000, Consumers = 3;
    std::vector<int> taken;
    std::mutex mutex;
    {
        auto [tx, rx] = makeChannel<int>(16);
        std::vector<std::thread> threads;
        for (int p = 0; p < Producers; ++p) {
            threads.emplace_back([p, tx = tx]() mutable {
                for (int i = 0; i < PerProducer; ++i)
                    tx.putBlocking(p * PerProducer + i);
                tx.reset(); // the last of them closes the channel
            });
        }
        for (int c = 0; c < Consumers; ++c) {
            threads.emplace_back([&, rx = rx] {
                std::vector<int> local;
                while (std::optional<int> v = rx.getBlocking())
                    local.push_back(*v);
                std::lock_guard lock(mutex);
                taken.insert(taken.end(), local.begin(), local.end());
            });
        }
        tx.reset();
        rx.reset();
        for (auto &t : threads)
            t.join();
    }
    std::sort(taken.begin(), taken.end());
    QCOMPARE(taken.size(), size_t(Producers * PerProducer));
    for (int i = 0; i < Producers * PerProducer; ++i)
        QCOMPARE(taken[size_t(i)], i);
}

QTEST_GUILESS_MAIN(tst_Pipelines)
#include "tst_pipelines.moc"
