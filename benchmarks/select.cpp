// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// W7, W7b and W7c: select.
//
// W7 fan-in: two producer threads, each putting half of 1..n into its own channel (capacity
// 1024) and closing it; one consumer thread selects over both until both are finished.
// - qtchannel: one Select per item, runBlocking() (a worker thread).
// - qtchannel-tryrun: tryRun() while an arm is ready (Go's `select` with `default`), and a
//   blocking Select only when none is.
// - qt-mutex: what a Qt developer writes instead: one QMutex over two QQueues, a
//   QWaitCondition for the consumer and one per producer; the consumer alternates between the
//   queues when both have items.
// - go (go/main.go): Go's select over two channels.
//
// W7b fan-in on the event loop: the same producers; the consumer is on the main thread's event
// loop.
// - qtchannel-run: one Select per item, run(context), chained with then(context, ...) whenever
//   the select has to wait.
// - qtchannel-tryrun: tryRun() while an arm is ready, run(context) only when none is.
// - queued-signal (eventloop.cpp): what a Qt developer writes instead: each producer emits one
//   queued signal per item to the consumer's thread (no bound).
//
// W7c stop: a worker waits for a job OR a stop command. A producer thread puts 1..n into the
// job channel (capacity 1024), then puts one item into the stop channel; the worker stops when
// it takes the stop command and then takes the jobs still buffered itself (inside the timed
// part), as a worker that drains before it goes would.
// - qtchannel: one Select per job, runBlocking().
// - qtchannel-close: no select: the producer closes the job channel instead of sending a stop
//   command, the worker loops on getBlocking(). What the select costs over a plain get.
// - qt-cv: a QMutex, a QQueue, a `stop` flag and two QWaitConditions.
// - go: `select { case v := <-jobs: ...; case <-stop: ... }`.

#include "workloads.h"

#include <QtChannel/Channel>

#include <QtCore/QEventLoop>
#include <QtCore/QMutex>
#include <QtCore/QObject>
#include <QtCore/QQueue>
#include <QtCore/QWaitCondition>

#include <memory>
#include <optional>
#include <thread>

namespace Bench::Workloads {

namespace {

constexpr qsizetype Capacity = 1024;

using IntChannel = QtChannel::Channel<int>;

// The two W7 producers: each puts its half of 1..n and closes its channel.
class FanInProducers {
public:
    FanInProducers(qint64 n, IntChannel &a, IntChannel &b)
        : m_a([n, &a, this] { m_sent[0] = produce(a, 1, n / 2); })
        , m_b([n, &b, this] { m_sent[1] = produce(b, n / 2 + 1, n); }) {}
    qint64 join() {
        m_a.join();
        m_b.join();
        return m_sent[0] + m_sent[1];
    }

private:
    static qint64 produce(IntChannel &ch, qint64 first, qint64 last) {
        qint64 sum = 0;
        for (qint64 i = first; i <= last; ++i) {
            check(ch.putBlocking(int(i)) == QtChannel::PutResult::Ok, "put failed");
            sum += i;
        }
        ch.close();
        return sum;
    }

