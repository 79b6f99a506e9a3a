// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// NatsChannel<T> against a real nats-server: the in-process contract where it applies over the
// network (FIFO of first deliveries, bound and backpressure, close and finished, canceling
// never swallows an item, every waiting style), through one typed adapter that runs each check
// for QByteArray, QString, QJsonDocument and a type with QDataStream operators. The network's
// own rules are checked too: explicit acknowledgement, redelivery, the envelope, mismatches,
// and the errors of misuse.

#include "natsserver.h"

#include <QtChannel/NatsChannel>

#include <QtCore/QFutureWatcher>
#include <QtCore/QJsonObject>
#include <QtCore/QThread>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

#include <nats/nats.h>

#include <atomic>
#include <set>
#include <thread>

using namespace QtChannel;
using namespace std::chrono_literals;
using NatsTest::NatsServer;

namespace {

// A type with QDataStream operators, the general case of T.
struct Job {
    qint32 id = 0;
    QString text;
    friend bool operator==(const Job &, const Job &) = default;
};
QDataStream &operator<<(QDataStream &out, const Job &job) {
    return out << job.id << job.text;
}
QDataStream &operator>>(QDataStream &in, Job &job) {
    return in >> job.id >> job.text;
}

// The typed adapter: the same checks run for every kind of item.
template <typename T> struct Items;
template <> struct Items<QByteArray> {
    static QByteArray make(int i) { return "item " + QByteArray::number(i); }
    static int value(const QByteArray &b) { return b.mid(5).toInt(); }
};
template <> struct Items<QString> {
    static QString make(int i) { return QStringLiteral("élément %1").arg(i); }
    static int value(const QString &s) { return s.mid(8).toInt(); }
};
template <> struct Items<QJsonDocument> {
    static QJsonDocument make(int i) { return QJsonDocument(QJsonObject{{QLatin1String("i"), i}}); }
    static int value(const QJsonDocument &d) {
        return d.object().value(QLatin1String("i")).toInt();
    }
};
template <> struct Items<Job> {
    static Job make(int i) { return Job{i, QStringLiteral("job %1").arg(i)}; }
    static int value(const Job &j) {
        return j.text == QStringLiteral("job %1").arg(j.id) ? j.id : -1;
    }
};

// Waits for a future without an event loop in another thread finishing it: the safe way on
// Qt 6.4.2 (no then() racing the engine thread).
template <typename F> bool finishes(const F &future, std::chrono::milliseconds timeout = 10s) {
    QDeadlineTimer deadline(timeout);
    while (!future.isFinished() && !deadline.hasExpired())
        QTest::qWait(1);
    return future.isFinished();
}

template <typename F> bool failsWithClosed(F future) {
    try {
        future.waitForFinished();
    } catch (const ChannelClosed &) {
        return true;
    } catch (...) {
        return false;
    }
    return false;
}

NatsChannelOptions fastOptions() {
    NatsChannelOptions o;
    o.ackWait = 1500ms;
    o.pollInterval = 25ms;
    o.requestTimeout = 1000ms;
    o.duplicateWindow = 30s;
    return o;
}

} // namespace

class tst_NatsChannel : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();
    void init();

    // basics, for every item type
    void fifo_bytes() { fifo<QByteArray>(); }
    void fifo_string() { fifo<QString>(); }
    void fifo_json() { fifo<QJsonDocument>(); }
    void fifo_dataStream() { fifo<Job>(); }
    void futures_bytes() { futures<QByteArray>(); }
    void futures_dataStream() { futures<Job>(); }
    void bound_string() { bound<QString>(); }
    void bound_json() { bound<QJsonDocument>(); }
    void closeAndFinish_bytes() { closeAndFinish<QByteArray>(); }
    void closeAndFinish_dataStream() { closeAndFinish<Job>(); }
    void openBindsTheSameChannel();
    void mismatchIsAClearError();
    void badArgumentsThrow();
    void bindToNothingIsAnError();
    void unreachableServerIsAClearError();
    void openOnUnconnectedIsAClearError();

    // waiting and canceling
    void canceledGetsNeverSwallowItems();
    void getBlockingDeadlineTakesNothing();
    void canceledPutNeverLands();
    void tryGetWithGetsWaitingFindsNothing();
    void blockingFromManyThreads();

    // forEach
    void forEachInOrderUntilFinished();
    void forEachContextDestroyedLeavesItems();
    void forEachWithDeliveries();

    // explicit acknowledgement
    void deliveryAck();
    void deliveryNakIsRedelivered();
    void deliveryDroppedIsRedelivered();
    void deliveryUnackedPastAckWaitIsRedelivered();

    // close
    void closeReturnsTrueExactlyOnce();
    void closeFailsWaitingGetsAndPuts();
    void closedAndFinishedSeenByOthers();
    void removeAndReuseTheName();

    // state and signals
    void sizeAndSignalsAcrossObjects();

    // the envelope
    void undecodableItemIsAFormatError();
    void newerEnvelopeIsAFormatError();

    // lifetime and misuse
    void destroyingTheChannelFailsItsWaiters();
    void destroyingTheConnectionFailsEverything();
    void blockingOnTheEngineThreadIsAnError();

