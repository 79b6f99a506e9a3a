// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// 03 - signals: a consumer driven by itemAvailable(), draining with tryGet().
//
// A worker thread puts 100000 numbers as fast as it can. The main thread is told with
// itemAvailable() (queued across threads) and takes with tryGet() until it gets nothing.
// Notifications are coalesced, so the event queue holds at most one of them per drain,
// yet no item is ever missed.

#include <QtChannel/Channel>

#include <QtCore/QCoreApplication>

#include <cstdio>
#include <thread>

int main(int argc, char *argv[]) {
    QCoreApplication app(argc, argv);
    QtChannel::Channel<int> numbers;
    constexpr int Count = 100000;

    long long sum = 0;
    int taken = 0, wakeUps = 0;
    QObject::connect(&numbers, &QtChannel::ChannelBase::itemAvailable, &app, [&] {
        ++wakeUps;
        while (std::optional<int> n = numbers.tryGet()) {
            sum += *n;
            ++taken;
        }
    });
    // finished() comes from the tryGet() that takes the last item, before that call returns:
    // queue it, so that it is handled after the drain that counts the last item.
    QObject::connect(
        &numbers, &QtChannel::ChannelBase::finished, &app,
        [&] {
            std::printf("took %d numbers (sum %lld) in %d wake-ups\n", taken, sum, wakeUps);
            app.exit(taken == Count && sum == static_cast<long long>(Count) * (Count - 1) / 2 ? 0
                                                                                              : 1);
        },
        Qt::QueuedConnection);

    std::jthread producer([&numbers] {
        for (int i = 0; i < Count; ++i)
            numbers.tryPut(i); // unbounded: never Full
        numbers.close();
    });
    return app.exec();
}
