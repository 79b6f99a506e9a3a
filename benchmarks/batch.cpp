// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// Batches and the conflated channel.
//
// - W1 qtchannel-batch: W1 with batches of up to 64: the producer hands its items over with
//   tryPutMany() (and waits with putBlocking() for one item when nothing fits), the consumer
//   takes them with getManyBlocking(64).
// - W4 qtchannel-batch: W4's producer (putBlocking per item), the consumer on the event loop
//   drains with tryGetMany(64) on itemAvailable() until a batch comes back short (that call
//   armed the notification), as the coalesced peer swaps its list out once per wake-up.
// - W9 conflated: a producer thread puts 1..n as fast as it can into a channel of capacity 1
//   with Overflow::DropOldest (tryPut, never waits); the consumer on the main thread's event
//   loop takes the latest value on itemAvailable() and spends about a microsecond on each (a
//   consumer slower than the producer: a GUI showing a sensor). Items the policy evicts go to
//   the undelivered handler, which adds them up: sent = taken + evicted. Against the
//   hand-written "latest value under a mutex" with one queued call per empty -> set
//   transition. The time is per item put; the memory must stay flat.

#include "workloads.h"

#include <QtChannel/Channel>

#include <QtCore/QElapsedTimer>
#include <QtCore/QEventLoop>
#include <QtCore/QList>
#include <QtCore/QMutex>
#include <QtCore/QObject>

#include <cstdio>
#include <optional>
#include <thread>

namespace Bench::Workloads {

namespace {

constexpr qsizetype Capacity = 1024;
constexpr qsizetype Batch = 64;

// The slow consumer's work on each value it takes: about a microsecond.
void work() {
    QElapsedTimer t;
    t.start();
    while (t.nsecsElapsed() < 1000) {
    }
}

// The hand-written conflated peer: the latest value under a mutex.
class Latest {
public:
    Latest(QObject *context, std::function<void()> drain)
        : m_context(context)
        , m_drain(std::move(drain)) {}

    // Producer thread.
    void set(int v) {
        bool wasEmpty;
        {
            QMutexLocker lock(&m_mutex);
            wasEmpty = !m_value.has_value();
            if (!wasEmpty)
                evicted += *m_value;
            m_value = v;
        }
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
    // Main thread: the latest value, if any, and whether the stream is over.
    std::optional<int> take(bool &closed) {
        QMutexLocker lock(&m_mutex);
        closed = m_closed;
        return std::exchange(m_value, std::nullopt);
    }

    qint64 evicted = 0; // guarded by m_mutex; read after the producer is joined

private:
    void notify() { QMetaObject::invokeMethod(m_context, m_drain, Qt::QueuedConnection); }

    QObject *const m_context;
    const std::function<void()> m_drain;
    QMutex m_mutex;
    std::optional<int> m_value; // guarded by m_mutex
    bool m_closed = false;      // guarded by m_mutex
};

} // namespace

Sample w1QtChannelBatch(qint64 n, Meter &m) {
    QtChannel::Channel<int> ch(Capacity);
    qint64 sent = 0;
    qint64 received = 0;
    m.start();
    std::thread consumer([&] {
        qint64 sum = 0;
        for (;;) {
            const QList<int> items = ch.getManyBlocking(Batch);
            if (items.isEmpty())
                break;
            for (const int v : items)
                sum += v;
        }
        received = sum;
    });
    std::thread producer([&] {
        qint64 sum = 0;
        QList<int> batch;
        batch.reserve(Batch);
        qint64 next = 1;
        while (next <= n || !batch.isEmpty()) {
            while (batch.size() < Batch && next <= n) {
                batch.append(int(next));
                sum += next++;
            }
            if (ch.tryPutMany(batch) == 0) { // full: wait for room for one
                check(ch.putBlocking(batch.takeFirst()) == QtChannel::PutResult::Ok, "put failed");
            }
        }
        ch.close();
        sent = sum;
    });
    producer.join();
    consumer.join();
    m.stop();
    return {n, sent, received};
}

Sample w4QtChannelBatch(qint64 n, Meter &m) {
    QtChannel::Channel<int> ch(Capacity);
    QObject context;
    QEventLoop loop;
    qint64 sent = 0;
    qint64 received = 0;
    // Until a batch comes back short: that call armed itemAvailable() (no extra empty call).
    const auto drain = [&] {
        QList<int> items;
        do {
            items = ch.tryGetMany(Batch);
            for (const int v : items)
                received += v;
        } while (items.size() == Batch);
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

Sample w8QtChannelConflated(qint64 n, Meter &m) {
    QtChannel::Channel<int> ch(1, QtChannel::Overflow::DropOldest);
    QObject context;
    QEventLoop loop;
    qint64 sent = 0;
    qint64 received = 0;
    qint64 evicted = 0; // the producer's thread, where the handler runs
    ch.setUndeliveredHandler([&evicted](int &&v) { evicted += v; });
    const auto drain = [&] {
        while (std::optional<int> v = ch.tryGet()) {
            received += *v;
            work();
        }
        if (ch.isFinished())
            loop.quit();
    };
    QObject::connect(&ch, &QtChannel::ChannelBase::itemAvailable, &context, drain);
    QObject::connect(&ch, &QtChannel::ChannelBase::finished, &context, drain);
    m.start();
    qint64 refused = 0; // tryPut() calls that returned Full (see below)
    std::thread producer([&] {
        qint64 sum = 0;
        for (qint64 i = 1; i <= n; ++i) {
            // A DropOldest put is always accepted, by contract. In this core, a tryPut() that
            // races a consumer's take of the one buffered item may still return Full (the
            // evicting slow path finds the slot claimed but not yet released); the item is
            // then still ours, so the run tries again and counts it instead of failing.
            QtChannel::PutResult r;
            while ((r = ch.tryPut(int(i))) == QtChannel::PutResult::Full)
                ++refused;
            check(r == QtChannel::PutResult::Ok, "put did not go through");
            sum += i;
        }
        ch.close();
        sent = sum;
    });
    QMetaObject::invokeMethod(&context, drain, Qt::QueuedConnection);
    loop.exec();
    producer.join();
    m.stop();
    if (refused)
        std::fprintf(stderr, "W9/qtchannel-conflated: %lld tryPut() call(s) returned Full\n",
                     static_cast<long long>(refused));
    check(ch.droppedCount() > 0 || n < 100, "nothing was dropped: the consumer kept up");
    return {n, sent, received + evicted};
}

Sample w8LatestMutex(qint64 n, Meter &m) {
    QObject context;
    QEventLoop loop;
    qint64 sent = 0;
    qint64 received = 0;
    std::unique_ptr<Latest> latest;
    const auto drain = [&] {
        bool closed = false;
        while (std::optional<int> v = latest->take(closed)) {
            received += *v;
            work();
        }
        if (closed)
            loop.quit();
    };
    latest = std::make_unique<Latest>(&context, drain);
    m.start();
    std::thread producer([&] {
        qint64 sum = 0;
        for (qint64 i = 1; i <= n; ++i) {
            latest->set(int(i));
            sum += i;
        }
        latest->close();
        sent = sum;
    });
    loop.exec();
    producer.join();
    m.stop();
    return {n, sent, received + latest->evicted};
}

} // namespace Bench::Workloads