private:
    template <typename T> void fifo();
    template <typename T> void futures();
    template <typename T> void bound();
    template <typename T> void closeAndFinish();

    template <typename T>
    std::unique_ptr<NatsChannel<T>> open(qsizetype capacity = Unbounded,
                                         NatsChannelOptions options = fastOptions()) {
        return NatsChannel<T>::open(m_connection.get(), m_name, capacity, options);
    }

    // Publishes raw bytes to the channel's items subject, bypassing NatsChannel (nats.c).
    void publishRaw(const QByteArray &payload);

    std::unique_ptr<NatsServer> m_server;
    std::unique_ptr<NatsConnection> m_connection;
    QString m_name;
    int m_count = 0;
};

void tst_NatsChannel::initTestCase() {
    if (NatsTest::serverProgram().isEmpty())
        QSKIP("nats-server is not installed (scripts/deps.sh nats installs it)");
    m_server = std::make_unique<NatsServer>();
    QString error;
    QVERIFY2(m_server->start(&error), qPrintable(error));
    m_connection = std::make_unique<NatsConnection>(m_server->url());
    m_connection->connectBlocking();
    QVERIFY(m_connection->isConnected());
}

void tst_NatsChannel::cleanupTestCase() {
    m_connection.reset();
    m_server.reset();
}

void tst_NatsChannel::init() {
    // A channel of its own for every test.
    m_name = QStringLiteral("t%1").arg(++m_count);
}

template <typename T> void tst_NatsChannel::fifo() {
    auto ch = open<T>();
    for (int i = 0; i < 50; ++i)
        QCOMPARE(ch->putBlocking(Items<T>::make(i)), PutResult::Ok);
    for (int i = 0; i < 50; ++i) {
        std::optional<T> item = ch->getBlocking(QDeadlineTimer(5s));
        QVERIFY(item);
        QCOMPARE(Items<T>::value(*item), i);
    }
    QVERIFY(!ch->tryGet());
    QVERIFY(!ch->getBlocking(QDeadlineTimer(100ms)));
}

template <typename T> void tst_NatsChannel::futures() {
    auto ch = open<T>();
    // Gets first: they wait; puts then serve them in order.
    QList<QFuture<T>> gets;
    for (int i = 0; i < 10; ++i)
        gets << ch->get();
    QTRY_COMPARE(ch->pendingGets(), 10);
    QList<QFuture<void>> puts;
    for (int i = 0; i < 20; ++i)
        puts << ch->put(Items<T>::make(i));
    for (auto &p : puts)
        QVERIFY(finishes(p));
    for (int i = 0; i < 10; ++i) {
        QVERIFY(finishes(gets[i]));
        QCOMPARE(Items<T>::value(gets[i].result()), i);
    }
    for (int i = 10; i < 20; ++i) {
        QFuture<T> g = ch->get();
        QVERIFY(finishes(g));
        QCOMPARE(Items<T>::value(g.result()), i);
    }
}

template <typename T> void tst_NatsChannel::bound() {
    auto ch = open<T>(3);
    QCOMPARE(ch->capacity(), 3);
    for (int i = 0; i < 3; ++i)
        QCOMPARE(ch->tryPut(Items<T>::make(i)), PutResult::Ok);
    QCOMPARE(ch->tryPut(Items<T>::make(99)), PutResult::Full);
    QCOMPARE(ch->putBlocking(Items<T>::make(99), QDeadlineTimer(200ms)), PutResult::Full);
    QFuture<void> waiting = ch->put(Items<T>::make(3));
    QTest::qWait(150);
    QVERIFY(!waiting.isFinished()); // no room: it waits
    QCOMPARE(Items<T>::value(*ch->getBlocking(QDeadlineTimer(5s))), 0);
    QVERIFY(finishes(waiting)); // room was made: accepted
    for (int i = 1; i <= 3; ++i)
        QCOMPARE(Items<T>::value(*ch->getBlocking(QDeadlineTimer(5s))), i);
    QVERIFY(!ch->tryGet()); // 99 never went in
}

