// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// qtchannel-demo's distributed mode: one process per role around one NatsChannel<QByteArray>
// named --channel, on the NATS server --nats. scripts/demo-nats.sh runs a whole system.
//
//   --role producer  puts --items unique items "K:seq" (K = --producer-id), waiting for room
//                    while the channel is full, and writes each item the server accepted to
//                    OUT/produced-K.txt
//   --role consumer  takes items until the channel is closed and drained (finished), spending
//                    --work ms on each, and writes each to OUT/consumed-K.txt
//   --role close     closes the channel for every process (run it once the producers are done)
//   --role view      shows the channel's state and the processes' progress; headless, runs
//                    until finished and writes OUT/screenshot.png and OUT/figures.json
//
// Every role opens the channel with the same --capacity, so whichever starts first creates it.
// Producers and consumers also report their counts and set digests (natsview.h) on a second
// channel, "<channel>-progress", which the view takes: that is how a view on another machine
// knows that produced = consumed.
//
// Exit codes, as in the in-process demo: 0 done, 1 failed (an item lost, a put refused, the
// server unreachable), 2 bad options or (view) not finished within --timeout, 3 QML not loaded.

#include "natsroles.h"
#include "natsview.h"

#include <QtCore/QCommandLineParser>
#include <QtCore/QCoreApplication>
#include <QtCore/QDir>
#include <QtCore/QElapsedTimer>
#include <QtCore/QFile>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QRegularExpression>
#include <QtCore/QSysInfo>
#include <QtCore/QTimer>
#include <QtGui/QGuiApplication>
#include <QtGui/QImage>
#include <QtQml/QQmlApplicationEngine>
#include <QtQuick/QQuickWindow>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <stdexcept>
#include <thread>

using namespace QtChannel;
using natsdemo::Report;

namespace {

constexpr qint64 ReportEveryMs = 100;
constexpr qsizetype PutsInFlight = 256;

struct Settings {
    QString role;
    QString url;
    QString channel;
    qsizetype capacity = 32;
    int items = 1000;
    int producerId = 1;
    int consumerId = 1;
    double workMs = 0;
    QString out;
    bool headless = false;
    int producers = 0; // view: final reports to wait for
    int consumers = 0;
    double timeout = 120;
};

void say(const QString &line) {
    std::printf("qtchannel-demo: %s\n", qPrintable(line));
    std::fflush(stdout);
}

int fail(const QString &line, int code = 1) {
    std::fprintf(stderr, "qtchannel-demo: %s\n", qPrintable(line));
    return code;
}

bool hasDisplay() {
    return !qEnvironmentVariableIsEmpty("DISPLAY") ||
           !qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY");
}

// The value of --role, read before the application object exists: only the view needs a GUI.
QByteArray roleArgument(int argc, char **argv) {
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--role") == 0 && i + 1 < argc)
            return argv[i + 1];
        if (std::strncmp(argv[i], "--role=", 7) == 0)
            return argv[i] + 7;
    }
    return {};
}

bool parseCapacity(const QString &text, qsizetype *capacity) {
    if (text == QLatin1String("small"))
        *capacity = 4;
    else if (text == QLatin1String("large"))
        *capacity = 32;
    else if (text == QLatin1String("unbounded"))
        *capacity = Unbounded;
    else {
        bool ok = false;
        *capacity = text.toLongLong(&ok);
        return ok && *capacity >= 1; // no rendezvous across processes (docs/nats.md)
    }
    return true;
}

std::unique_ptr<NatsConnection> connectTo(const Settings &s, const QString &who) {
    NatsConnectionOptions options;
    options.servers = {QUrl(s.url)};
    options.name = QStringLiteral("qtchannel-demo %1").arg(who);
    auto connection = std::make_unique<NatsConnection>(options);
    connection->connectBlocking();
    return connection;
}

// A record of items, one per line, for the script's set comparison.
class Record {
public:
    explicit Record(const QString &path)
        : m_file(path) {
        if (!m_file.open(QIODevice::WriteOnly | QIODevice::Truncate | QIODevice::Text))
            throw std::runtime_error("cannot write " + path.toStdString());
    }
    void add(const QByteArray &item) { m_file.write(item + '\n'); }
    bool close() {
        const bool ok = m_file.flush() && m_file.error() == QFileDevice::NoError;
        m_file.close();
        return ok;
    }

private:
    QFile m_file;
};

