// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// qtchannel-demo: producers → a QtChannel → consumers, on real threads, on screen.
//
//   qtchannel-demo                      a window (headless when there is no display)
//   qtchannel-demo --headless --out DIR a scripted run: priority items, start, run, close (or
//                                       fail with --fail REASON), wait for finished;
//                                       writes DIR/screenshot.png and DIR/figures.json and
//                                       exits non-zero if an item was lost
//   qtchannel-demo --nats URL --role producer|consumer|close|view ...
//                                       one part of the same demo in a process of its own,
//                                       around a NatsChannel (natsroles.cpp;
//                                       scripts/demo-nats.sh runs a whole system)

#include "pipeline.h"
#ifdef QTCHANNEL_DEMO_NATS
#include "natsroles.h"
#endif

#include <QtCore/QCommandLineParser>
#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QTimer>
#include <QtGui/QGuiApplication>
#include <QtGui/QImage>
#include <QtQml/QQmlApplicationEngine>
#include <QtQuick/QQuickWindow>

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace {

bool hasDisplay() {
    return !qEnvironmentVariableIsEmpty("DISPLAY") ||
           !qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY");
}

// --nats URL: the distributed mode, when the demo was built with QtChannel::Nats.
bool natsRequested(int argc, char **argv) {
    for (int i = 1; i < argc; ++i)
        if (std::strcmp(argv[i], "--nats") == 0 || std::strncmp(argv[i], "--nats=", 7) == 0)
            return true;
    return false;
}

bool parseCapacity(const QString &text, int *capacity) {
    if (text == QLatin1String("rendezvous"))
        *capacity = 0;
    else if (text == QLatin1String("small"))
        *capacity = 4;
    else if (text == QLatin1String("large"))
        *capacity = 32;
    else if (text == QLatin1String("unbounded"))
        *capacity = -1;
    else {
        bool ok = false;
        *capacity = text.toInt(&ok);
        return ok && *capacity >= -1;
    }
    return true;
}

bool parseOverflow(const QString &text, int *overflow) {
    using Q = QtChannel::QmlChannel;
    if (text == QLatin1String("wait"))
        *overflow = Q::Wait;
    else if (text == QLatin1String("drop-oldest"))
        *overflow = Q::DropOldest;
    else if (text == QLatin1String("drop-newest"))
        *overflow = Q::DropNewest;
    else
        return false;
    return true;
}

// A scripted run for machines without a display, and for CI.
class Scenario : public QObject {
public:
    Scenario(Pipeline *pipeline, QQuickWindow *window, QString dir, double seconds, int priority,
             QString failReason)
        : m_pipeline(pipeline)
        , m_window(window)
        , m_dir(std::move(dir))
        , m_seconds(seconds)
        , m_priority(priority)
        , m_failReason(std::move(failReason)) {}

    void run() {
        QObject::connect(m_pipeline, &Pipeline::finished, this, [this] {
            // A few frames so that the window shows the finished state.
            QTimer::singleShot(250, this, [this] { done(); });
        });
        // Priority items wait before the consumers start, so both lanes have items: the
        // consumers must take every priority item first.
        m_pipeline->putPriority(m_priority);
        m_pipeline->start();
        // A second batch shortly before the screenshot, to show the lane in use.
        // Precise timers: a coarse one may be 5% late, after the close.
        QTimer::singleShot(std::max(0, int(m_seconds * 1000) - 60), Qt::PreciseTimer, this,
                           [this] { m_pipeline->putPriority(m_priority); });
        QTimer::singleShot(int(m_seconds * 1000), Qt::PreciseTimer, this, [this] {
            save(QStringLiteral("running.png"));
            if (m_failReason.isEmpty())
                m_pipeline->close();
            else
                m_pipeline->fail(m_failReason);
        });
        // Bounds a run that never finishes (a bug): the process then fails.
        QTimer::singleShot(int(m_seconds * 1000) + 60000, this, [] {
            std::fprintf(stderr, "qtchannel-demo: the channel did not finish within 60 s\n");
            QCoreApplication::exit(2);
        });
    }

private:
    QString save(const QString &name) {
        const QString path = QDir(m_dir).absoluteFilePath(name);
        const QImage image = m_window->grabWindow();
        if (image.isNull() || !image.save(path)) {
            std::fprintf(stderr, "qtchannel-demo: could not write %s\n", qPrintable(path));
            return QString();
        }
        return path;
    }

    void done() {
        const QString screenshot = save(QStringLiteral("screenshot.png"));
        const bool finished = m_pipeline->state() == Pipeline::Finished &&
                              m_pipeline->channel()->isFinished() &&
                              m_pipeline->priority()->isFinished();
        const bool intact = m_pipeline->nothingLost();
        QJsonObject figures{
            {QStringLiteral("produced"), m_pipeline->produced()},
            {QStringLiteral("consumed"), m_pipeline->consumed()},
            {QStringLiteral("finished"), finished},
            {QStringLiteral("nothingLost"), intact},
            {QStringLiteral("producedChecksum"), m_pipeline->producedChecksum()},
            {QStringLiteral("consumedChecksum"), m_pipeline->consumedChecksum()},
            {QStringLiteral("channelItemsPut"), m_pipeline->channel()->itemsPutHere()},
            {QStringLiteral("channelItemsTaken"), m_pipeline->channel()->itemsTakenHere()},
            {QStringLiteral("producers"), m_pipeline->producerCount()},
            {QStringLiteral("consumers"), m_pipeline->consumerCount()},
            {QStringLiteral("capacity"), m_pipeline->capacity()},
            {QStringLiteral("overflow"), m_pipeline->overflow()},
            {QStringLiteral("dropped"), m_pipeline->dropped()},
            {QStringLiteral("channelDropped"), m_pipeline->channel()->dropped()},
            {QStringLiteral("droppedChecksum"), m_pipeline->droppedChecksum()},
            {QStringLiteral("priorityProduced"), m_pipeline->priorityProduced()},
            {QStringLiteral("priorityConsumed"), m_pipeline->priorityConsumed()},
            {QStringLiteral("priorityOvertaken"), m_pipeline->priorityOvertaken()},
            {QStringLiteral("priorityItemsTaken"), m_pipeline->priority()->itemsTakenHere()},
            {QStringLiteral("closeReason"), m_pipeline->channel()->closeReason()},
            {QStringLiteral("consumersThatSawTheReason"),
             m_pipeline->consumersThatSaw(m_pipeline->failReason())},
            {QStringLiteral("ratePerProducer"), m_pipeline->rate()},
            {QStringLiteral("workMsPerItem"), m_pipeline->workMs()},
            {QStringLiteral("secondsBeforeClose"), m_seconds},
            {QStringLiteral("elapsedSeconds"), m_pipeline->elapsedSeconds()},
            {QStringLiteral("peakThroughput"), m_pipeline->peakThroughput()},
            {QStringLiteral("producerBlockedSeconds"), m_pipeline->blockedSeconds()},
            {QStringLiteral("producerBlockedShare"), m_pipeline->blockedShare()},
            {QStringLiteral("frameIntervalMeanMs"), m_pipeline->meanFrameMs()},
            {QStringLiteral("frameIntervalMaxMs"), m_pipeline->maxFrameMs()},
            {QStringLiteral("frames"), m_pipeline->frames()},
            {QStringLiteral("screenshot"), screenshot},
        };
        const QString json = QDir(m_dir).absoluteFilePath(QStringLiteral("figures.json"));
        QFile file(json);
        const bool written = file.open(QIODevice::WriteOnly | QIODevice::Truncate) &&
                             file.write(QJsonDocument(figures).toJson()) > 0;
        file.close();

        std::printf("qtchannel-demo: %lld produced, %lld consumed, %lld dropped by the policy, "
                    "finished: %s, %s\n",
                    m_pipeline->produced(), m_pipeline->consumed(), m_pipeline->dropped(),
                    finished ? "yes" : "no", intact ? "nothing lost" : "ITEMS LOST");
        std::printf("qtchannel-demo: screenshot: %s\n", qPrintable(screenshot));
        std::printf("qtchannel-demo: figures:    %s\n", qPrintable(json));
        std::fflush(stdout);
        QCoreApplication::exit(finished && intact && written && !screenshot.isEmpty() ? 0 : 1);
    }

    Pipeline *m_pipeline;
    QQuickWindow *m_window;
    QString m_dir;
    double m_seconds;
    int m_priority;
    QString m_failReason;
};

} // namespace