template <typename T> void tst_NatsChannel::closeAndFinish() {
    auto ch = open<T>();
    QSignalSpy closedSpy(ch.get(), &NatsChannelBase::closed);
    QSignalSpy finishedSpy(ch.get(), &NatsChannelBase::finished);
    QFuture<void> joined = ch->join();
    for (int i = 0; i < 3; ++i)
        QCOMPARE(ch->putBlocking(Items<T>::make(i)), PutResult::Ok);
    QVERIFY(ch->close());
    QVERIFY(!ch->close());
    QVERIFY(ch->isClosed());
    QCOMPARE(ch->tryPut(Items<T>::make(9)), PutResult::Closed);
    QCOMPARE(ch->putBlocking(Items<T>::make(9)), PutResult::Closed);
    QVERIFY(failsWithClosed(ch->put(Items<T>::make(9))));
    QVERIFY(!ch->isFinished());
    for (int i = 0; i < 3; ++i)
        QCOMPARE(Items<T>::value(*ch->getBlocking(QDeadlineTimer(5s))), i);
    QVERIFY(finishes(joined));
    QVERIFY(ch->isFinished());
    QVERIFY(!ch->getBlocking(QDeadlineTimer(5s)));
    QVERIFY(failsWithClosed(ch->get()));
    QTRY_COMPARE(closedSpy.size(), 1);
    QTRY_COMPARE(finishedSpy.size(), 1);
}

// --- basics ------------------------------------------------------------------------------------

void tst_NatsChannel::openBindsTheSameChannel() {
    auto a = open<QString>(10);
    auto b = open<QString>(10); // the same definition: binds
    auto c = NatsChannel<QString>::bind(m_connection.get(), m_name);
    QCOMPARE(c->capacity(), 10);
    QCOMPARE(c->options().ackWait, fastOptions().ackWait);
    QCOMPARE(c->streamName(), QStringLiteral("QTCHANNEL_") + m_name);
    QCOMPARE(a->putBlocking(QStringLiteral("one")), PutResult::Ok);
    QCOMPARE(b->putBlocking(QStringLiteral("two")), PutResult::Ok);
    QCOMPARE(*c->getBlocking(QDeadlineTimer(5s)), QStringLiteral("one"));
    QCOMPARE(*a->getBlocking(QDeadlineTimer(5s)), QStringLiteral("two"));
}

void tst_NatsChannel::mismatchIsAClearError() {
    auto a = open<QString>(3);
    auto expectMismatch = [&](auto &&openIt, const QString &mentioned) {
        try {
            openIt();
        } catch (const NatsError &e) {
            QCOMPARE(e.kind(), NatsError::Kind::Mismatch);
            QVERIFY2(e.message().contains(mentioned), qPrintable(e.message()));
            return;
        }
        QFAIL("a mismatching open succeeded");
    };
    expectMismatch([&] { open<QString>(4); }, QStringLiteral("capacity is 3, not 4"));
    expectMismatch([&] { open<QString>(Unbounded); }, QStringLiteral("not unbounded"));
    expectMismatch([&] { open<QByteArray>(3); },
                   QStringLiteral("items of type QString, not QByteArray"));
    NatsChannelOptions other = fastOptions();
    other.ackWait = 5s;
    expectMismatch([&] { open<QString>(3, other); }, QStringLiteral("ack wait"));
    other = fastOptions();
    other.storage = NatsStorage::Memory;
    expectMismatch([&] { open<QString>(3, other); }, QStringLiteral("storage is file, not memory"));
    // Nothing was changed: the first definition still holds.
    QCOMPARE(NatsChannel<QString>::bind(m_connection.get(), m_name)->capacity(), 3);
}

void tst_NatsChannel::badArgumentsThrow() {
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, open<QString>(0));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, open<QString>(-5));
    QVERIFY_THROWS_EXCEPTION(
        std::invalid_argument,
        NatsChannel<QString>::open(m_connection.get(), QStringLiteral("a.b"), 1));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                             NatsChannel<QString>::open(m_connection.get(), QString(), 1));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, NatsChannel<QString>::open(nullptr, m_name, 1));
    NatsChannelOptions o = fastOptions();
    o.maxAckPending = 0;
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, open<QString>(1, o));
    auto ch = open<QString>();
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, ch->forEach(nullptr, [](QString) {}));
}

void tst_NatsChannel::bindToNothingIsAnError() {
    try {
        NatsChannel<QString>::bind(m_connection.get(), m_name);
        QFAIL("bound to a channel that does not exist");
    } catch (const NatsError &e) {
        QCOMPARE(e.jsErrorCode(), 10059);
        QVERIFY2(e.message().contains(QStringLiteral("no channel of that name")), e.what());
    }
}