// Sends a process's report on the progress channel, at most every ReportEveryMs, and its last
// one for sure.
class Reporter {
public:
    Reporter(NatsChannel<Report> *channel, Report::Role role, int id, qint64 total)
        : m_channel(channel) {
        m_report.role = role;
        m_report.id = id;
        m_report.total = total;
        m_report.host = QSysInfo::machineHostName();
        m_report.pid = QCoreApplication::applicationPid();
        m_clock.start();
        m_channel->put(m_report); // "started": the view shows the process at once
    }
    void add(const QByteArray &item) {
        ++m_report.count;
        m_report.digest += natsdemo::itemHash(item);
        if (m_clock.elapsed() >= ReportEveryMs) {
            m_clock.restart();
            m_channel->put(m_report); // nobody waits for a progress report
        }
    }
    // The final report, waited for: the view counts on it.
    void finish() {
        m_report.done = true;
        m_channel->put(m_report).waitForFinished();
    }
    const Report &report() const { return m_report; }

private:
    NatsChannel<Report> *m_channel;
    Report m_report;
    QElapsedTimer m_clock;
};

QString digestText(quint64 digest) {
    return QStringLiteral("%1").arg(digest, 16, 16, QLatin1Char('0'));
}

int produce(const Settings &s) {
    const QString who = QStringLiteral("producer %1").arg(s.producerId);
    auto connection = connectTo(s, who);
    auto items = NatsChannel<QByteArray>::open(connection.get(), s.channel, s.capacity);
    auto progress =
        NatsChannel<Report>::open(connection.get(), natsdemo::progressName(s.channel), Unbounded);
    Record record(QDir(s.out).filePath(QStringLiteral("produced-%1.txt").arg(s.producerId)));
    Reporter reporter(progress.get(), Report::Producer, s.producerId, s.items);

    // Up to PutsInFlight puts on the wire; a put's future finishes once the server stored the
    // item, after waiting for room while the channel is full (that is the backpressure).
    QString error;
    std::deque<std::pair<QFuture<void>, QByteArray>> pending;
    const auto settle = [&] {
        auto [future, item] = std::move(pending.front());
        pending.pop_front();
        try {
            future.waitForFinished();
            record.add(item);
            reporter.add(item);
        } catch (const ChannelClosed &) {
            if (error.isEmpty())
                error = QStringLiteral("the channel %1 was closed before all items were put; "
                                       "close it only after the producers (or pick a new "
                                       "--channel name: a finished channel stays finished)")
                            .arg(s.channel);
        } catch (const NatsError &e) {
            if (error.isEmpty())
                error = e.message();
        }
    };
    const QByteArray prefix = QByteArray::number(s.producerId) + ':';
    for (int i = 0; i < s.items && error.isEmpty(); ++i) {
        pending.emplace_back(items->put(prefix + QByteArray::number(i)),
                             prefix + QByteArray::number(i));
        while (!pending.empty() &&
               (pending.size() > PutsInFlight || pending.front().first.isFinished()))
            settle();
    }
    while (!pending.empty())
        settle();
    const bool written = record.close();
    reporter.finish();
    const Report &r = reporter.report();
    say(QStringLiteral("%1: put %2 of %3 items into %4 (digest %5)")
            .arg(who)
            .arg(r.count)
            .arg(s.items)
            .arg(s.channel, digestText(r.digest)));
    if (!error.isEmpty())
        return fail(QStringLiteral("%1: %2").arg(who, error));
    return written ? 0 : fail(QStringLiteral("%1: could not write its record").arg(who));
}

int consume(const Settings &s) {
    const QString who = QStringLiteral("consumer %1").arg(s.consumerId);
    auto connection = connectTo(s, who);
    auto items = NatsChannel<QByteArray>::open(connection.get(), s.channel, s.capacity);
    auto progress =
        NatsChannel<Report>::open(connection.get(), natsdemo::progressName(s.channel), Unbounded);
    Record record(QDir(s.out).filePath(QStringLiteral("consumed-%1.txt").arg(s.consumerId)));
    Reporter reporter(progress.get(), Report::Consumer, s.consumerId, 0);

    // getBlocking() returns an item once the server confirmed its acknowledgement (taken once),
    // and nothing once the channel is closed and drained.
    const auto work = std::chrono::microseconds(qint64(s.workMs * 1000));
    while (std::optional<QByteArray> item = items->getBlocking()) {
        record.add(*item);
        reporter.add(*item);
        if (work.count() > 0)
            std::this_thread::sleep_for(work); // the consumer's pretend work on the item
    }
    const bool written = record.close();
    const bool finished = items->isFinished();
    reporter.finish();
    const Report &r = reporter.report();
    say(QStringLiteral("%1: took %2 items from %3, finished: %4 (digest %5)")
            .arg(who)
            .arg(r.count)
            .arg(s.channel, finished ? QStringLiteral("yes") : QStringLiteral("no"),
                 digestText(r.digest)));
    if (!written)
        return fail(QStringLiteral("%1: could not write its record").arg(who));
    return finished ? 0 : 1;
}