    qint64 m_sent[2] = {};
    std::thread m_a;
    std::thread m_b;
};

// One select over both channels, adding what it takes to `sum`.
void arm(QtChannel::Select &s, IntChannel &a, IntChannel &b, qint64 &sum) {
    s.onGet(a, [&sum](int v) { sum += v; });
    s.onGet(b, [&sum](int v) { sum += v; });
}

// The qt-mutex peer of W7.
class TwoQueues {
public:
    void put(int which, int v) {
        QMutexLocker lock(&m_mutex);
        while (m_queue[which].size() >= Capacity)
            m_notFull[which].wait(&m_mutex);
        const bool wasEmpty = m_queue[0].isEmpty() && m_queue[1].isEmpty();
        m_queue[which].enqueue(v);
        lock.unlock();
        if (wasEmpty)
            m_notEmpty.wakeOne();
    }
    void close(int which) {
        {
            QMutexLocker lock(&m_mutex);
            m_closed[which] = true;
        }
        m_notEmpty.wakeOne();
    }
    // std::nullopt once both queues are closed and empty.
    std::optional<int> get() {
        QMutexLocker lock(&m_mutex);
        for (;;) {
            const bool has0 = !m_queue[0].isEmpty();
            const bool has1 = !m_queue[1].isEmpty();
            if (has0 || has1) {
                // Alternate when both have items, so neither producer starves.
                const int which = has0 && has1 ? (m_turn ^= 1) : (has0 ? 0 : 1);
                const bool wasFull = m_queue[which].size() >= Capacity;
                const int v = m_queue[which].dequeue();
                lock.unlock();
                if (wasFull)
                    m_notFull[which].wakeOne();
                return v;
            }
            if (m_closed[0] && m_closed[1])
                return std::nullopt;
            m_notEmpty.wait(&m_mutex);
        }
    }

private:
    QMutex m_mutex;
    QWaitCondition m_notEmpty;
    QWaitCondition m_notFull[2];
    QQueue<int> m_queue[2]; // guarded by m_mutex
    bool m_closed[2] = {};  // guarded by m_mutex
    int m_turn = 0;         // consumer only
};

// The qt-cv peer of W7c.
class JobQueue {
public:
    void put(int v) {
        QMutexLocker lock(&m_mutex);
        while (m_jobs.size() >= Capacity)
            m_notFull.wait(&m_mutex);
        const bool wasEmpty = m_jobs.isEmpty();
        m_jobs.enqueue(v);
        lock.unlock();
        if (wasEmpty)
            m_wake.wakeOne();
    }
    void stop() {
        {
            QMutexLocker lock(&m_mutex);
            m_stop = true;
        }
        m_wake.wakeOne();
    }
    // A job, or std::nullopt for the stop command (checked first, as a select might pick it).
    std::optional<int> next() {
        QMutexLocker lock(&m_mutex);
        for (;;) {
            if (m_stop)
                return std::nullopt;
            if (!m_jobs.isEmpty()) {
                const bool wasFull = m_jobs.size() >= Capacity;
                const int v = m_jobs.dequeue();
                lock.unlock();
                if (wasFull)
                    m_notFull.wakeOne();
                return v;
            }
            m_wake.wait(&m_mutex);
        }
    }
    qint64 leftover() {
        QMutexLocker lock(&m_mutex);
        qint64 sum = 0;
        while (!m_jobs.isEmpty())
            sum += m_jobs.dequeue();
        return sum;
    }

private:
    QMutex m_mutex;
    QWaitCondition m_wake;
    QWaitCondition m_notFull;
    QQueue<int> m_jobs;  // guarded by m_mutex
    bool m_stop = false; // guarded by m_mutex
};

// The consumer of W7b: a select per item on the event loop; with `tryFirst`, tryRun() while an
// arm is ready and run(context) only when none is.
class EventLoopFanIn {
public:
    EventLoopFanIn(IntChannel &a, IntChannel &b, QEventLoop &loop, bool tryFirst)
        : m_a(a)
        , m_b(b)
        , m_loop(loop)
        , m_tryFirst(tryFirst) {}

    void next() {
        for (;;) {
            if (m_tryFirst) {
                QtChannel::Select now;
                arm(now, m_a, m_b, received);
                if (now.tryRun() >= 0)
                    continue;
            }
            m_select = std::make_unique<QtChannel::Select>();
            arm(*m_select, m_a, m_b, received);
            QFuture<int> fired = m_select->run(&m_context);
            if (!fired.isFinished()) {
                fired.then(&m_context, [this](QFuture<int> f) {
                    if (handle(f))
                        next();
                });
                return;
            }
            if (!handle(fired))
                return;
        }
    }

    QObject *context() { return &m_context; }
    qint64 received = 0;

private:
    // False once every arm is dead (the future failed with ChannelClosed).
    bool handle(const QFuture<int> &f) {
        try {
            check(f.result() >= 0, "no arm fired");
            return true;
        } catch (const QtChannel::ChannelClosed &) {
            m_loop.quit();
            return false;
        }
    }

