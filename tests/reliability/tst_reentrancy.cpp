// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// Re-entrancy: every public call made from inside every place where the channel runs user
// code (each signal's slot, a forEach callback, the continuations of get(), put() and join(),
// a get()'s onFailed handler), with that code in the thread that triggered it and in another
// thread. The matrix is the data table of callFromHook(): hooks × calls × threads.
//
// Each row: a channel, a hook that makes the call (up to three times), a trigger that makes
// the hook run, then an itemAvailable() listener (queued, draining with tryGet()) standing for
// an ordinary consumer, and a producer thread putting 100 more items. Checks:
// - nothing deadlocked (a watchdog aborts with the row's name after 30 s);
// - the hook ran;
// - no notification was lost: the producer's items are all taken through notifications
//   alone, before anything is closed;
// - after close, every accepted item was taken exactly once (by the listener, the hook's own
//   takes and futures, or forEach loops) and the channel finished;
// - every future the hook made settled.

#include "../testutil.h"
#include "sync.h"

#include <QtChannel/Channel>

#include <QtCore/QThread>
#include <QtTest/QTest>

#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

using namespace QtChannel;

namespace {

enum class Hook {
    ItemAvailable,
    SpaceAvailable,
    SizeChanged,
    Closed,
    Finished,
    ForEach,
    GetThen,
    PutThen,
    JoinThen,
    GetOnFailed
};
enum class Call {
    TryPut,
    Put,
    PutBlocking,
    TryGet,
    Get,
    GetBlocking,
    GetAndCancel,
    Close,
    Join,
    ForEach,
    Queries
};

const char *hookName(Hook h) {
    static const char *n[] = {"itemAvailable", "spaceAvailable", "sizeChanged", "closed",
                              "finished",      "forEach",        "get-then",    "put-then",
                              "join-then",     "get-onFailed"};
    return n[int(h)];
}
const char *callName(Call c) {
    static const char *n[] = {"tryPut", "put",         "putBlocking",  "tryGet",
                              "get",    "getBlocking", "getAndCancel", "close",
                              "join",   "forEach",     "queries"};
    return n[int(c)];
}

// Aborts the test binary with `what` unless disarmed within the timeout: a deadlock must fail
// the test, not hang it.
class Watchdog {
public:
    explicit Watchdog(QByteArray what)
        : m_what(std::move(what))
        , m_thread([this] {
            std::unique_lock lock(m_mutex);
            if (!m_done.wait_for(lock, std::chrono::seconds(30), [this] { return m_disarmed; }))
                qFatal("deadlock (no progress for 30 s) in %s", m_what.constData());
        }) {}
    ~Watchdog() {
        {
            std::lock_guard lock(m_mutex);
            m_disarmed = true;
        }
        m_done.notify_all();
        m_thread.join();
    }

private:
    QByteArray m_what;
    std::mutex m_mutex;
    std::condition_variable m_done;
    bool m_disarmed = false;
    std::thread m_thread;
};

// What the hook and the consumers did; guarded by `mutex` (hooks may run in the worker).
struct Records {
    std::mutex mutex;
    int hookRuns = 0;
    std::vector<int> taken;                  // by the listener, the hook's takes and forEach loops
    std::set<int> accepted;                  // puts known accepted
    std::map<int, QFuture<void>> putFutures; // value -> future (accepted unless it failed)
    std::vector<QFuture<int>> getFutures;
    std::vector<QFuture<void>> otherFutures; // join(), forEach()
};

} // namespace

Q_DECLARE_METATYPE(Hook)
Q_DECLARE_METATYPE(Call)

class tst_Reentrancy : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void callFromHook_data();
    void callFromHook();
    void putFromItemAvailableIsNotLost();
};