int closeChannel(const Settings &s) {
    auto connection = connectTo(s, QStringLiteral("close"));
    auto items = NatsChannel<QByteArray>::open(connection.get(), s.channel, s.capacity);
    // Exactly one close() in the whole system returns true.
    if (items->close())
        say(QStringLiteral("closed the channel %1 (%2 items in it): puts fail from now on, "
                           "the consumers drain what is left")
                .arg(s.channel)
                .arg(items->size()));
    else
        say(QStringLiteral("the channel %1 was closed already").arg(s.channel));
    return 0;
}

// The view without a screen: runs until the channel is finished and every report is in, then
// saves the window and the figures.
class HeadlessView : public QObject {
public:
    HeadlessView(NatsView *view, QQuickWindow *window, const Settings &s)
        : m_view(view)
        , m_window(window)
        , m_dir(s.out) {
        connect(view, &NatsView::changed, this, [this] {
            if (m_view->isComplete() && !m_ending) {
                m_ending = true;
                // A few frames so that the window shows the finished state.
                QTimer::singleShot(300, this, [this] { done(); });
            }
        });
        connect(view, &NatsView::failed, this, [](const QString &message) {
            fail(QStringLiteral("view: %1").arg(message));
            QCoreApplication::exit(1);
        });
        QTimer::singleShot(int(s.timeout * 1000), this, [this, s] {
            fail(QStringLiteral("view: the channel %1 was not finished, with every process's "
                                "last report in, within %2 s (closed: %3, %4 produced, %5 "
                                "consumed)")
                     .arg(s.channel)
                     .arg(s.timeout)
                     .arg(m_view->isClosed() ? QStringLiteral("yes") : QStringLiteral("no"))
                     .arg(m_view->produced())
                     .arg(m_view->consumed()));
            save(QStringLiteral("screenshot.png"));
            QCoreApplication::exit(2);
        });
    }

private:
    QString save(const QString &name) {
        const QString path = QDir(m_dir).absoluteFilePath(name);
        const QImage image = m_window->grabWindow();
        if (image.isNull() || !image.save(path)) {
            fail(QStringLiteral("could not write %1").arg(path));
            return QString();
        }
        return path;
    }

    static QJsonArray processes(const QVariantList &list) {
        QJsonArray out;
        for (const QVariant &p : list)
            out.append(QJsonObject::fromVariantMap(p.toMap()));
        return out;
    }

    void done() {
        const QString screenshot = save(QStringLiteral("screenshot.png"));
        const bool intact = m_view->nothingLost();
        const QJsonObject figures{
            {QStringLiteral("url"), m_view->url()},
            {QStringLiteral("channel"), m_view->channelName()},
            {QStringLiteral("capacity"), m_view->capacity()},
            {QStringLiteral("produced"), m_view->produced()},
            {QStringLiteral("consumed"), m_view->consumed()},
            {QStringLiteral("producedDigest"), digestText(m_view->producedDigest())},
            {QStringLiteral("consumedDigest"), digestText(m_view->consumedDigest())},
            {QStringLiteral("closed"), m_view->isClosed()},
            {QStringLiteral("finished"), m_view->isFinished()},
            {QStringLiteral("nothingLost"), intact},
            {QStringLiteral("peakSize"), m_view->peakSize()},
            {QStringLiteral("producers"), processes(m_view->producers())},
            {QStringLiteral("consumers"), processes(m_view->consumers())},
            {QStringLiteral("elapsedSeconds"), m_view->elapsedSeconds()},
            {QStringLiteral("screenshot"), screenshot},
        };
        const QString json = QDir(m_dir).absoluteFilePath(QStringLiteral("figures.json"));
        QFile file(json);
        const bool written = file.open(QIODevice::WriteOnly | QIODevice::Truncate) &&
                             file.write(QJsonDocument(figures).toJson()) > 0;
        file.close();
        say(QStringLiteral("view: %1 produced, %2 consumed by %3 processes, finished: %4, %5")
                .arg(m_view->produced())
                .arg(m_view->consumed())
                .arg(m_view->producers().size() + m_view->consumers().size())
                .arg(m_view->isFinished() ? QStringLiteral("yes") : QStringLiteral("no"),
                     intact ? QStringLiteral("nothing lost") : QStringLiteral("ITEMS LOST")));
        say(QStringLiteral("view: screenshot: %1").arg(screenshot));
        say(QStringLiteral("view: figures:    %1").arg(json));
        QCoreApplication::exit(intact && written && !screenshot.isEmpty() ? 0 : 1);
    }

