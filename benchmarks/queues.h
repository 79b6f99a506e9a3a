// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

// The thread-driven queues of W1-W3, each in the form its users would write it, behind the
// adapter drivers.h describes. Asio's adapter is in asio.cpp.

#include <QtChannel/Channel>

#include <QtCore/QMutex>
#include <QtCore/QQueue>
#include <QtCore/QWaitCondition>

#include <concurrentqueue/blockingconcurrentqueue.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>

namespace Bench::Queues {

// QtChannel with its blocking calls, as a worker thread uses it.
class QtChannelQueue {
public:
    explicit QtChannelQueue(qsizetype capacity)
        : m_channel(capacity) {}
    QtChannelQueue &producer() { return *this; }
    QtChannelQueue &consumer() { return *this; }
    bool put(int v) { return m_channel.putBlocking(int(v)) == QtChannel::PutResult::Ok; }
    std::optional<int> get() { return m_channel.getBlocking(); }
    void close(int) { m_channel.close(); }
    qint64 leftover() const { return 0; }

private:
    QtChannel::Channel<int> m_channel;
};

// The textbook bounded queue: std::mutex, two std::condition_variables, a std::deque.
// Notifies after unlocking, so the woken thread does not wait for the mutex.
class StdCvQueue {
public:
    explicit StdCvQueue(qsizetype capacity)
        : m_capacity(size_t(capacity)) {}
    StdCvQueue &producer() { return *this; }
    StdCvQueue &consumer() { return *this; }

    bool put(int v) {
        std::unique_lock lock(m_mutex);
        m_notFull.wait(lock, [this] { return m_items.size() < m_capacity || m_closed; });
        if (m_closed)
            return false;
        m_items.push_back(v);
        lock.unlock();
        m_notEmpty.notify_one();
        return true;
    }

    std::optional<int> get() {
        std::unique_lock lock(m_mutex);
        m_notEmpty.wait(lock, [this] { return !m_items.empty() || m_closed; });
        if (m_items.empty())
            return std::nullopt;
        const int v = m_items.front();
        m_items.pop_front();
        lock.unlock();
        m_notFull.notify_one();
        return v;
    }

    void close(int) {
        {
            std::lock_guard lock(m_mutex);
            m_closed = true;
        }
        m_notEmpty.notify_all();
        m_notFull.notify_all();
    }
    qint64 leftover() const { return 0; }

private:
    std::mutex m_mutex;
    std::condition_variable m_notEmpty;
    std::condition_variable m_notFull;
    std::deque<int> m_items;
    const size_t m_capacity;
    bool m_closed = false;
};

// The same with Qt's primitives: QMutex, two QWaitConditions, a QQueue.
class QtCvQueue {
public:
    explicit QtCvQueue(qsizetype capacity)
        : m_capacity(capacity) {}
    QtCvQueue &producer() { return *this; }
    QtCvQueue &consumer() { return *this; }

    bool put(int v) {
        QMutexLocker lock(&m_mutex);
        while (m_items.size() >= m_capacity && !m_closed)
            m_notFull.wait(&m_mutex);
        if (m_closed)
            return false;
        m_items.enqueue(v);
        lock.unlock();
        m_notEmpty.wakeOne();
        return true;
    }

    std::optional<int> get() {
        QMutexLocker lock(&m_mutex);
        while (m_items.isEmpty() && !m_closed)
            m_notEmpty.wait(&m_mutex);
        if (m_items.isEmpty())
            return std::nullopt;
        const int v = m_items.dequeue();
        lock.unlock();
        m_notFull.wakeOne();
        return v;
    }

    void close(int) {
        {
            QMutexLocker lock(&m_mutex);
            m_closed = true;
        }
        m_notEmpty.wakeAll();
        m_notFull.wakeAll();
    }
    qint64 leftover() const { return 0; }

private:
    QMutex m_mutex;
    QWaitCondition m_notEmpty;
    QWaitCondition m_notFull;
    QQueue<int> m_items;
    const qsizetype m_capacity;
    bool m_closed = false;
};

/*
 * moodycamel's BlockingConcurrentQueue: unbounded and lock-free, with a token per thread (its
 * fastest documented use). It has no close and no bound, so it is a near-limit reference, not
 * a like-for-like peer: the capacity is ignored, and the end of the stream is one 0 per
 * consumer. Its FIFO order holds per producer only, so with two producers a 0 can overtake
 * items; leftover() takes those after the consumers stopped, inside the timed part.
 */
class MoodycamelQueue {
public:
    explicit MoodycamelQueue(qsizetype) {}

    class Producer {
    public:
        explicit Producer(MoodycamelQueue &q)
            : m_q(q)
            , m_token(q.m_queue) {}
        bool put(int v) { return m_q.m_queue.enqueue(m_token, v); }

    private:
        MoodycamelQueue &m_q;
        moodycamel::ProducerToken m_token;
    };
    class Consumer {
    public:
        explicit Consumer(MoodycamelQueue &q)
            : m_q(q)
            , m_token(q.m_queue) {}
        std::optional<int> get() {
            int v;
            m_q.m_queue.wait_dequeue(m_token, v);
            return v == 0 ? std::nullopt : std::optional<int>(v);
        }

    private:
        MoodycamelQueue &m_q;
        moodycamel::ConsumerToken m_token;
    };

    Producer producer() { return Producer(*this); }
    Consumer consumer() { return Consumer(*this); }
    void close(int consumers) {
        for (int i = 0; i < consumers; ++i)
            m_queue.enqueue(0);
    }
    qint64 leftover() {
        qint64 sum = 0;
        int v;
        while (m_queue.try_dequeue(v))
            sum += v;
        return sum;
    }

private:
    moodycamel::BlockingConcurrentQueue<int> m_queue;
};

} // namespace Bench::Queues
