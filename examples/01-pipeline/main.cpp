// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// 01 - pipeline: producers in worker threads, a consumer on the event loop, a clean end.
//
// Three worker threads put lines into a bounded channel (they wait when the consumer lags);
// the last one to finish closes it. The main thread's event loop takes every line with
// forEach(), and finished() tells it when all the work that could ever appear is done.

#include <QtChannel/Channel>

#include <QtCore/QCoreApplication>

#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

int main(int argc, char *argv[]) {
    QCoreApplication app(argc, argv);
    QtChannel::Channel<QString> lines(4);

    constexpr int Producers = 3, ItemsEach = 5;
    std::atomic<int> running = Producers;
    std::vector<std::jthread> producers;
    for (int p = 0; p < Producers; ++p) {
        producers.emplace_back([&lines, &running, p] {
            for (int i = 0; i < ItemsEach; ++i)
                lines.putBlocking(QStringLiteral("producer %1, item %2").arg(p).arg(i));
            if (--running == 0)
                lines.close(); // no more work will ever appear
        });
    }

    int consumed = 0;
    lines.forEach(&app, [&consumed](const QString &line) {
        std::printf("consumed: %s\n", qPrintable(line));
        ++consumed;
    });
    // finished(): closed and drained. It is emitted by the call that made the channel finished
    // (a producer's close(), or the take of the last item, just before forEach() passes that
    // item on), so queue it: it then runs after the last item was consumed, in app's thread.
    QObject::connect(
        &lines, &QtChannel::ChannelBase::finished, &app,
        [&] {
            std::printf("finished: %d of %d items consumed, nothing lost\n", consumed,
                        Producers * ItemsEach);
            app.exit(consumed == Producers * ItemsEach ? 0 : 1);
        },
        Qt::QueuedConnection);
    return app.exec();
}
