// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// Runs qtchannel-demo's headless scenario (priority items, start, run, close or fail, wait for
// finished) with several producer/consumer/capacity/policy settings and checks what it leaves
// behind: figures.json says produced = consumed + dropped, finished, priority items first and
// the close reason seen by every consumer; screenshot.png is the whole window and not blank.

#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QProcess>
#include <QtCore/QSet>
#include <QtGui/QImage>
#include <QtTest/QTest>

class tst_Demo : public QObject {
    Q_OBJECT

private:
    static QString demo() { return qEnvironmentVariable("QTCHANNEL_DEMO"); }
    static QString outRoot() { return qEnvironmentVariable("QTCHANNEL_DEMO_OUT"); }

    // Runs the demo; returns its exit code, or -1 if it did not run to the end.
    static int run(const QStringList &args, QByteArray *output) {
        QProcess process;
        process.setProcessChannelMode(QProcess::MergedChannels);
        process.start(demo(), args);
        if (!process.waitForFinished(120000)) {
            process.kill();
            process.waitForFinished();
            return -1;
        }
        *output = process.readAll();
        return process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
    }

private Q_SLOTS:
    void initTestCase() {
        QVERIFY2(QFile::exists(demo()), "QTCHANNEL_DEMO must name the qtchannel-demo binary");
        QVERIFY(!outRoot().isEmpty());
    }

    // --- the scenario

