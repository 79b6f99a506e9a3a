// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// 04 - coroutines: `co_await channel.receive()` and `co_await channel.send(item)`, the C++
// spelling of aiochannel's `async for item in channel`.
//
// A pipeline of three coroutine stages:
//
//   generate (main thread) --numbers--> square (worker thread) --squares--> sum (main thread)
//
// Each stage loops with `while (auto item = co_await in.receive())`, which ends with
// std::nullopt once its input is finished, and then closes its output, so the end travels down
// the pipeline. The channels are small, so the stages take turns: a stage that has to wait is
// suspended, and it is resumed later in its own thread, from that thread's event loop.
//
// receive() and send() work in any C++20 coroutine type and need neither QFuture nor QCoro.
// This example brings its own ten-line coroutine type; QCoro's QCoro::Task<> works the same.

#include <QtChannel/Channel>

#include <QtCore/QCoreApplication>
#include <QtCore/QThread>
#include <QtCore/QTimer>

#include <atomic>
#include <coroutine>
#include <cstdio>
#include <exception>
#include <thread>

using QtChannel::Channel;
using QtChannel::PutResult;

// The smallest coroutine type that fits: it starts at once and frees itself when it ends.
struct Stage {
    struct promise_type {
        Stage get_return_object() noexcept { return {}; }
        std::suspend_never initial_suspend() noexcept { return {}; }
        std::suspend_never final_suspend() noexcept { return {}; }
        void return_void() noexcept {}
        void unhandled_exception() noexcept { std::terminate(); }
    };
};

// Counts the resumptions of a stage in another thread than the one that started it.
std::atomic<int> resumedElsewhere = 0;

Stage generate(Channel<int> &out, int count) {
    const std::thread::id self = std::this_thread::get_id();
    for (int i = 1; i <= count; ++i) {
        if (co_await out.send(i) == PutResult::Closed) // Ok once accepted; never Full
            break;                                     // nobody will take it: stop
        if (std::this_thread::get_id() != self)
            ++resumedElsewhere;
    }
    out.close();
}

Stage square(Channel<int> &in, Channel<int> &out) {
    const std::thread::id self = std::this_thread::get_id();
    while (std::optional<int> n = co_await in.receive()) {
        if (co_await out.send(*n * *n) == PutResult::Closed)
            break;
        if (std::this_thread::get_id() != self)
            ++resumedElsewhere;
    }
    out.close(); // its input is finished: so is its output, once drained
}

Stage sum(Channel<int> &in) {
    const std::thread::id self = std::this_thread::get_id();
    int total = 0;
    while (std::optional<int> n = co_await in.receive()) {
        total += *n;
        if (std::this_thread::get_id() != self)
            ++resumedElsewhere;
    }
    std::printf("finished: the sum of the squares of 1 to 10 is %d\n", total);
    std::printf("every stage resumed in its own thread: %s\n",
                resumedElsewhere == 0 ? "yes" : "NO");
    QCoreApplication::exit(total == 385 && resumedElsewhere == 0 ? 0 : 1);
}

int main(int argc, char *argv[]) {
    QCoreApplication app(argc, argv);
    Channel<int> numbers(2), squares(2);

    // A thread with an event loop (QThread::run() runs one) for the middle stage: an awaiter
    // resumes its coroutine through the event loop of the thread that awaited.
    QThread worker;
    worker.start();
    QObject inWorker;
    inWorker.moveToThread(&worker);
    QMetaObject::invokeMethod(&inWorker, [&] { square(numbers, squares); });

    // The other two stages start from the main event loop, so that exit() finds it running.
    QTimer::singleShot(0, &app, [&] {
        sum(squares);
        generate(numbers, 10);
    });
    const int status = app.exec();

    worker.quit(); // the middle stage ended before the last one could
    worker.wait();
    return status;
}