void tst_NatsChannel::unreachableServerIsAClearError() {
    // A port nobody listens on: the server's own, after it is gone.
    NatsServer gone;
    QVERIFY(gone.start());
    const QUrl url = gone.url();
    gone.kill();
    NatsConnectionOptions o;
    o.servers = {url};
    o.connectTimeout = 500ms;
    NatsConnection connection(o);
    try {
        connection.connectBlocking();
        QFAIL("connected to nothing");
    } catch (const NatsError &e) {
        QCOMPARE(e.kind(), NatsError::Kind::Connection);
        QVERIFY2(e.message().contains(url.toString()), e.what());
    }
    QCOMPARE(connection.state(), NatsConnection::State::Unconnected);
}

void tst_NatsChannel::openOnUnconnectedIsAClearError() {
    NatsConnection connection(m_server->url());
    try {
        NatsChannel<QString>::open(&connection, m_name, 1);
        QFAIL("opened a channel without a connection");
    } catch (const NatsError &e) {
        QCOMPARE(e.kind(), NatsError::Kind::Connection);
        QVERIFY2(e.message().contains(QStringLiteral("not connected")), e.what());
    }
}

// --- waiting and canceling ---------------------------------------------------------------------

void tst_NatsChannel::canceledGetsNeverSwallowItems() {
    auto ch = open<QString>();
    QList<QFuture<QString>> gets;
    for (int i = 0; i < 6; ++i)
        gets << ch->get();
    QTRY_COMPARE(ch->pendingGets(), 6);
    for (int i = 0; i < 6; i += 2)
        gets[i].cancel(); // their pull requests are on the server already
    for (int i = 0; i < 6; ++i)
        QCOMPARE(ch->putBlocking(Items<QString>::make(i)), PutResult::Ok);
    std::set<int> taken;
    for (int i = 1; i < 6; i += 2) {
        QVERIFY(finishes(gets[i]));
        taken.insert(Items<QString>::value(gets[i].result()));
    }
    for (int i = 0; i < 6; i += 2)
        QCOMPARE(gets[i].resultCount(), 0);
    // The items the canceled gets were sent went back: all are still there, for others.
    while (auto item = ch->getBlocking(QDeadlineTimer(3s)))
        QVERIFY(taken.insert(Items<QString>::value(*item)).second);
    QCOMPARE(taken, (std::set<int>{0, 1, 2, 3, 4, 5}));
}

void tst_NatsChannel::getBlockingDeadlineTakesNothing() {
    auto ch = open<QString>();
    QElapsedTimer timer;
    timer.start();
    QVERIFY(!ch->getBlocking(QDeadlineTimer(300ms)));
    QVERIFY(timer.elapsed() >= 290);
    QCOMPARE(ch->putBlocking(QStringLiteral("late")), PutResult::Ok);
    QCOMPARE(*ch->getBlocking(QDeadlineTimer(5s)), QStringLiteral("late"));
}

void tst_NatsChannel::canceledPutNeverLands() {
    auto ch = open<QString>(1);
    QCOMPARE(ch->putBlocking(QStringLiteral("first")), PutResult::Ok);
    QFuture<void> waiting = ch->put(QStringLiteral("canceled"));
    QTRY_COMPARE(ch->pendingPuts(), 1);
    waiting.cancel();
    QTRY_COMPARE(ch->pendingPuts(), 0); // dropped at its next try, never sent again
    QCOMPARE(*ch->getBlocking(QDeadlineTimer(5s)), QStringLiteral("first"));
    QCOMPARE(ch->putBlocking(QStringLiteral("after")), PutResult::Ok);
    QCOMPARE(*ch->getBlocking(QDeadlineTimer(5s)), QStringLiteral("after"));
    QVERIFY(!ch->tryGet());
}

void tst_NatsChannel::tryGetWithGetsWaitingFindsNothing() {
    auto ch = open<QString>();
    QFuture<QString> first = ch->get();
    QTRY_COMPARE(ch->pendingGets(), 1);
    QCOMPARE(ch->putBlocking(QStringLiteral("x")), PutResult::Ok);
    QVERIFY(finishes(first)); // first come, first served: the waiting get had it
    QCOMPARE(first.result(), QStringLiteral("x"));
    QVERIFY(!ch->tryGet());
    QCOMPARE(ch->putBlocking(QStringLiteral("y")), PutResult::Ok);
    QCOMPARE(ch->tryGet(), std::optional<QString>(QStringLiteral("y")));
}