    IntChannel &m_a;
    IntChannel &m_b;
    QEventLoop &m_loop;
    const bool m_tryFirst;
    QObject m_context;
    std::unique_ptr<QtChannel::Select> m_select; // the pending one
};

} // namespace

Sample w7QtChannel(qint64 n, Meter &m) {
    IntChannel a(Capacity), b(Capacity);
    qint64 received = 0;
    m.start();
    std::thread consumer([&] {
        for (;;) {
            QtChannel::Select s;
            arm(s, a, b, received);
            if (s.runBlocking() < 0)
                break;
        }
    });
    FanInProducers producers(n, a, b);
    const qint64 sent = producers.join();
    consumer.join();
    m.stop();
    return {n, sent, received};
}

Sample w7QtChannelTryRun(qint64 n, Meter &m) {
    IntChannel a(Capacity), b(Capacity);
    qint64 received = 0;
    m.start();
    std::thread consumer([&] {
        for (;;) {
            QtChannel::Select s;
            arm(s, a, b, received);
            if (s.tryRun() >= 0)
                continue;
            QtChannel::Select wait; // none ready now: wait for one
            arm(wait, a, b, received);
            if (wait.runBlocking() < 0)
                break;
        }
    });
    FanInProducers producers(n, a, b);
    const qint64 sent = producers.join();
    consumer.join();
    m.stop();
    return {n, sent, received};
}

namespace {
Sample eventLoopFanIn(qint64 n, Meter &m, bool tryFirst) {
    IntChannel a(Capacity), b(Capacity);
    QEventLoop loop;
    EventLoopFanIn consumer(a, b, loop, tryFirst);
    QMetaObject::invokeMethod(
        consumer.context(), [&consumer] { consumer.next(); }, Qt::QueuedConnection);
    m.start();
    FanInProducers producers(n, a, b);
    loop.exec();
    const qint64 sent = producers.join();
    m.stop();
    return {n, sent, consumer.received};
}
} // namespace

Sample w7bQtChannelRun(qint64 n, Meter &m) {
    return eventLoopFanIn(n, m, false);
}

Sample w7bQtChannelTryRun(qint64 n, Meter &m) {
    return eventLoopFanIn(n, m, true);
}

Sample w7QtMutex(qint64 n, Meter &m) {
    TwoQueues q;
    qint64 received = 0;
    qint64 sent[2] = {};
    m.start();
    std::thread consumer([&] {
        while (std::optional<int> v = q.get())
            received += *v;
    });
    const auto produce = [&q, &sent](int which, qint64 first, qint64 last) {
        qint64 sum = 0;
        for (qint64 i = first; i <= last; ++i) {
            q.put(which, int(i));
            sum += i;
        }
        q.close(which);
        sent[which] = sum;
    };
    std::thread p0(produce, 0, 1, n / 2);
    std::thread p1(produce, 1, n / 2 + 1, n);
    p0.join();
    p1.join();
    consumer.join();
    m.stop();
    return {n, sent[0] + sent[1], received};
}

Sample w7cQtChannel(qint64 n, Meter &m) {
    IntChannel jobs(Capacity), stop(1);
    qint64 sent = 0;
    qint64 received = 0;
    m.start();
    std::thread worker([&] {
        bool stopped = false;
        while (!stopped) {
            QtChannel::Select s;
            s.onGet(jobs, [&received](int v) { received += v; });
            s.onGet(stop, [&stopped](int) { stopped = true; });
            check(s.runBlocking() >= 0, "no arm fired");
        }
        for (const int v : jobs.tryGetMany(Capacity)) // what was still queued
            received += v;
    });
    for (qint64 i = 1; i <= n; ++i) {
        check(jobs.putBlocking(int(i)) == QtChannel::PutResult::Ok, "put failed");
        sent += i;
    }
    check(stop.tryPut(1) == QtChannel::PutResult::Ok, "stop failed");
    worker.join();
    m.stop();
    return {n, sent, received};
}

Sample w7cQtChannelClose(qint64 n, Meter &m) {
    IntChannel jobs(Capacity);
    qint64 sent = 0;
    qint64 received = 0;
    m.start();
    std::thread worker([&] {
        while (std::optional<int> v = jobs.getBlocking())
            received += *v;
    });
    for (qint64 i = 1; i <= n; ++i) {
        check(jobs.putBlocking(int(i)) == QtChannel::PutResult::Ok, "put failed");
        sent += i;
    }
    jobs.close();
    worker.join();
    m.stop();
    return {n, sent, received};
}

Sample w7cQtCv(qint64 n, Meter &m) {
    JobQueue q;
    qint64 sent = 0;
    qint64 received = 0;
    m.start();
    std::thread worker([&] {
        while (std::optional<int> v = q.next())
            received += *v;
        received += q.leftover();
    });
    for (qint64 i = 1; i <= n; ++i) {
        q.put(int(i));
        sent += i;
    }
    q.stop();
    worker.join();
    m.stop();
    return {n, sent, received};
}

} // namespace Bench::Workloads
