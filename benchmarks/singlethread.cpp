// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// W5: producer and consumer on one thread's event loop, capacity 1024.
//
// The future API: each side loops while its futures are ready at once, and when one is
// pending it attaches a continuation (then() with a context) that resumes the loop; a pending
// put is completed by the consumer's get and the other way round. A continuation attached to a
// future that is already finished would run at once, inside then() (Qt 6.4), so a loop that
// chained every item through then() would recurse a million deep: checking isFinished() first
// is how a real program avoids that.
//
// The non-waiting API: fill with tryPut() until Full, drain with tryGet() until empty, one
// posted call per cycle (Asio's counterpart in asio.cpp does the same with asio::post).

#include "workloads.h"

#include <QtChannel/Channel>

#include <QtCore/QEventLoop>
#include <QtCore/QObject>

#include <optional>

namespace Bench::Workloads {

namespace {

constexpr qsizetype Capacity = 1024;

class FuturePipe {
public:
    FuturePipe(qint64 n, QEventLoop *loop)
        : m_n(n)
        , m_loop(loop) {}

    void produce() {
        while (m_next <= m_n) {
            QFuture<void> put = m_channel.put(int(m_next));
            m_sent += m_next++;
            if (!put.isFinished()) {
                put.then(&m_context, [this] { produce(); });
                return;
            }
        }
        m_channel.close();
    }

    void consume() {
        for (;;) {
            QFuture<int> get = m_channel.get();
            if (!get.isFinished()) {
                get.then(&m_context, [this](QFuture<int> f) {
                    if (take(f))
                        consume();
                });
                return;
            }
            if (!take(get))
                return;
        }
    }

    QObject *context() { return &m_context; }
    qint64 sent() const { return m_sent; }
    qint64 received() const { return m_received; }

private:
    // False at the end of the stream (the get failed with ChannelClosed).
    bool take(const QFuture<int> &f) {
        try {
            m_received += f.result();
            return true;
        } catch (const QtChannel::ChannelClosed &) {
            m_loop->quit();
            return false;
        }
    }

    QtChannel::Channel<int> m_channel{Capacity};
    QObject m_context;
    const qint64 m_n;
    QEventLoop *const m_loop;
    qint64 m_next = 1;
    qint64 m_sent = 0;
    qint64 m_received = 0;
};

} // namespace

Sample w5QtChannelFutures(qint64 n, Meter &m) {
    QEventLoop loop;
    FuturePipe pipe(n, &loop);
    QMetaObject::invokeMethod(
        pipe.context(), [&pipe] { pipe.consume(); }, Qt::QueuedConnection);
    QMetaObject::invokeMethod(
        pipe.context(), [&pipe] { pipe.produce(); }, Qt::QueuedConnection);
    m.start();
    loop.exec();
    m.stop();
    return {n, pipe.sent(), pipe.received()};
}

Sample w5QtChannelNonWaiting(qint64 n, Meter &m) {
    QtChannel::Channel<int> ch(Capacity);
    QObject context;
    QEventLoop loop;
    qint64 next = 1;
    qint64 sent = 0;
    qint64 received = 0;
    std::function<void()> cycle = [&] {
        while (next <= n && ch.tryPut(int(next)) == QtChannel::PutResult::Ok) {
            sent += next;
            ++next;
        }
        while (std::optional<int> v = ch.tryGet())
            received += *v;
        if (next <= n) {
            QMetaObject::invokeMethod(&context, cycle, Qt::QueuedConnection);
        } else {
            ch.close();
            loop.quit();
        }
    };
    QMetaObject::invokeMethod(&context, cycle, Qt::QueuedConnection);
    m.start();
    loop.exec();
    m.stop();
    check(ch.isFinished(), "not finished");
    return {n, sent, received};
}

} // namespace Bench::Workloads