void tst_NatsChannel::blockingFromManyThreads() {
    auto ch = open<Job>(16);
    constexpr int producers = 3, consumers = 3, each = 200;
    std::mutex mutex;
    std::multiset<int> taken; // guarded by mutex
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; ++p)
        threads.emplace_back([&, p] {
            for (int i = 0; i < each; ++i)
                if (ch->putBlocking(Items<Job>::make(p * each + i)) != PutResult::Ok)
                    return;
        });
    for (int c = 0; c < consumers; ++c)
        threads.emplace_back([&] {
            while (auto job = ch->getBlocking()) {
                std::lock_guard lock(mutex);
                taken.insert(Items<Job>::value(*job));
            }
        });
    for (int p = 0; p < producers; ++p)
        threads[size_t(p)].join();
    QVERIFY(ch->close());
    for (size_t t = producers; t < threads.size(); ++t)
        threads[t].join();
    QCOMPARE(taken.size(), size_t(producers * each));
    QCOMPARE(*taken.begin(), 0);
    QCOMPARE(*taken.rbegin(), producers * each - 1);
    QCOMPARE(std::set<int>(taken.begin(), taken.end()).size(), taken.size());
    QVERIFY(ch->isFinished());
}

// --- forEach -----------------------------------------------------------------------------------

void tst_NatsChannel::forEachInOrderUntilFinished() {
    auto ch = open<QString>();
    QObject context;
    QList<int> seen;
    QFuture<void> done = ch->forEach(&context, [&](const QString &s) {
        QCOMPARE(QThread::currentThread(), context.thread());
        seen << Items<QString>::value(s);
    });
    for (int i = 0; i < 100; ++i)
        ch->put(Items<QString>::make(i));
    QTRY_COMPARE_WITH_TIMEOUT(seen.size(), 100, 10000);
    QList<int> expected;
    for (int i = 0; i < 100; ++i)
        expected << i;
    QCOMPARE(seen, expected);
    QVERIFY(!done.isFinished());
    QVERIFY(ch->close());
    QVERIFY(finishes(done));
    QVERIFY(!done.isCanceled());
}

void tst_NatsChannel::forEachContextDestroyedLeavesItems() {
    NatsChannelOptions o = fastOptions();
    o.forEachWindow = 8;
    auto ch = open<QString>(Unbounded, o);
    for (int i = 0; i < 20; ++i)
        QCOMPARE(ch->putBlocking(Items<QString>::make(i)), PutResult::Ok);
    auto context = std::make_unique<QObject>();
    std::set<int> seen;
    QFuture<void> done = ch->forEach(
        context.get(), [&](const QString &s) { seen.insert(Items<QString>::value(s)); });
    QTRY_VERIFY(seen.size() >= 5);
    context.reset(); // stops here, with up to a window of items delivered and not passed on
    const size_t passed = seen.size();
    QVERIFY(finishes(done));
    QVERIFY(done.isCanceled());
    QCOMPARE(seen.size(), passed);
    // Every item it had not passed to f is still in the channel.
    while (auto item = ch->getBlocking(QDeadlineTimer(3s)))
        QVERIFY(seen.insert(Items<QString>::value(*item)).second);
    QCOMPARE(seen.size(), size_t(20));
}

void tst_NatsChannel::forEachWithDeliveries() {
    auto ch = open<QString>();
    QObject context;
    QMap<int, int> deliveries; // item -> times seen
    bool redeliveredSeen = false;
    QFuture<void> done = ch->forEach(&context, [&](Delivery<QString> d) {
        const int v = Items<QString>::value(d.item());
        if (++deliveries[v] == 1 && v == 3) {
            d.nak(); // not now: it comes again
            return;
        }
        redeliveredSeen = redeliveredSeen || d.redelivered();
        d.ack();
    });
    for (int i = 0; i < 6; ++i)
        QCOMPARE(ch->putBlocking(Items<QString>::make(i)), PutResult::Ok);
    QVERIFY(ch->close());
    QVERIFY(finishes(done));
    QCOMPARE(deliveries.size(), 6);
    QCOMPARE(deliveries.value(3), 2);
    QVERIFY(redeliveredSeen);
}

// --- explicit acknowledgement ------------------------------------------------------------------

void tst_NatsChannel::deliveryAck() {
    auto ch = open<Job>();
    QCOMPARE(ch->putBlocking(Items<Job>::make(7)), PutResult::Ok);
    QFuture<Delivery<Job>> f = ch->getDelivery();
    QVERIFY(finishes(f));
    Delivery<Job> d = f.result();
    QCOMPARE(d.item().id, 7);
    QVERIFY(!d.redelivered());
    QCOMPARE(d.deliveryCount(), 1);
    QVERIFY(!d.isSettled());
    QFuture<void> acked = d.ack();
    QVERIFY(finishes(acked));
    acked.waitForFinished(); // confirmed, not failed
    QVERIFY(d.isSettled());
    QVERIFY(finishes(ch->refresh()));
    QCOMPARE(ch->size(), 0);
}