int main(int argc, char *argv[]) {
    if (natsRequested(argc, argv)) {
#ifdef QTCHANNEL_DEMO_NATS
        return natsdemo::run(argc, argv);
#else
        std::fprintf(stderr, "qtchannel-demo: --nats: this qtchannel-demo was built without NATS "
                             "support (QtChannel::Nats is built when libnats-dev is installed: "
                             "scripts/deps.sh nats, then build again)\n");
        return 2;
#endif
    }

    // Decided before the application exists: the platform plugin is chosen then.
    bool headless = !hasDisplay();
    for (int i = 1; i < argc; ++i)
        headless = headless || std::strcmp(argv[i], "--headless") == 0;
    if (headless) {
        qputenv("QT_QPA_PLATFORM", "offscreen");
        QQuickWindow::setGraphicsApi(QSGRendererInterface::Software);
    }

    QGuiApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("qtchannel-demo"));

    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Producers, a QtChannel and consumers on real threads. Without a display "
                       "(or with --headless) runs a scripted scenario and saves a screenshot "
                       "and the figures."));
    parser.addHelpOption();
    const QCommandLineOption headlessOption(QStringLiteral("headless"),
                                            QStringLiteral("Run the scripted scenario offscreen."));
    const QCommandLineOption outOption(
        QStringLiteral("out"),
        QStringLiteral("Directory for screenshot.png and "
                       "figures.json (default: qtchannel-demo-out)."),
        QStringLiteral("dir"), QStringLiteral("qtchannel-demo-out"));
    const QCommandLineOption producersOption(QStringLiteral("producers"),
                                             QStringLiteral("Producer threads, 1-8."),
                                             QStringLiteral("n"), QStringLiteral("4"));
    const QCommandLineOption consumersOption(QStringLiteral("consumers"),
                                             QStringLiteral("Consumer threads, 1-8."),
                                             QStringLiteral("n"), QStringLiteral("3"));
    const QCommandLineOption capacityOption(
        QStringLiteral("capacity"),
        QStringLiteral("rendezvous, small (4), large (32), unbounded, or a number."),
        QStringLiteral("c"), QStringLiteral("large"));
    const QCommandLineOption rateOption(QStringLiteral("rate"),
                                        QStringLiteral("Items per second per producer."),
                                        QStringLiteral("n"), QStringLiteral("40"));
    const QCommandLineOption workOption(QStringLiteral("work"),
                                        QStringLiteral("Milliseconds of work per item."),
                                        QStringLiteral("ms"), QStringLiteral("60"));
    const QCommandLineOption overflowOption(
        QStringLiteral("overflow"),
        QStringLiteral("wait, drop-oldest or drop-newest (a drop policy needs a capacity >= 1)."),
        QStringLiteral("policy"), QStringLiteral("wait"));
    const QCommandLineOption priorityOption(
        QStringLiteral("priority"),
        QStringLiteral("Headless: priority items put before the start and again before the "
                       "close, 0-16."),
        QStringLiteral("n"), QStringLiteral("12"));
    const QCommandLineOption failOption(
        QStringLiteral("fail"),
        QStringLiteral("Headless: close the channels with this reason instead of a plain close."),
        QStringLiteral("reason"));
    const QCommandLineOption secondsOption(
        QStringLiteral("seconds"), QStringLiteral("Headless: seconds to run before closing."),
        QStringLiteral("s"), QStringLiteral("3"));
    // Handled before this parser (natsRequested()); listed for --help.
    const QCommandLineOption natsOption(
        QStringLiteral("nats"),
        QStringLiteral("Distributed mode: one role (--role producer|consumer|close|view) around "
                       "a channel on this NATS server; --nats URL --help lists its options."),
        QStringLiteral("url"));
    QCommandLineOption roleOption(QStringLiteral("role"), QStringLiteral("With --nats only."),
                                  QStringLiteral("role"));
    roleOption.setFlags(QCommandLineOption::HiddenFromHelp);
    parser.addOptions({headlessOption, outOption, producersOption, consumersOption, capacityOption,
                       rateOption, workOption, overflowOption, priorityOption, failOption,
                       secondsOption, natsOption, roleOption});
    parser.process(app);
    if (parser.isSet(roleOption)) {
        std::fprintf(stderr, "qtchannel-demo: --role needs --nats URL (the distributed mode)\n");
        return 2;
    }

    bool ok = true, okProducers = false, okConsumers = false, okRate = false, okWork = false,
         okSeconds = false, okPriority = false;
    int capacity = 32;
    int overflow = QtChannel::QmlChannel::Wait;
    const int priority = parser.value(priorityOption).toInt(&okPriority);
    const int producers = parser.value(producersOption).toInt(&okProducers);
    const int consumers = parser.value(consumersOption).toInt(&okConsumers);
    const double rate = parser.value(rateOption).toDouble(&okRate);
    const double work = parser.value(workOption).toDouble(&okWork);
    const double seconds = parser.value(secondsOption).toDouble(&okSeconds);
    ok = okProducers && producers >= 1 && producers <= Pipeline::MaxWorkers && okConsumers &&
         consumers >= 1 && consumers <= Pipeline::MaxWorkers && okRate && rate > 0 && okWork &&
         work >= 0 && okSeconds && seconds > 0 &&
         parseCapacity(parser.value(capacityOption), &capacity) &&
         parseOverflow(parser.value(overflowOption), &overflow) &&
         (overflow == QtChannel::QmlChannel::Wait || capacity >= 1) && okPriority &&
         priority >= 0 && priority <= Pipeline::PriorityCapacity &&
         (!parser.isSet(failOption) || !parser.value(failOption).isEmpty());
    if (!ok) {
        std::fprintf(stderr, "qtchannel-demo: invalid option value; see --help\n");
        return 2;
    }

    Pipeline pipeline;
    pipeline.setCapacity(capacity);
    pipeline.setOverflow(overflow);
    pipeline.setProducerCount(producers);
    pipeline.setConsumerCount(consumers);
    pipeline.setRate(rate);
    pipeline.setWorkMs(work);

    QQmlApplicationEngine engine;
    engine.setInitialProperties({{QStringLiteral("pipeline"), QVariant::fromValue(&pipeline)},
                                 {QStringLiteral("headless"), headless}});
    engine.load(QUrl(QStringLiteral("qrc:/QtChannelDemo/Main.qml")));
    if (engine.rootObjects().isEmpty())
        return 3;
    auto *window = qobject_cast<QQuickWindow *>(engine.rootObjects().constFirst());
    if (!window)
        return 3;

    std::unique_ptr<Scenario> scenario;
    if (headless) {
        const QString dir = parser.value(outOption);
        if (!QDir().mkpath(dir)) {
            std::fprintf(stderr, "qtchannel-demo: cannot create %s\n", qPrintable(dir));
            return 2;
        }
        scenario = std::make_unique<Scenario>(&pipeline, window, dir, seconds, priority,
                                              parser.value(failOption));
        scenario->run();
    } else {
        pipeline.start();
    }
    const int code = QCoreApplication::exec();
    pipeline.reset(); // joins the threads before the window goes
    return code;
}
