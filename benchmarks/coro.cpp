// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// W5's coroutine rows and its future floor.
//
// - qtchannel-coro: a producer coroutine (`co_await ch.send(i)`) and a consumer coroutine
//   (`while (auto v = co_await ch.receive())`) on the main thread's event loop, capacity 1024.
//   A ready awaiter is a non-waiting call; a suspended one is resumed through its thread's
//   event loop, one posted event per run of resumptions.
// - qtchannel-coro-threads: the producer coroutine on a worker thread's event loop, the
//   consumer coroutine on the main thread's.
// - qpromise-then: the floor of the future route: per item, a bare QPromise<int> whose future
//   has a then(context, ...) continuation attached while it is pending, then addResult() and
//   finish(). What Qt's futures cost before any channel is involved.
//
// The coroutine type is the smallest there is (tests/tst_awaiters.cpp has the same): it starts
// at once and is destroyed by its owner; nothing in it allocates but its frame.

#include "workloads.h"

#include <QtChannel/Channel>

#include <QtCore/QEventLoop>
#include <QtCore/QFuture>
#include <QtCore/QObject>
#include <QtCore/QPromise>
#include <QtCore/QThread>

#include <coroutine>
#include <exception>
#include <memory>
#include <optional>
#include <utility>

namespace Bench::Workloads {

namespace {

constexpr qsizetype Capacity = 1024;

struct Task {
    struct promise_type {
        Task get_return_object() {
            return Task{std::coroutine_handle<promise_type>::from_promise(*this)};
        }
        std::suspend_never initial_suspend() noexcept { return {}; }
        std::suspend_always final_suspend() noexcept { return {}; }
        void return_void() noexcept {}
        void unhandled_exception() noexcept { std::terminate(); }
    };
    explicit Task(std::coroutine_handle<promise_type> h)
        : handle(h) {}
    Task(Task &&other) noexcept
        : handle(std::exchange(other.handle, {})) {}
    Task(const Task &) = delete;
    Task &operator=(const Task &) = delete;
    Task &operator=(Task &&) = delete;
    ~Task() {
        if (handle)
            handle.destroy();
    }
    bool done() const { return handle && handle.done(); }
    std::coroutine_handle<promise_type> handle;
};

Task produce(QtChannel::Channel<int> &ch, qint64 n, qint64 &sent, QEventLoop *quitWhenDone) {
    qint64 sum = 0;
    for (qint64 i = 1; i <= n; ++i) {
        const QtChannel::PutResult r = co_await ch.send(int(i));
        check(r == QtChannel::PutResult::Ok, "send failed");
        sum += i;
    }
    ch.close();
    sent = sum;
    if (quitWhenDone)
        quitWhenDone->quit();
}

Task consume(QtChannel::Channel<int> &ch, qint64 &received, QEventLoop &loop) {
    qint64 sum = 0;
    while (std::optional<int> v = co_await ch.receive())
        sum += *v;
    received = sum;
    loop.quit();
}

} // namespace

Sample w5QtChannelCoro(qint64 n, Meter &m) {
    QtChannel::Channel<int> ch(Capacity);
    QObject context;
    QEventLoop loop;
    qint64 sent = 0;
    qint64 received = 0;
    std::optional<Task> consumer, producer;
    // Started from the loop, as the other W5 rows: the consumer first (it suspends at once),
    // then the producer (it fills the channel, and suspends when it is full).
    QMetaObject::invokeMethod(
        &context, [&] { consumer.emplace(consume(ch, received, loop)); }, Qt::QueuedConnection);
    QMetaObject::invokeMethod(
        &context, [&] { producer.emplace(produce(ch, n, sent, nullptr)); }, Qt::QueuedConnection);
    m.start();
    loop.exec();
    m.stop();
    check(consumer && consumer->done() && producer && producer->done(), "not done");
    return {n, sent, received};
}

Sample w5QtChannelCoroThreads(qint64 n, Meter &m) {
    QtChannel::Channel<int> ch(Capacity);
    QObject context;
    QEventLoop loop;
    qint64 sent = 0;
    qint64 received = 0;
    std::optional<Task> consumer;
    QMetaObject::invokeMethod(
        &context, [&] { consumer.emplace(consume(ch, received, loop)); }, Qt::QueuedConnection);
    m.start();
    std::unique_ptr<QThread> worker(QThread::create([&] {
        QEventLoop workerLoop;
        std::optional<Task> producer;
        QObject workerContext;
        QMetaObject::invokeMethod(
            &workerContext, [&] { producer.emplace(produce(ch, n, sent, &workerLoop)); },
            Qt::QueuedConnection);
        workerLoop.exec();
        check(producer && producer->done(), "producer not done");
    }));
    worker->start();
    loop.exec();
    worker->wait();
    m.stop();
    check(consumer && consumer->done(), "consumer not done");
    return {n, sent, received};
}

Sample w5PromiseThen(qint64 n, Meter &m) {
    QObject context;
    QEventLoop loop;
    qint64 sent = 0;
    qint64 received = 0;
    QMetaObject::invokeMethod(
        &context,
        [&] {
            for (qint64 i = 1; i <= n; ++i) {
                QPromise<int> promise;
                QFuture<int> future = promise.future();
                promise.start();
                future.then(&context, [&received](int v) { received += v; });
                promise.addResult(int(i));
                promise.finish();
                sent += i;
            }
            loop.quit();
        },
        Qt::QueuedConnection);
    m.start();
    loop.exec();
    m.stop();
    return {n, sent, received};
}

} // namespace Bench::Workloads