void tst_NatsChannel::deliveryNakIsRedelivered() {
    auto ch = open<QString>();
    QCOMPARE(ch->putBlocking(QStringLiteral("again")), PutResult::Ok);
    auto d = ch->getDeliveryBlocking(QDeadlineTimer(5s));
    QVERIFY(d);
    d->nak();
    auto again = ch->getDeliveryBlocking(QDeadlineTimer(5s));
    QVERIFY(again);
    QCOMPARE(again->item(), QStringLiteral("again"));
    QVERIFY(again->redelivered());
    QCOMPARE(again->deliveryCount(), 2);
    QCOMPARE(again->sequence(), d->sequence());
    again->ack().waitForFinished();
}

void tst_NatsChannel::deliveryDroppedIsRedelivered() {
    auto ch = open<QString>();
    QCOMPARE(ch->putBlocking(QStringLiteral("dropped")), PutResult::Ok);
    {
        auto d = ch->getDeliveryBlocking(QDeadlineTimer(5s));
        QVERIFY(d);
    } // the last copy goes unacknowledged: given back
    auto again = ch->getDeliveryBlocking(QDeadlineTimer(5s));
    QVERIFY(again);
    QVERIFY(again->redelivered());
    again->ack().waitForFinished();
}

void tst_NatsChannel::deliveryUnackedPastAckWaitIsRedelivered() {
    auto ch = open<QString>(); // ack wait 1.5 s
    QCOMPARE(ch->putBlocking(QStringLiteral("slow")), PutResult::Ok);
    auto held = ch->getDeliveryBlocking(QDeadlineTimer(5s));
    QVERIFY(held);
    QElapsedTimer timer;
    timer.start();
    auto again = ch->getDeliveryBlocking(QDeadlineTimer(10s)); // a second consumer, waiting
    QVERIFY(again);
    QVERIFY(timer.elapsed() >= 1000); // not before the ack wait ran out
    QVERIFY(again->redelivered());
    QCOMPARE(again->item(), QStringLiteral("slow"));
    again->ack().waitForFinished();
    held->nak(); // too late to matter; never an error
}

// --- close -------------------------------------------------------------------------------------

void tst_NatsChannel::closeReturnsTrueExactlyOnce() {
    // Eight objects on two connections, closing at once from eight threads.
    NatsConnection second(m_server->url());
    second.connectBlocking();
    std::vector<std::unique_ptr<NatsChannel<QString>>> channels;
    for (int i = 0; i < 8; ++i)
        channels.push_back(NatsChannel<QString>::open(i % 2 ? &second : m_connection.get(), m_name,
                                                      Unbounded, fastOptions()));
    std::atomic<int> ready{0};
    std::atomic<int> winners{0};
    std::vector<std::thread> threads;
    for (auto &ch : channels)
        threads.emplace_back([&, c = ch.get()] {
            ++ready;
            while (ready.load() < 8) {
            }
            try {
                if (c->close())
                    ++winners;
            } catch (const NatsError &e) {
                qWarning() << "close failed:" << e.what();
            }
        });
    for (auto &t : threads)
        t.join();
    QCOMPARE(winners.load(), 1);
    for (auto &ch : channels)
        QVERIFY(ch->isClosed());
    QVERIFY(!channels[0]->close());
}

void tst_NatsChannel::closeFailsWaitingGetsAndPuts() {
    auto ch = open<QString>(1);
    auto consumer = open<QString>(1);
    QFuture<QString> waitingGet = consumer->get();
    QVERIFY(finishes(consumer->refresh()));
    QCOMPARE(ch->putBlocking(QStringLiteral("only")), PutResult::Ok);
    QVERIFY(finishes(waitingGet));
    QCOMPARE(waitingGet.result(), QStringLiteral("only"));
    QCOMPARE(ch->putBlocking(QStringLiteral("fills")), PutResult::Ok);
    QFuture<void> waitingPut = ch->put(QStringLiteral("waits"));
    QFuture<QString> taken = consumer->get();
    QVERIFY(finishes(taken));
    QVERIFY(ch->close());
    QVERIFY(finishes(waitingPut)); // closed before it found room, or accepted just before
    if (waitingPut.isCanceled())
        QVERIFY(failsWithClosed(waitingPut));
    QList<QFuture<QString>> gets{consumer->get(), consumer->get()};
    for (auto &g : gets)
        QVERIFY(finishes(g));
    const int served = int(!gets[0].isCanceled()) + int(!gets[1].isCanceled());
    QCOMPARE(served, waitingPut.isCanceled() ? 0 : 1);
    QVERIFY(failsWithClosed(gets[1]));
    QTRY_VERIFY(consumer->isFinished());
}

