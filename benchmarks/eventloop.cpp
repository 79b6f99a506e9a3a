// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// W4: a std::thread producer, a consumer on the main thread's event loop. Every variant sends
// 1..n and quits the loop once the consumer has seen the end of the stream.

#include "workloads.h"

#include <QtChannel/Channel>

#include <QtCore/QEventLoop>
#include <QtCore/QFutureWatcher>
#include <QtCore/QList>
#include <QtCore/QMutex>
#include <QtCore/QObject>
#include <QtCore/QPromise>
#include <QtCore/QWaitCondition>

#include <optional>
#include <thread>

namespace Bench::Workloads {

namespace {

constexpr qsizetype Capacity = 1024;

// The queued-signal peer: one signal per item, a slot in the main thread.
class Emitter : public QObject {
    Q_OBJECT
Q_SIGNALS:
    void item(int v);
    void done();
};

class Receiver : public QObject {
    Q_OBJECT
public:
    explicit Receiver(QEventLoop *loop, int producers = 1)
        : m_loop(loop)
        , m_producers(producers) {}
    qint64 sum = 0;

public Q_SLOTS:
    void take(int v) { sum += v; }
    void finish() {
        if (--m_producers == 0)
            m_loop->quit();
    }

private:
    QEventLoop *m_loop;
    int m_producers; // still sending
};

/*
 * The best a Qt developer writes by hand: a QMutex-protected list bounded by a
 * QWaitCondition, and one queued call per empty -> non-empty transition. The consumer swaps
 * the whole list out under the lock and processes it outside; the two lists trade storage, so
 * nothing is allocated in steady state.
 */
class CoalescedQueue {
public:
    CoalescedQueue(QObject *context, QEventLoop *loop, qsizetype capacity)
        : m_context(context)
        , m_loop(loop)
        , m_capacity(capacity) {
        m_items.reserve(capacity);
        m_batch.reserve(capacity);
    }

    // Producer thread.
    void put(int v) {
        QMutexLocker lock(&m_mutex);
        while (m_items.size() >= m_capacity)
            m_notFull.wait(&m_mutex);
        const bool wasEmpty = m_items.isEmpty();
        m_items.append(v);
        lock.unlock();
        if (wasEmpty)
            notify();
    }

    void close() {
        {
            QMutexLocker lock(&m_mutex);
            m_closed = true;
        }
        notify();
    }

    qint64 sum = 0;

private:
    void notify() {
        QMetaObject::invokeMethod(
            m_context, [this] { drain(); }, Qt::QueuedConnection);
    }

    // Main thread.
    void drain() {
        bool wasFull;
        bool closed;
        {
            QMutexLocker lock(&m_mutex);
            wasFull = m_items.size() >= m_capacity;
            m_batch.swap(m_items);
            closed = m_closed;
        }
        if (wasFull)
            m_notFull.wakeOne();
        for (int v : std::as_const(m_batch))
            sum += v;
        m_batch.clear(); // keeps its capacity
        if (closed)
            m_loop->quit();
    }

