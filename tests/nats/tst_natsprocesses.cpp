// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// Several producer processes and several consumer processes around one NatsChannel: every item
// put is taken, by exactly one consumer, or more than once only where the repeat says it was
// delivered again; first deliveries come out in the order the puts were accepted; and every
// process sees the channel closed and finished.

#include "natsserver.h"

#include <QtChannel/NatsChannel>

#include <QtCore/QFile>
#include <QtCore/QHash>
#include <QtTest/QTest>

using namespace QtChannel;
using namespace std::chrono_literals;
using namespace NatsTest;

namespace {

struct Taken {
    QByteArray item;
    int deliveryCount; // 0: not known for this style
    quint64 sequence;  // in the stream, the order puts were accepted in; 0: not known
};

QList<Taken> readTaken(const QString &path) {
    QList<Taken> taken;
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return taken;
    for (const QByteArray &line : f.readAll().split('\n')) {
        const QList<QByteArray> fields = line.split(' ');
        if (fields.size() == 3)
            taken.append({fields[0], fields[1].toInt(), fields[2].toULongLong()});
    }
    return taken;
}

QHash<QByteArray, QByteArray> readAcked(const QString &path) {
    QHash<QByteArray, QByteArray> acked; // item -> ok | unknown | failed
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return acked;
    for (const QByteArray &line : f.readAll().split('\n')) {
        const qsizetype space = line.indexOf(' ');
        if (space > 0)
            acked.insert(line.mid(space + 1), line.left(space));
    }
    return acked;
}

} // namespace

class tst_NatsProcesses : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void manyProducersAndConsumers();

private:
    std::unique_ptr<NatsServer> m_server;
    QTemporaryDir m_dir;
};

void tst_NatsProcesses::initTestCase() {
    if (serverProgram().isEmpty())
        QSKIP("nats-server is not installed (scripts/deps.sh nats installs it)");
    m_server = std::make_unique<NatsServer>();
    QString error;
    QVERIFY2(m_server->start(&error), qPrintable(error));
}

void tst_NatsProcesses::manyProducersAndConsumers() {
    const int producers = 2;
    const int perProducer = sanitized() ? 5000 : 50000;
    const QString url = m_server->url().toString();
    const QString name = QStringLiteral("many");
    {
        // The test defines the channel; the peers bind to it.
        NatsConnection connection(m_server->url());
        connection.connectBlocking();
        NatsChannelOptions o;
        o.ackWait = 5s;
        NatsChannel<QByteArray>::open(&connection, name, 2000, o);
    }
    const QStringList common{QStringLiteral("--servers"), url,
                             QStringLiteral("--channel"), name,
                             QStringLiteral("--bind"),    QStringLiteral("--poll-ms"),
                             QStringLiteral("50")};
    const QStringList styles{QStringLiteral("get"), QStringLiteral("foreach"),
                             QStringLiteral("delivery")};
    std::vector<std::unique_ptr<Peer>> consumers;
    for (int c = 0; c < styles.size(); ++c)
        consumers.push_back(std::make_unique<Peer>(
            QStringList{QStringLiteral("consume")} + common +
            QStringList{QStringLiteral("--style"), styles[c], QStringLiteral("--out"),
                        m_dir.filePath(QStringLiteral("taken%1").arg(c))}));
    std::vector<std::unique_ptr<Peer>> producerPeers;
    for (int p = 0; p < producers; ++p)
        producerPeers.push_back(std::make_unique<Peer>(
            QStringList{QStringLiteral("produce")} + common +
            QStringList{QStringLiteral("--prefix"), QStringLiteral("p%1").arg(p),
                        QStringLiteral("--count"), QString::number(perProducer),
                        QStringLiteral("--acked"),
                        m_dir.filePath(QStringLiteral("acked%1").arg(p))}));
    const QDeadlineTimer deadline(sanitized() ? 150s : 90s);
    for (auto &p : producerPeers)
        QVERIFY2(p->wait(deadline) == 0, qPrintable(p->errors()));
    {
        NatsConnection connection(m_server->url());
        connection.connectBlocking();
        QVERIFY(NatsChannel<QByteArray>::bind(&connection, name)->close());
    }
    for (auto &c : consumers) {
        QVERIFY2(c->wait(deadline) == 0, qPrintable(c->errors()));
        QVERIFY2(c->output().contains(QStringLiteral("finished 1")), qPrintable(c->output()));
    }

    QSet<QByteArray> put;
    for (int p = 0; p < producers; ++p) {
        const auto acked = readAcked(m_dir.filePath(QStringLiteral("acked%1").arg(p)));
        QCOMPARE(acked.size(), perProducer);
        for (auto it = acked.begin(); it != acked.end(); ++it) {
            QCOMPARE(it.value(), QByteArray("ok"));
            put.insert(it.key());
        }
    }
    QHash<QByteArray, int> times;
    QHash<QByteArray, bool> flagged;
    qint64 total = 0;
    for (int c = 0; c < styles.size(); ++c) {
        const QList<Taken> taken = readTaken(m_dir.filePath(QStringLiteral("taken%1").arg(c)));
        qInfo() << styles[c] << "consumer took" << taken.size();
        quint64 lastSequence = 0; // first deliveries come in the order of acceptance
        for (const Taken &t : taken) {
            ++times[t.item];
            flagged[t.item] = flagged.value(t.item) || t.deliveryCount > 1;
            if (t.deliveryCount == 1 && t.sequence) {
                QVERIFY2(t.sequence > lastSequence,
                         qPrintable(QStringLiteral("%1 delivered first after a later item")
                                        .arg(QString::fromUtf8(t.item))));
                lastSequence = t.sequence;
            }
        }
        total += taken.size();
    }
    // The set out equals the set in: nothing lost, nothing invented.
    QCOMPARE(qsizetype(times.size()), put.size());
    for (const QByteArray &item : put)
        QVERIFY2(times.contains(item), item.constData());
    // Duplicates only where a delivery says it was delivered again.
    for (auto it = times.begin(); it != times.end(); ++it)
        if (it.value() > 1)
            QVERIFY2(flagged.value(it.key()), it.key().constData());
    qInfo() << "items put" << put.size() << "taken" << total;
}

QTEST_MAIN(tst_NatsProcesses)
#include "tst_natsprocesses.moc"