void tst_Reentrancy::callFromHook_data() {
    QTest::addColumn<Hook>("hook");
    QTest::addColumn<Call>("call");
    QTest::addColumn<bool>("otherThread");
    for (int h = 0; h <= int(Hook::GetOnFailed); ++h) {
        for (int c = 0; c <= int(Call::Queries); ++c) {
            for (bool other : {false, true}) {
                QTest::addRow("%s/%s/%s", hookName(Hook(h)), callName(Call(c)),
                              other ? "other-thread" : "same-thread")
                    << Hook(h) << Call(c) << other;
            }
        }
    }
}

void tst_Reentrancy::callFromHook() {
    QFETCH(Hook, hook);
    QFETCH(Call, call);
    QFETCH(bool, otherThread);
    Watchdog watchdog(QTest::currentDataTag());

    Records rec; // outlives the channel, whose loops record into it
    QThread worker;
    worker.start();
    struct Stop {
        QThread &thread;
        ~Stop() {
            thread.quit();
            thread.wait();
        }
    } stopWorker{worker};
    QObject mainContext;
    auto *workerContext = new QObject;
    workerContext->moveToThread(&worker);
    QObject *hookContext = otherThread ? workerContext : &mainContext;

    // spaceAvailable needs a bound; put() continuations need a full channel.
    const bool bounded = hook == Hook::SpaceAvailable || hook == Hook::PutThen;
    Channel<int> ch(bounded ? 1 : Unbounded);
    int nextValue = 1000;

    // The call the hook makes, from wherever the hook runs.
    const auto makeCall = [&] {
        std::unique_lock lock(rec.mutex);
        if (++rec.hookRuns > 3)
            return;
        const int v = nextValue++;
        lock.unlock();
        switch (call) {
        case Call::TryPut:
            if (ch.tryPut(v) == PutResult::Ok) {
                lock.lock();
                rec.accepted.insert(v);
            }
            break;
        case Call::Put: {
            QFuture<void> f = ch.put(v);
            lock.lock();
            rec.putFutures.emplace(v, f);
            break;
        }
        case Call::PutBlocking:
            if (ch.putBlocking(v, QDeadlineTimer(0)) == PutResult::Ok) {
                lock.lock();
                rec.accepted.insert(v);
            }
            break;
        case Call::TryGet:
        case Call::GetBlocking:
            if (std::optional<int> got =
                    call == Call::TryGet ? ch.tryGet() : ch.getBlocking(QDeadlineTimer(0))) {
                lock.lock();
                rec.taken.push_back(*got);
            }
            break;
        case Call::Get:
        case Call::GetAndCancel: {
            QFuture<int> f = ch.get();
            if (call == Call::GetAndCancel)
                f.cancel();
            lock.lock();
            rec.getFutures.push_back(f);
            break;
        }
        case Call::Close:
            ch.close();
            break;
        case Call::Join: {
            QFuture<void> f = ch.join();
            lock.lock();
            rec.otherFutures.push_back(f);
            break;
        }
        case Call::ForEach: {
            QFuture<void> f = ch.forEach(
                QThread::currentThread() == &worker ? workerContext : &mainContext, [&](int item) {
                    std::lock_guard guard(rec.mutex);
                    rec.taken.push_back(item);
                });
            lock.lock();
            rec.otherFutures.push_back(f);
            break;
        }
        case Call::Queries: {
            const qsizetype n = ch.size();
            const bool consistent = n >= 0 && ch.capacity() == (bounded ? 1 : Unbounded) &&
                                    ch.isEmpty() == (n == 0) && ch.pendingGets() >= 0 &&
                                    ch.pendingPuts() >= 0 && ch.snapshot().size() >= 0;
            (void)ch.isFull();
            (void)ch.isClosed();
            (void)ch.isFinished();
            if (!consistent)
                qFatal("inconsistent queries from a hook");
            break;
        }
        }
    };

    // The hook, and the trigger that makes it run.
    QFuture<void> hookFuture; // forEach's, or the continuation chain's
    const auto onSignal = [&](auto signal) {
        QObject::connect(&ch, signal, hookContext, [&] { makeCall(); });
    };
    switch (hook) {
    case Hook::ItemAvailable:
        onSignal(&ChannelBase::itemAvailable);
        ch.tryPut(1);
        rec.accepted.insert(1);
        break;
    case Hook::SpaceAvailable:
        onSignal(&ChannelBase::spaceAvailable);
        ch.tryPut(1);
        rec.accepted.insert(1);
        QCOMPARE(ch.tryPut(2), PutResult::Full); // arms spaceAvailable
        if (std::optional<int> v = ch.tryGet()) {
            std::lock_guard lock(rec.mutex);
            rec.taken.push_back(*v);
        }
        break;
    case Hook::SizeChanged:
        QObject::connect(&ch, &ChannelBase::sizeChanged, hookContext, [&] { makeCall(); });
        ch.tryPut(1);
        rec.accepted.insert(1);
        break;
    case Hook::Closed:
        onSignal(&ChannelBase::closed);
        ch.tryPut(1);
        rec.accepted.insert(1);
        ch.close();
        break;
    case Hook::Finished:
        onSignal(&ChannelBase::finished);
        ch.close();
        break;
    case Hook::ForEach:
        hookFuture = ch.forEach(hookContext, [&](int item) {
            {
                std::lock_guard lock(rec.mutex);
                rec.taken.push_back(item);
            }
            makeCall();
        });
        ch.tryPut(1);
        ch.tryPut(2);
        rec.accepted.insert({1, 2});
        break;
    case Hook::GetThen: {
        QFuture<int> g = ch.get();
        rec.getFutures.push_back(g);
        const auto body = [&](int) { makeCall(); };
        hookFuture = otherThread ? g.then(workerContext, body) : g.then(body);
        ch.tryPut(1);
        rec.accepted.insert(1);
        break;
    }
    case Hook::PutThen: {
        ch.tryPut(1);
        rec.accepted.insert(1);
        QFuture<void> p = ch.put(2);
        rec.putFutures.emplace(2, p);
        const auto body = [&] { makeCall(); };
        hookFuture = otherThread ? p.then(workerContext, body) : p.then(body);
        if (std::optional<int> v = ch.tryGet()) { // makes room: accepts 2, runs the hook
            std::lock_guard lock(rec.mutex);
            rec.taken.push_back(*v);
        }
        break;
    }
    case Hook::GetOnFailed: {
        QFuture<int> g = ch.get();
        rec.getFutures.push_back(g);
        const auto body = [&](const ChannelClosed &) {
            makeCall();
            return -1;
        };
        hookFuture =
            (otherThread ? g.onFailed(workerContext, body) : g.onFailed(body)).then([](int) {});
        ch.close(); // fails the pending get: runs the handler
        break;
    }
    case Hook::JoinThen: {
        QFuture<void> j = ch.join();
        const auto body = [&] { makeCall(); };
        hookFuture = otherThread ? j.then(workerContext, body) : j.then(body);
        ch.close();
        break;
    }
    }

    // The hook ran (in the worker it runs from its event loop).
    QVERIFY2(TestUtil::waitFor([&] {
                 std::lock_guard lock(rec.mutex);
                 return rec.hookRuns > 0;
             }),
             "the hook never ran");
    // The listener: an ordinary consumer, queued to the main thread.
    // It connects once the hook ran, so that it cannot take the items meant to trigger the
    // hook, and drains once after connecting, as the docs say a late receiver must.
    QObject listener;
    const auto drain = [&] {
        while (std::optional<int> v = ch.tryGet()) {
            std::lock_guard lock(rec.mutex);
            rec.taken.push_back(*v);
        }
    };
    QObject::connect(&ch, &ChannelBase::itemAvailable, &listener, drain, Qt::QueuedConnection);
    QMetaObject::invokeMethod(&listener, drain, Qt::QueuedConnection);

    // Then a producer thread puts more: the consumers must see every one of these items
    // through notifications alone (a lost one leaves an item in the channel and times out).
    constexpr int Extra = 100, ExtraBase = 5000;
    const auto extraSeen = [&] {
        std::lock_guard lock(rec.mutex);
        int n = 0;
        for (int v : rec.taken)
            n += v >= ExtraBase ? 1 : 0;
        for (const QFuture<int> &g : rec.getFutures) {
            if (g.isFinished() && g.resultCount() == 1 && g.resultAt(0) >= ExtraBase)
                ++n;
        }
        return n;
    };
    int extraAccepted = 0;
    {
        std::jthread producer([&] {
            for (int i = 0; i < Extra; ++i) {
                PutResult r;
                while ((r = ch.tryPut(ExtraBase + i)) == PutResult::Full)
                    std::this_thread::yield();
                if (r == PutResult::Ok) {
                    std::lock_guard lock(rec.mutex);
                    rec.accepted.insert(ExtraBase + i);
                    ++extraAccepted;
                }
            }
        });
        QVERIFY2(TestUtil::waitFor([&] {
                     std::lock_guard lock(rec.mutex);
                     return extraAccepted == Extra || ch.isClosed();
                 }),
                 "the producer could not put: a full channel whose room was never announced");
    }
    QVERIFY2(TestUtil::waitFor([&] { return extraSeen() == extraAccepted; }, 10000),
             qPrintable(QStringLiteral("a notification was lost: %1 of %2 items taken")
                            .arg(extraSeen())
                            .arg(extraAccepted)));

    // Settle: close, then let every consumer drain until the channel is finished.
    ch.close();
    QVERIFY2(TestUtil::waitFor([&] { return ch.isFinished(); }),
             "not finished: an item is left that no notification announced");
    QVERIFY(TestUtil::waitFor([&] {
        std::lock_guard lock(rec.mutex);
        for (const auto &f : rec.otherFutures) {
            if (!f.isFinished())
                return false;
        }
        return hookFuture.isFinished() || !hookFuture.isValid();
    }));
    Rel::deleteInItsThread(workerContext);
    worker.quit();
    worker.wait();
    QCoreApplication::processEvents();

    std::lock_guard lock(rec.mutex);
    // Every future the hook made (or the trigger made) settled.
    std::multiset<int> taken(rec.taken.begin(), rec.taken.end());
    for (const QFuture<int> &g : rec.getFutures) {
        QVERIFY2(g.isFinished(), "a get() future never settled");
        if (g.resultCount() == 1)
            taken.insert(g.resultAt(0));
    }
    std::set<int> accepted = rec.accepted;
    for (auto &[v, f] : rec.putFutures) {
        QVERIFY2(f.isFinished(), "a put() future never settled");
        try {
            f.waitForFinished();
            accepted.insert(v);
        } catch (const ChannelClosed &) {
        }
    }
    // Exactly once: every accepted item taken once, nothing else taken.
    for (int v : accepted)
        QVERIFY2(taken.count(v) == 1,
                 qPrintable(QStringLiteral("item %1 taken %2 times").arg(v).arg(taken.count(v))));
    QCOMPARE(taken.size(), accepted.size());
}

// The first row of the issue, spelled out: put from itemAvailable, same thread, with the
// drain pattern; the slot's own put is announced and taken.
void tst_Reentrancy::putFromItemAvailableIsNotLost() {
    Channel<int> ch;
    std::vector<int> seen;
    QObject::connect(
        &ch, &ChannelBase::itemAvailable, this,
        [&] {
            while (std::optional<int> v = ch.tryGet()) {
                seen.push_back(*v);
                if (*v < 100)
                    ch.tryPut(*v + 100);
            }
        },
        Qt::QueuedConnection);
    QObject::connect(&ch, &ChannelBase::itemAvailable, this, [&] { ch.tryPut(50); });
    ch.tryPut(1);
    QVERIFY(TestUtil::waitFor([&] { return seen.size() == 4; }));
    QCOMPARE(seen, (std::vector<int>{1, 50, 101, 150}));
}

QTEST_GUILESS_MAIN(tst_Reentrancy)
#include "tst_reentrancy.moc"