void tst_NatsChannel::closedAndFinishedSeenByOthers() {
    NatsConnection other(m_server->url());
    other.connectBlocking();
    auto here = open<QString>();
    auto there = NatsChannel<QString>::bind(&other, m_name, fastOptions());
    QSignalSpy closedThere(there.get(), &NatsChannelBase::closed);
    QSignalSpy finishedThere(there.get(), &NatsChannelBase::finished);
    QFuture<void> joinedThere = there->join();
    QCOMPARE(here->putBlocking(QStringLiteral("last")), PutResult::Ok);
    QVERIFY(here->close());
    QTRY_COMPARE(closedThere.size(), 1);
    QVERIFY(there->isClosed());
    QVERIFY(!there->isFinished());
    QCOMPARE(there->putBlocking(QStringLiteral("no")), PutResult::Closed);
    QCOMPARE(*there->getBlocking(QDeadlineTimer(5s)), QStringLiteral("last"));
    QVERIFY(finishes(joinedThere));
    QTRY_COMPARE(finishedThere.size(), 1);
    QTRY_VERIFY(here->isFinished() || finishes(here->refresh()));
    QVERIFY(finishes(here->join()));
}

void tst_NatsChannel::removeAndReuseTheName() {
    {
        auto ch = open<QString>(2);
        QCOMPARE(ch->putBlocking(QStringLiteral("old")), PutResult::Ok);
        QVERIFY(ch->close());
    }
    NatsChannelBase::remove(m_connection.get(), m_name);
    auto fresh = open<QString>(5);
    QVERIFY(!fresh->isClosed());
    QCOMPARE(fresh->capacity(), 5);
    QVERIFY(!fresh->tryGet());
    NatsChannelBase::remove(m_connection.get(), m_name);
    NatsChannelBase::remove(m_connection.get(), m_name); // nothing to remove: fine
}

// --- state and signals -------------------------------------------------------------------------

void tst_NatsChannel::sizeAndSignalsAcrossObjects() {
    NatsConnection other(m_server->url());
    other.connectBlocking();
    auto producer = open<QString>(2);
    auto watcher = NatsChannel<QString>::bind(&other, m_name, fastOptions());
    QSignalSpy sizes(watcher.get(), &NatsChannelBase::sizeChanged);
    QSignalSpy items(watcher.get(), &NatsChannelBase::itemAvailable);
    QSignalSpy space(producer.get(), &NatsChannelBase::spaceAvailable);
    QCOMPARE(producer->putBlocking(QStringLiteral("a")), PutResult::Ok);
    QCOMPARE(producer->putBlocking(QStringLiteral("b")), PutResult::Ok);
    QTRY_COMPARE(watcher->size(), 2);
    QTRY_VERIFY(!sizes.isEmpty());
    QCOMPARE(sizes.last().at(0).value<qsizetype>(), 2);
    QTRY_VERIFY(!items.isEmpty());
    QVERIFY(watcher->isFull());
    QCOMPARE(producer->tryPut(QStringLiteral("c")), PutResult::Full); // arms spaceAvailable
    QCOMPARE(*watcher->getBlocking(QDeadlineTimer(5s)), QStringLiteral("a"));
    QTRY_VERIFY(!space.isEmpty());
    QTRY_COMPARE(watcher->size(), 1);
    QCOMPARE(sizes.last().at(0).value<qsizetype>(), 1);
}

// --- the envelope ------------------------------------------------------------------------------

void tst_NatsChannel::publishRaw(const QByteArray &payload) {
    natsConnection *nc = nullptr;
    QCOMPARE(natsConnection_ConnectTo(&nc, m_server->url().toString().toUtf8().constData()),
             NATS_OK);
    natsMsg *reply = nullptr;
    const QByteArray subject = "qtchannel." + m_name.toUtf8() + ".items";
    QCOMPARE(natsConnection_Request(&reply, nc, subject.constData(), payload.constData(),
                                    int(payload.size()), 5000),
             NATS_OK);
    natsMsg_Destroy(reply);
    natsConnection_Destroy(nc);
}