    QObject *const m_context;
    QEventLoop *const m_loop;
    const qsizetype m_capacity;
    QMutex m_mutex;
    QWaitCondition m_notFull;
    QList<int> m_items; // guarded by m_mutex
    QList<int> m_batch; // main thread only
    bool m_closed = false;
};

} // namespace

Sample w4QtChannelDrain(qint64 n, Meter &m) {
    QtChannel::Channel<int> ch(Capacity);
    QObject context;
    QEventLoop loop;
    qint64 sent = 0;
    qint64 received = 0;
    const auto drain = [&] {
        while (std::optional<int> v = ch.tryGet())
            received += *v;
        if (ch.isFinished())
            loop.quit();
    };
    QObject::connect(&ch, &QtChannel::ChannelBase::itemAvailable, &context, drain);
    QObject::connect(&ch, &QtChannel::ChannelBase::finished, &context, drain);
    m.start();
    std::thread producer([&] {
        qint64 sum = 0;
        for (qint64 i = 1; i <= n; ++i) {
            check(ch.putBlocking(int(i)) == QtChannel::PutResult::Ok, "put failed");
            sum += i;
        }
        ch.close();
        sent = sum;
    });
    QMetaObject::invokeMethod(&context, drain, Qt::QueuedConnection); // items put before connect
    loop.exec();
    producer.join();
    m.stop();
    return {n, sent, received};
}

Sample w4QtChannelForEach(qint64 n, Meter &m) {
    QtChannel::Channel<int> ch(Capacity);
    QObject context;
    QEventLoop loop;
    qint64 sent = 0;
    qint64 received = 0;
    m.start();
    QFuture<void> done = ch.forEach(&context, [&received](int v) { received += v; });
    done.then(&context, [&loop] { loop.quit(); });
    std::thread producer([&] {
        qint64 sum = 0;
        for (qint64 i = 1; i <= n; ++i) {
            check(ch.putBlocking(int(i)) == QtChannel::PutResult::Ok, "put failed");
            sum += i;
        }
        ch.close();
        sent = sum;
    });
    loop.exec();
    producer.join();
    m.stop();
    check(done.isFinished() && !done.isCanceled(), "forEach did not finish");
    return {n, sent, received};
}

Sample w4QueuedSignal(qint64 n, Meter &m) {
    QEventLoop loop;
    Emitter emitter;
    Receiver receiver(&loop);
    QObject::connect(&emitter, &Emitter::item, &receiver, &Receiver::take, Qt::QueuedConnection);
    QObject::connect(&emitter, &Emitter::done, &receiver, &Receiver::finish, Qt::QueuedConnection);
    qint64 sent = 0;
    m.start();
    std::thread producer([&] {
        qint64 sum = 0;
        for (qint64 i = 1; i <= n; ++i) {
            Q_EMIT emitter.item(int(i));
            sum += i;
        }
        Q_EMIT emitter.done();
        sent = sum;
    });
    loop.exec();
    producer.join();
    m.stop();
    return {n, sent, receiver.sum};
}

// W7b's peer: two producer threads, each emitting one queued signal per item of its half of
// 1..n, and a `done` signal.
Sample w7bQueuedSignal(qint64 n, Meter &m) {
    QEventLoop loop;
    Emitter emitters[2];
    Receiver receiver(&loop, 2);
    for (Emitter &e : emitters) {
        QObject::connect(&e, &Emitter::item, &receiver, &Receiver::take, Qt::QueuedConnection);
        QObject::connect(&e, &Emitter::done, &receiver, &Receiver::finish, Qt::QueuedConnection);
    }
    qint64 sent[2] = {};
    const auto produce = [&emitters, &sent](int which, qint64 first, qint64 last) {
        qint64 sum = 0;
        for (qint64 i = first; i <= last; ++i) {
            Q_EMIT emitters[which].item(int(i));
            sum += i;
        }
        Q_EMIT emitters[which].done();
        sent[which] = sum;
    };
    m.start();
    std::thread p0(produce, 0, 1, n / 2);
    std::thread p1(produce, 1, n / 2 + 1, n);
    loop.exec();
    p0.join();
    p1.join();
    m.stop();
    return {n, sent[0] + sent[1], receiver.sum};
}

Sample w4InvokeMethod(qint64 n, Meter &m) {
    QObject context;
    QEventLoop loop;
    qint64 sent = 0;
    qint64 received = 0;
    m.start();
    std::thread producer([&] {
        qint64 sum = 0;
        for (qint64 i = 1; i <= n; ++i) {
            const int v = int(i);
            QMetaObject::invokeMethod(
                &context, [&received, v] { received += v; }, Qt::QueuedConnection);
            sum += i;
        }
        QMetaObject::invokeMethod(
            &context, [&loop] { loop.quit(); }, Qt::QueuedConnection);
        sent = sum;
    });
    loop.exec();
    producer.join();
    m.stop();
    return {n, sent, received};
}

Sample w4Coalesced(qint64 n, Meter &m) {
    QObject context;
    QEventLoop loop;
    CoalescedQueue queue(&context, &loop, Capacity);
    qint64 sent = 0;
    m.start();
    std::thread producer([&] {
        qint64 sum = 0;
        for (qint64 i = 1; i <= n; ++i) {
            queue.put(int(i));
            sum += i;
        }
        queue.close();
        sent = sum;
    });
    loop.exec();
    producer.join();
    m.stop();
    return {n, sent, queue.sum};
}

// QPromise::addResult() in the producer, a QFutureWatcher's resultsReadyAt() in the consumer.
Sample w4Promise(qint64 n, Meter &m) {
    QEventLoop loop;
    QPromise<int> promise;
    QFuture<int> future = promise.future();
    promise.start();
    QFutureWatcher<int> watcher;
    qint64 sent = 0;
    qint64 received = 0;
    QObject::connect(&watcher, &QFutureWatcherBase::resultsReadyAt, &loop, [&](int begin, int end) {
        for (int i = begin; i < end; ++i)
            received += future.resultAt(i);
    });
    QObject::connect(&watcher, &QFutureWatcherBase::finished, &loop, &QEventLoop::quit);
    watcher.setFuture(future);
    m.start();
    std::thread producer([&] {
        qint64 sum = 0;
        for (qint64 i = 1; i <= n; ++i) {
            promise.addResult(int(i));
            sum += i;
        }
        promise.finish();
        sent = sum;
    });
    loop.exec();
    producer.join();
    m.stop();
    return {n, sent, received};
}

} // namespace Bench::Workloads

#include "eventloop.moc"
