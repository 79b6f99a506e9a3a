// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// qtchannel-demo: producers → a QtChannel → consumers, on real threads, on screen.
//
//   qtchannel-demo                      a window (headless when there is no display)
//   qtchannel-demo --headless --out DIR a scripted run: start, run, close, wait for finished;
//                                       writes DIR/screenshot.png and DIR/figures.json and
//                                       exits non-zero if an item was lost

#include "pipeline.h"

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

#include <cstdio>
#include <cstring>

namespace {

bool hasDisplay() {
    return !qEnvironmentVariableIsEmpty("DISPLAY") ||
           !qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY");
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

// A scripted run for machines without a display, and for CI.
class Scenario : public QObject {
public:
    Scenario(Pipeline *pipeline, QQuickWindow *window, QString dir, double seconds)
        : m_pipeline(pipeline)
        , m_window(window)
        , m_dir(std::move(dir))
        , m_seconds(seconds) {}

    void run() {
        QObject::connect(m_pipeline, &Pipeline::finished, this, [this] {
            // A few frames so that the window shows the finished state.
            QTimer::singleShot(250, this, [this] { done(); });
        });
        m_pipeline->start();
        QTimer::singleShot(int(m_seconds * 1000), this, [this] {
            save(QStringLiteral("running.png"));
            m_pipeline->close();
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
        const bool finished =
            m_pipeline->state() == Pipeline::Finished && m_pipeline->channel()->isFinished();
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

        std::printf("qtchannel-demo: %lld produced, %lld consumed, finished: %s, %s\n",
                    m_pipeline->produced(), m_pipeline->consumed(), finished ? "yes" : "no",
                    intact ? "nothing lost" : "ITEMS LOST");
        std::printf("qtchannel-demo: screenshot: %s\n", qPrintable(screenshot));
        std::printf("qtchannel-demo: figures:    %s\n", qPrintable(json));
        std::fflush(stdout);
        QCoreApplication::exit(finished && intact && written && !screenshot.isEmpty() ? 0 : 1);
    }

    Pipeline *m_pipeline;
    QQuickWindow *m_window;
    QString m_dir;
    double m_seconds;
};

} // namespace

int main(int argc, char *argv[]) {
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
    const QCommandLineOption secondsOption(
        QStringLiteral("seconds"), QStringLiteral("Headless: seconds to run before closing."),
        QStringLiteral("s"), QStringLiteral("3"));
    parser.addOptions({headlessOption, outOption, producersOption, consumersOption, capacityOption,
                       rateOption, workOption, secondsOption});
    parser.process(app);

    bool ok = true, okProducers = false, okConsumers = false, okRate = false, okWork = false,
         okSeconds = false;
    int capacity = 32;
    const int producers = parser.value(producersOption).toInt(&okProducers);
    const int consumers = parser.value(consumersOption).toInt(&okConsumers);
    const double rate = parser.value(rateOption).toDouble(&okRate);
    const double work = parser.value(workOption).toDouble(&okWork);
    const double seconds = parser.value(secondsOption).toDouble(&okSeconds);
    ok = okProducers && producers >= 1 && producers <= Pipeline::MaxWorkers && okConsumers &&
         consumers >= 1 && consumers <= Pipeline::MaxWorkers && okRate && rate > 0 && okWork &&
         work >= 0 && okSeconds && seconds > 0 &&
         parseCapacity(parser.value(capacityOption), &capacity);
    if (!ok) {
        std::fprintf(stderr, "qtchannel-demo: invalid option value; see --help\n");
        return 2;
    }

    Pipeline pipeline;
    pipeline.setCapacity(capacity);
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
        scenario = std::make_unique<Scenario>(&pipeline, window, dir, seconds);
        scenario->run();
    } else {
        pipeline.start();
    }
    const int code = QCoreApplication::exec();
    pipeline.reset(); // joins the threads before the window goes
    return code;
}