    void headless_data() {
        QTest::addColumn<QString>("producers");
        QTest::addColumn<QString>("consumers");
        QTest::addColumn<QString>("capacity");
        QTest::addColumn<QString>("rate");
        QTest::addColumn<QString>("work");
        QTest::addColumn<QString>("overflow");
        QTest::addColumn<QString>("priority");
        QTest::addColumn<QString>("fail");
        const QString wait = QStringLiteral("wait");
        const QString none;
        QTest::newRow("1x1 rendezvous") << "1"
                                        << "1"
                                        << "rendezvous"
                                        << "300"
                                        << "1" << wait << "4" << none;
        QTest::newRow("4x3 large, backpressure") << "4"
                                                 << "3"
                                                 << "large"
                                                 << "40"
                                                 << "60" << wait << "12" << none;
        QTest::newRow("8x8 small, fastest") << "8"
                                            << "8"
                                            << "small"
                                            << "2000"
                                            << "0" << wait << "16" << none;
        QTest::newRow("2x8 unbounded") << "2"
                                       << "8"
                                       << "unbounded"
                                       << "500"
                                       << "5" << wait << "8" << none;
        // Both lanes full from the start: a single consumer must empty the priority lane first.
        QTest::newRow("4x1 priority first") << "4"
                                            << "1"
                                            << "large"
                                            << "400"
                                            << "15" << wait << "16" << none;
        // Producers far faster than the consumers: the policy drops, nothing waits.
        QTest::newRow("4x2 small, drop oldest")
            << "4"
            << "2"
            << "small"
            << "400"
            << "20" << QStringLiteral("drop-oldest") << "12" << none;
        QTest::newRow("4x2 conflated, drop newest")
            << "4"
            << "2"
            << "1"
            << "400"
            << "20" << QStringLiteral("drop-newest") << "12" << none;
        // The fail button: closed with a reason, which every consumer reads at the end.
        QTest::newRow("4x3 large, fail")
            << "4"
            << "3"
            << "large"
            << "40"
            << "60" << wait << "12" << QStringLiteral("disk full on /data");
    }
    void headless() {
        QFETCH(QString, producers);
        QFETCH(QString, consumers);
        QFETCH(QString, capacity);
        QFETCH(QString, rate);
        QFETCH(QString, work);
        QFETCH(QString, overflow);
        QFETCH(QString, priority);
        QFETCH(QString, fail);
        const QString dir =
            QDir(outRoot()).absoluteFilePath(QString::fromLatin1(QTest::currentDataTag())
                                                 .replace(QLatin1Char(' '), QLatin1Char('_'))
                                                 .remove(QLatin1Char(',')));
        QDir(dir).removeRecursively();

        QStringList args{QStringLiteral("--headless"),
                         QStringLiteral("--out"),
                         dir,
                         QStringLiteral("--producers"),
                         producers,
                         QStringLiteral("--consumers"),
                         consumers,
                         QStringLiteral("--capacity"),
                         capacity,
                         QStringLiteral("--rate"),
                         rate,
                         QStringLiteral("--work"),
                         work,
                         QStringLiteral("--overflow"),
                         overflow,
                         QStringLiteral("--priority"),
                         priority,
                         QStringLiteral("--seconds"),
                         QStringLiteral("1")};
        if (!fail.isEmpty())
            args << QStringLiteral("--fail") << fail;
        QByteArray output;
        const int code = run(args, &output);
        QVERIFY2(code == 0, output.constData());

        // It says where its files went.
        const QString screenshot = QDir(dir).absoluteFilePath(QStringLiteral("screenshot.png"));
        const QString figuresPath = QDir(dir).absoluteFilePath(QStringLiteral("figures.json"));
        QVERIFY2(output.contains(screenshot.toUtf8()), output.constData());
        QVERIFY2(output.contains(figuresPath.toUtf8()), output.constData());

        // The figures: everything produced was consumed exactly once or dropped by the
        // policy, and it finished.
        QFile file(figuresPath);
        QVERIFY(file.open(QIODevice::ReadOnly));
        QJsonParseError error;
        const QJsonObject figures = QJsonDocument::fromJson(file.readAll(), &error).object();
        QCOMPARE(error.error, QJsonParseError::NoError);
        const auto figure = [&figures](const char *name) {
            return figures.value(QLatin1String(name)).toInteger(-1000);
        };
        const qint64 produced = figure("produced");
        const qint64 consumed = figure("consumed");
        const qint64 dropped = figure("dropped");
        QVERIFY2(produced > 0, "the scenario produced nothing");
        QCOMPARE(consumed + dropped, produced);
        QCOMPARE(figures.value(QStringLiteral("finished")).toBool(), true);
        QCOMPARE(figures.value(QStringLiteral("nothingLost")).toBool(), true);
        QCOMPARE(figure("consumedChecksum") + figure("droppedChecksum"),
                 figure("producedChecksum"));
        QCOMPARE(figures.value(QStringLiteral("producers")).toInt(), producers.toInt());
        QCOMPARE(figures.value(QStringLiteral("consumers")).toInt(), consumers.toInt());

        // The policy: what the undelivered handler was told is what the channel counted.
        QCOMPARE(figure("channelDropped"), dropped);
        if (overflow == QLatin1String("wait"))
            QCOMPARE(dropped, 0);
        else
            QVERIFY2(dropped > 0, "producers 20x faster than the consumers, and nothing dropped");

        // The priority lane: every priority item taken, and never a normal item while one
        // that was already waiting in the priority lane was left behind.
        const qint64 priorityProduced = figure("priorityProduced");
        QVERIFY2(priorityProduced >= priority.toInt(),
                 qPrintable(QString::number(priorityProduced)));
        QCOMPARE(figure("priorityConsumed"), priorityProduced);
        QCOMPARE(figure("priorityItemsTaken"), priorityProduced);
        QCOMPARE(figure("priorityOvertaken"), 0);

        // The QML Channels' own counters agree with the threads' counts.
        QCOMPARE(figure("channelItemsPut"), produced - priorityProduced);
        QCOMPARE(figure("channelItemsTaken"), consumed - priorityProduced);

        // The close reason reached every consumer (empty for a plain close).
        QCOMPARE(figures.value(QStringLiteral("closeReason")).toString(), fail);
        QCOMPARE(figures.value(QStringLiteral("consumersThatSawTheReason")).toInt(),
                 consumers.toInt());

        // The screenshot: the whole window, and not blank.
        const QImage image(screenshot);
        QVERIFY2(!image.isNull(), qPrintable(screenshot));
        QVERIFY2(image.width() >= 1024 && image.height() >= 640,
                 qPrintable(QStringLiteral("%1x%2").arg(image.width()).arg(image.height())));
        QSet<QRgb> colours;
        int differing = 0, samples = 0;
        const QRgb background = image.pixel(2, 2);
        for (int y = 0; y < image.height(); y += 4) {
            for (int x = 0; x < image.width(); x += 4) {
                const QRgb p = image.pixel(x, y);
                colours.insert(p);
                differing += p != background;
                ++samples;
            }
        }
        QVERIFY2(colours.size() > 50, qPrintable(QStringLiteral("%1 colours").arg(colours.size())));
        QVERIFY2(differing > samples / 10,
                 qPrintable(QStringLiteral("%1 of %2 pixels drawn").arg(differing).arg(samples)));
    }

    // --- bad input