void tst_NatsChannel::undecodableItemIsAFormatError() {
    auto ch = open<Job>();
    const QByteArray raw("not an envelope");
    publishRaw(raw);
    QCOMPARE(ch->putBlocking(Items<Job>::make(1)), PutResult::Ok);
    try {
        ch->getBlocking(QDeadlineTimer(5s));
        QFAIL("an undecodable item was handed out");
    } catch (const NatsError &e) {
        QCOMPARE(e.kind(), NatsError::Kind::Format);
        QCOMPARE(e.payload(), raw); // nothing lost: the bytes are in the error
        QVERIFY2(e.message().contains(QStringLiteral("not a QtChannel item")), e.what());
    }
    // A Job's bytes that do not read back as a Job (cut short).
    QByteArray cut = detail::NatsCodec<Job>::encode(Items<Job>::make(2));
    cut.chop(3);
    publishRaw(cut);
    QCOMPARE(ch->getBlocking(QDeadlineTimer(5s))->id, 1);
    QFuture<Job> bad = ch->get();
    QVERIFY(finishes(bad));
    QVERIFY_THROWS_EXCEPTION(NatsError, bad.waitForFinished());
}

void tst_NatsChannel::newerEnvelopeIsAFormatError() {
    auto ch = open<QString>();
    QByteArray future = detail::NatsCodec<QString>::encode(QStringLiteral("from the future"));
    future[2] = char(2); // envelope version 2
    publishRaw(future);
    try {
        ch->getBlocking(QDeadlineTimer(5s));
        QFAIL("an item of a newer envelope was read");
    } catch (const NatsError &e) {
        QCOMPARE(e.kind(), NatsError::Kind::Format);
        QVERIFY2(e.message().contains(QStringLiteral("envelope version 2")), e.what());
    }
}

// --- lifetime and misuse -----------------------------------------------------------------------

void tst_NatsChannel::destroyingTheChannelFailsItsWaiters() {
    auto ch = open<QString>(1);
    QCOMPARE(ch->putBlocking(QStringLiteral("kept")), PutResult::Ok);
    QFuture<void> put = ch->put(QStringLiteral("waits for room"));
    QFuture<QString> get;
    std::optional<QString> blocked = QStringLiteral("unset");
    auto other = open<QString>(1);
    QVERIFY(other->getBlocking(QDeadlineTimer(5s))); // room: the waiting put may land now
    QVERIFY(finishes(put));
    auto empty = NatsChannel<QString>::open(m_connection.get(), m_name + QStringLiteral("e"), 1,
                                            fastOptions());
    get = empty->get();
    std::thread t([&] { blocked = empty->getBlocking(); });
    QTRY_COMPARE(empty->pendingGets(), 2);
    empty.reset(); // the waiters fail as with Channel: ChannelClosed, nothing
    t.join();
    QVERIFY(!blocked);
    QVERIFY(finishes(get));
    QVERIFY(failsWithClosed(get));
}

void tst_NatsChannel::destroyingTheConnectionFailsEverything() {
    auto connection = std::make_unique<NatsConnection>(m_server->url());
    connection->connectBlocking();
    auto ch = NatsChannel<QString>::open(connection.get(), m_name, 1, fastOptions());
    QFuture<QString> get = ch->get();
    QFuture<void> joined = ch->join();
    QTRY_COMPARE(ch->pendingGets(), 1);
    connection.reset();
    QVERIFY(finishes(get));
    QVERIFY(finishes(joined));
    QVERIFY_THROWS_EXCEPTION(NatsError, get.waitForFinished());
    try {
        ch->putBlocking(QStringLiteral("x"));
        QFAIL("put on a closed connection");
    } catch (const NatsError &e) {
        QCOMPARE(e.kind(), NatsError::Kind::Connection);
    }
    ch.reset(); // and the channel still goes quietly
}

void tst_NatsChannel::blockingOnTheEngineThreadIsAnError() {
    auto ch = open<QString>();
    QFuture<QString> get = ch->get();
    QTRY_COMPARE(ch->pendingGets(), 1);
    // Attached before anything can finish it (no item yet): no then() race on Qt 6.4.2.
    std::atomic<int> outcome{0};
    QFuture<void> after = get.then([&](const QString &) {
        try {
            ch->getBlocking(QDeadlineTimer(100ms));
            outcome = 1;
        } catch (const NatsError &e) {
            outcome = e.kind() == NatsError::Kind::Usage ? 2 : 3;
        }
    });
    QCOMPARE(ch->putBlocking(QStringLiteral("x")), PutResult::Ok);
    QVERIFY(finishes(after));
    QCOMPARE(outcome.load(), 2);
}

QTEST_MAIN(tst_NatsChannel)
#include "tst_natschannel.moc"