    NatsView *m_view;
    QQuickWindow *m_window;
    QString m_dir;
    bool m_ending = false;
};

int view(const Settings &s) {
    NatsView model(s.url, s.channel, s.capacity, s.producers, s.consumers);
    QString error;
    if (!model.start(&error))
        return fail(QStringLiteral("view: %1").arg(error));

    QQmlApplicationEngine engine;
    engine.setInitialProperties({{QStringLiteral("view"), QVariant::fromValue(&model)},
                                 {QStringLiteral("headless"), s.headless}});
    engine.load(QUrl(QStringLiteral("qrc:/QtChannelDemo/NatsView.qml")));
    if (engine.rootObjects().isEmpty())
        return 3;
    auto *window = qobject_cast<QQuickWindow *>(engine.rootObjects().constFirst());
    if (!window)
        return 3;
    std::unique_ptr<HeadlessView> headless;
    if (s.headless)
        headless = std::make_unique<HeadlessView>(&model, window, s);
    return QCoreApplication::exec();
}

} // namespace

namespace natsdemo {

int run(int &argc, char **argv) {
    const QByteArray role = roleArgument(argc, argv);
    bool headless = false;
    std::unique_ptr<QCoreApplication> app;
    if (role == "view") {
        // Decided before the application exists: the platform plugin is chosen then.
        headless = !hasDisplay();
        for (int i = 1; i < argc; ++i)
            headless = headless || std::strcmp(argv[i], "--headless") == 0;
        if (headless) {
            qputenv("QT_QPA_PLATFORM", "offscreen");
            QQuickWindow::setGraphicsApi(QSGRendererInterface::Software);
        }
        app = std::make_unique<QGuiApplication>(argc, argv);
    } else {
        app = std::make_unique<QCoreApplication>(argc, argv);
    }
    QCoreApplication::setApplicationName(QStringLiteral("qtchannel-demo"));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "qtchannel-demo's distributed mode: producers, consumers and a view as separate "
        "processes (on any machines) around one NatsChannel on a NATS JetStream server. "
        "scripts/demo-nats.sh runs a whole system; docs/nats.md, \"The demo across "
        "processes\", explains it."));
    parser.addHelpOption();
    const QCommandLineOption natsOption(
        QStringLiteral("nats"), QStringLiteral("The NATS server, e.g. nats://127.0.0.1:4222."),
        QStringLiteral("url"));
    const QCommandLineOption roleOption(
        QStringLiteral("role"),
        QStringLiteral("producer, consumer, close (closes the channel: run it once the "
                       "producers are done) or view."),
        QStringLiteral("role"));
    const QCommandLineOption channelOption(
        QStringLiteral("channel"),
        QStringLiteral("The channel's name: letters, digits, '-' and '_', at most 55."),
        QStringLiteral("name"), QStringLiteral("qtchannel-demo"));
    const QCommandLineOption capacityOption(
        QStringLiteral("capacity"),
        QStringLiteral("The channel's bound, the same for every role: a number >= 1, small (4), "
                       "large (32) or unbounded."),
        QStringLiteral("c"), QStringLiteral("32"));
    const QCommandLineOption itemsOption(QStringLiteral("items"),
                                         QStringLiteral("Producer: items to put."),
                                         QStringLiteral("n"), QStringLiteral("1000"));
    const QCommandLineOption producerIdOption(
        QStringLiteral("producer-id"),
        QStringLiteral("Producer: its number K, unique in the system; its items are \"K:seq\"."),
        QStringLiteral("k"), QStringLiteral("1"));
    const QCommandLineOption consumerIdOption(
        QStringLiteral("consumer-id"), QStringLiteral("Consumer: its number, for its record."),
        QStringLiteral("k"), QStringLiteral("1"));
    const QCommandLineOption workOption(QStringLiteral("work"),
                                        QStringLiteral("Consumer: milliseconds of work per item."),
                                        QStringLiteral("ms"), QStringLiteral("0"));
    const QCommandLineOption outOption(
        QStringLiteral("out"),
        QStringLiteral("Directory for the records (produced-K.txt, consumed-K.txt) and the "
                       "view's screenshot.png and figures.json (default: qtchannel-demo-out)."),
        QStringLiteral("dir"), QStringLiteral("qtchannel-demo-out"));
    const QCommandLineOption headlessOption(
        QStringLiteral("headless"),
        QStringLiteral("View: offscreen, until the channel is finished; then saves the "
                       "screenshot and the figures."));
    const QCommandLineOption producersOption(
        QStringLiteral("producers"),
        QStringLiteral("View: producer processes whose last report to wait for."),
        QStringLiteral("n"), QStringLiteral("0"));
    const QCommandLineOption consumersOption(
        QStringLiteral("consumers"),
        QStringLiteral("View: consumer processes whose last report to wait for."),
        QStringLiteral("n"), QStringLiteral("0"));
    const QCommandLineOption timeoutOption(
        QStringLiteral("timeout"),
        QStringLiteral(
            "Headless view: seconds to wait for the finish before failing (at most 86400)."),
        QStringLiteral("s"), QStringLiteral("120"));
    parser.addOptions({natsOption, roleOption, channelOption, capacityOption, itemsOption,
                       producerIdOption, consumerIdOption, workOption, outOption, headlessOption,
                       producersOption, consumersOption, timeoutOption});
    // parse(), not process(): an unknown option is a bad option (2), as every other here.
    if (!parser.parse(QCoreApplication::arguments()))
        return fail(QStringLiteral("%1 (see --nats URL --help)").arg(parser.errorText()), 2);
    if (parser.isSet(QStringLiteral("help")))
        parser.showHelp(0);

    Settings s;
    s.role = parser.value(roleOption);
    s.url = parser.value(natsOption);
    s.channel = parser.value(channelOption);
    s.out = parser.value(outOption);
    s.headless = headless;
    const QStringList roles{QStringLiteral("producer"), QStringLiteral("consumer"),
                            QStringLiteral("close"), QStringLiteral("view")};
    if (!roles.contains(s.role))
        return fail(QStringLiteral("--role must be producer, consumer, close or view (see --help)"),
                    2);
    const QUrl url(s.url, QUrl::StrictMode);
    if (!url.isValid() || url.host().isEmpty() ||
        !QStringList{QStringLiteral("nats"), QStringLiteral("tls")}.contains(url.scheme()))
        return fail(QStringLiteral("--nats needs a server URL such as nats://127.0.0.1:4222, "
                                   "not \"%1\"")
                        .arg(s.url),
                    2);
    if (!QRegularExpression(QStringLiteral("^[A-Za-z0-9_-]{1,55}$")).match(s.channel).hasMatch())
        return fail(QStringLiteral("--channel: letters, digits, '-' and '_', at most 55, not "
                                   "\"%1\"")
                        .arg(s.channel),
                    2);
    if (!parseCapacity(parser.value(capacityOption), &s.capacity))
        return fail(QStringLiteral("--capacity: a number >= 1, small, large or unbounded (there "
                                   "is no rendezvous across processes), not \"%1\"")
                        .arg(parser.value(capacityOption)),
                    2);
    bool okItems = false, okProducer = false, okConsumer = false, okWork = false,
         okProducers = false, okConsumers = false, okTimeout = false;
    s.items = parser.value(itemsOption).toInt(&okItems);
    s.producerId = parser.value(producerIdOption).toInt(&okProducer);
    s.consumerId = parser.value(consumerIdOption).toInt(&okConsumer);
    s.workMs = parser.value(workOption).toDouble(&okWork);
    s.producers = parser.value(producersOption).toInt(&okProducers);
    s.consumers = parser.value(consumersOption).toInt(&okConsumers);
    s.timeout = parser.value(timeoutOption).toDouble(&okTimeout);
    if (!(okItems && s.items >= 0 && okProducer && s.producerId >= 0 && okConsumer &&
          s.consumerId >= 0 && okWork && s.workMs >= 0 && okProducers && s.producers >= 0 &&
          okConsumers && s.consumers >= 0 && okTimeout && s.timeout > 0 && s.timeout <= 86400))
        return fail(QStringLiteral("invalid option value; see --nats URL --help"), 2);
    if (!QDir().mkpath(s.out))
        return fail(QStringLiteral("cannot create %1").arg(s.out), 2);

    try {
        if (s.role == QLatin1String("producer"))
            return produce(s);
        if (s.role == QLatin1String("consumer"))
            return consume(s);
        if (s.role == QLatin1String("close"))
            return closeChannel(s);
        return view(s);
    } catch (const NatsError &e) {
        return fail(QStringLiteral("%1: %2 (server %3, channel %4)")
                        .arg(s.role, e.message(), s.url, s.channel));
    } catch (const std::exception &e) {
        return fail(QStringLiteral("%1: %2").arg(s.role, QString::fromUtf8(e.what())));
    }
}

} // namespace natsdemo