    void badArguments_data() {
        QTest::addColumn<QStringList>("args");
        QTest::newRow("9 producers")
            << QStringList{QStringLiteral("--producers"), QStringLiteral("9")};
        QTest::newRow("0 consumers")
            << QStringList{QStringLiteral("--consumers"), QStringLiteral("0")};
        QTest::newRow("capacity -2")
            << QStringList{QStringLiteral("--capacity"), QStringLiteral("-2")};
        QTest::newRow("capacity word")
            << QStringList{QStringLiteral("--capacity"), QStringLiteral("huge")};
        QTest::newRow("rate 0") << QStringList{QStringLiteral("--rate"), QStringLiteral("0")};
        QTest::newRow("seconds x") << QStringList{QStringLiteral("--seconds"), QStringLiteral("x")};
        QTest::newRow("overflow word")
            << QStringList{QStringLiteral("--overflow"), QStringLiteral("drop-some")};
        QTest::newRow("drop oldest unbounded")
            << QStringList{QStringLiteral("--overflow"), QStringLiteral("drop-oldest"),
                           QStringLiteral("--capacity"), QStringLiteral("unbounded")};
        QTest::newRow("drop newest rendezvous")
            << QStringList{QStringLiteral("--overflow"), QStringLiteral("drop-newest"),
                           QStringLiteral("--capacity"), QStringLiteral("rendezvous")};
        QTest::newRow("priority 17")
            << QStringList{QStringLiteral("--priority"), QStringLiteral("17")};
        QTest::newRow("empty fail reason") << QStringList{QStringLiteral("--fail"), QString()};
    }
    void badArguments() {
        QFETCH(QStringList, args);
        QByteArray output;
        const int code = run(QStringList{QStringLiteral("--headless"), QStringLiteral("--out"),
                                         QDir(outRoot()).absoluteFilePath(QStringLiteral("bad"))} +
                                 args,
                             &output);
        QCOMPARE(code, 2);
        QVERIFY2(output.contains("invalid option value"), output.constData());
    }

    // The distributed mode's bad command lines (natsroles.cpp); none reaches a server. A demo
    // built without QtChannel::Nats must say so for every --nats.
    void natsArguments_data() {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("message");
        const QString url = QStringLiteral("nats://127.0.0.1:1");
        const auto nats = [&](const QStringList &rest) {
            return QStringList{QStringLiteral("--nats"), url} + rest;
        };
        const QString role = QStringLiteral("--role");
        const QString producer = QStringLiteral("producer");
#ifdef QTCHANNEL_DEMO_NATS
        const auto expect = [](const char *message) { return QString::fromLatin1(message); };
#else
        const auto expect = [](const char *) {
            return QStringLiteral("built without NATS support");
        };
#endif
        QTest::newRow("no role") << nats({}) << expect("--role must be producer, consumer");
        QTest::newRow("role word")
            << nats({role, QStringLiteral("boss")}) << expect("--role must be producer, consumer");
        QTest::newRow("url word") << QStringList{QStringLiteral("--nats"), QStringLiteral("x"),
                                                 role, producer}
                                  << expect("--nats needs a server URL");
        QTest::newRow("url http") << QStringList{QStringLiteral("--nats"),
                                                 QStringLiteral("http://127.0.0.1:1"), role,
                                                 producer}
                                  << expect("--nats needs a server URL");
        QTest::newRow("capacity 0")
            << nats({role, producer, QStringLiteral("--capacity"), QStringLiteral("0")})
            << expect("no rendezvous across processes");
        QTest::newRow("channel dot")
            << nats({role, producer, QStringLiteral("--channel"), QStringLiteral("a.b")})
            << expect("--channel: letters, digits");
        QTest::newRow("channel too long")
            << nats({role, producer, QStringLiteral("--channel"), QString(56, QLatin1Char('c'))})
            << expect("--channel: letters, digits");
        QTest::newRow("items -1") << nats({role, producer, QStringLiteral("--items"),
                                           QStringLiteral("-1")})
                                  << expect("invalid option value");
        QTest::newRow("work x") << nats({role, QStringLiteral("consumer"), QStringLiteral("--work"),
                                         QStringLiteral("x")})
                                << expect("invalid option value");
        QTest::newRow("timeout inf") << nats({role, QStringLiteral("view"),
                                              QStringLiteral("--timeout"), QStringLiteral("inf")})
                                     << expect("invalid option value");
        QTest::newRow("in-process option")
            << nats({role, producer, QStringLiteral("--rate"), QStringLiteral("5")})
            << expect("Unknown option 'rate'");
        QTest::newRow("role without nats")
            << QStringList{role, producer} << QStringLiteral("--role needs --nats URL");
    }
    void natsArguments() {
        QFETCH(QStringList, args);
        QFETCH(QString, message);
        QByteArray output;
        const int code = run(QStringList{QStringLiteral("--out"),
                                         QDir(outRoot()).absoluteFilePath(QStringLiteral("bad"))} +
                                 args,
                             &output);
        QCOMPARE(code, 2);
        QVERIFY2(output.contains(message.toUtf8()), output.constData());
    }
};

QTEST_GUILESS_MAIN(tst_Demo)

#include "tst_demo.moc"
