// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// 02 - futures: put() and get() return QFuture, so results chain with .then() and .onFailed().
//
// A get() that has to wait is a pending future; a put() into a full channel is too. When the
// channel is closed, the gets that can never be served fail with ChannelClosed.
//
// Everything here happens in one thread, which is what makes then() safe on Qt 6.4.2: there,
// then() on a future that another thread may finish at that moment can crash (QTBUG-109230).
// For futures finished by other threads, watch them with a QFutureWatcher
// (examples/06-pipeline-errors), or use forEach(), the signals, or coroutines.

#include <QtChannel/Channel>

#include <QtCore/QCoreApplication>
#include <QtCore/QTimer>

#include <cstdio>

using QtChannel::ChannelClosed;

int main(int argc, char *argv[]) {
    QCoreApplication app(argc, argv);
    QtChannel::Channel<int> numbers(1); // room for one item

    // Everything below runs from the event loop, where continuations are delivered.
    QTimer::singleShot(0, &app, [&] {
        // Two gets wait for items that are not there yet. The continuations run in app's thread.
        for (int i = 0; i < 2; ++i) {
            numbers.get()
                .then(&app, [](int n) { std::printf("got %d\n", n); })
                .onFailed(&app,
                          [](const ChannelClosed &) { std::printf("closed before an item\n"); });
        }

        numbers.put(1);                        // goes straight to the first waiting get
        numbers.put(2);                        // and this one to the second
        numbers.put(3);                        // buffered: the channel is now full
        QFuture<void> fourth = numbers.put(4); // no room: pending until a get makes some
        fourth.then(&app, [] { std::printf("4 was accepted\n"); });

        numbers.get().then(&app, [](int n) { std::printf("got %d, which made room for 4\n", n); });
        numbers.get().then(&app, [](int n) { std::printf("got %d\n", n); });

        numbers.get()
            .then(&app, [](int n) { std::printf("got %d\n", n); })
            .onFailed(&app, [&](const ChannelClosed &) {
                std::printf("the channel closed with nothing left: this get failed\n");
            });
        numbers.close();

        numbers.join().then(&app, [&app] {
            std::printf("finished\n");
            app.quit();
        });
    });
    return app.exec();
}
