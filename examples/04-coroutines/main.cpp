// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// 04 - coroutines: `co_await channel.get()` with QCoro, the C++ spelling of aiochannel's
// `async for item in channel`.
//
// A worker thread puts the numbers 1 to 10 and closes the channel. A coroutine on the event
// loop takes them with co_await until the channel is finished, which it learns from the
// ChannelClosed exception of its last get.

#include <QtChannel/Channel>

#include <QCoro/QCoroFuture>
#include <QCoro/QCoroTask>

#include <QtCore/QCoreApplication>
#include <QtCore/QTimer>

#include <cstdio>
#include <thread>

QCoro::Task<> sumAll(QtChannel::Channel<int> &numbers) {
    int sum = 0;
    try {
        for (;;)
            sum += co_await numbers.get();
    } catch (const QtChannel::ChannelClosed &) {
        std::printf("finished: the sum is %d\n", sum);
    }
    QCoreApplication::exit(sum == 55 ? 0 : 1);
}

int main(int argc, char *argv[]) {
    QCoreApplication app(argc, argv);
    QtChannel::Channel<int> numbers(2);
    std::jthread producer([&numbers] {
        for (int i = 1; i <= 10; ++i)
            numbers.putBlocking(i);
        numbers.close();
    });
    // Started from the event loop, so that its exit() finds the loop running even if every
    // number is already there and the coroutine never has to wait.
    QTimer::singleShot(0, &app, [&numbers] { sumAll(numbers); });
    return app.exec();
}
