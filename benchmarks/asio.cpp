// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// Boost.Asio's experimental channels (Boost 1.81), the peer closest to QtChannel in design:
//
// - from plain threads (W1-W3): try_send()/try_receive() first, and when they cannot complete,
//   async_send()/async_receive() with asio::use_future and a blocking get(). That is how a
//   thread waits for an Asio operation; its completion runs on Asio's system executor.
// - as C++20 coroutines (W1-W3, W5): co_await async_send()/async_receive() with
//   use_awaitable. Each thread runs its own io_context (concurrency hint 1) and the coroutines
//   are spread over them; W5 runs both on one io_context in the main thread.
// - W5's non-waiting API: try_send()/try_receive(), posted once per fill-and-drain cycle.
//
// Asio's close() discards buffered messages, so every stream ends with one 0 per consumer
// (items are 1..n) and nobody calls close() before the consumers are done.

#include "drivers.h"
#include "workloads.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <optional>
#include <thread>

namespace Bench::Workloads {

namespace asio = boost::asio;
using boost::system::error_code;
using ConcurrentChannel = asio::experimental::concurrent_channel<void(error_code, int)>;
using PlainChannel = asio::experimental::channel<void(error_code, int)>;

namespace {

constexpr qsizetype Capacity = 1024;

class AsioThreadQueue {
public:
    explicit AsioThreadQueue(qsizetype capacity)
        : m_channel(m_io, std::size_t(capacity)) {}
    AsioThreadQueue &producer() { return *this; }
    AsioThreadQueue &consumer() { return *this; }

    bool put(int v) {
        if (m_channel.try_send(error_code(), v))
            return true;
        try {
            m_channel.async_send(error_code(), v, asio::use_future).get();
            return true;
        } catch (const boost::system::system_error &) {
            return false;
        }
    }

    std::optional<int> get() {
        int v = 0;
        if (!m_channel.try_receive([&v](error_code ec, int item) {
                if (!ec)
                    v = item;
            })) {
            try {
                v = m_channel.async_receive(asio::use_future).get();
            } catch (const boost::system::system_error &) {
                return std::nullopt;
            }
        }
        return v == 0 ? std::nullopt : std::optional<int>(v);
    }

    void close(int consumers) {
        for (int i = 0; i < consumers; ++i)
            put(0);
    }
    qint64 leftover() const { return 0; }

private:
    asio::io_context m_io; // never run: it only gives the channel an executor
    ConcurrentChannel m_channel;
};

template <typename Ch>
asio::awaitable<void> produce(Ch &ch, qint64 first, qint64 last, qint64 &sent) {
    qint64 sum = 0;
    for (qint64 i = first; i <= last; ++i) {
        co_await ch.async_send(error_code(), int(i), asio::use_awaitable);
        sum += i;
    }
    sent = sum;
}

template <typename Ch> asio::awaitable<void> endStream(Ch &ch, int consumers) {
    for (int i = 0; i < consumers; ++i)
        co_await ch.async_send(error_code(), 0, asio::use_awaitable);
}

template <typename Ch> asio::awaitable<void> consume(Ch &ch, qint64 &received) {
    qint64 sum = 0;
    for (;;) {
        const int v = co_await ch.async_receive(asio::use_awaitable);
        if (v == 0)
            break;
        sum += v;
    }
    received = sum;
}

// Runs each io_context in its own thread until it runs out of work.
void runEach(asio::io_context &a, asio::io_context &b) {
    std::thread ta([&a] { a.run(); });
    std::thread tb([&b] { b.run(); });
    ta.join();
    tb.join();
}

} // namespace

Sample w1AsioThreads(qint64 n, Meter &m) {
    return Drivers::spsc<AsioThreadQueue>(n, m, Capacity);
}
Sample w2AsioThreads(qint64 n, Meter &m) {
    return Drivers::mpmc<AsioThreadQueue>(n, m, Capacity);
}
Sample w3AsioThreads(qint64 n, Meter &m) {
    return Drivers::pingpong<AsioThreadQueue>(n, m, 1);
}
Sample w3AsioThreadsRendezvous(qint64 n, Meter &m) {
    return Drivers::pingpong<AsioThreadQueue>(n, m, 0);
}

Sample w1AsioCoro(qint64 n, Meter &m) {
    asio::io_context a(1);
    asio::io_context b(1);
    ConcurrentChannel ch(a, Capacity);
    qint64 sent = 0;
    qint64 received = 0;
    asio::co_spawn(
        a,
        [&]() -> asio::awaitable<void> {
            co_await produce(ch, 1, n, sent);
            co_await endStream(ch, 1);
        },
        asio::detached);
    asio::co_spawn(b, consume(ch, received), asio::detached);
    m.start();
    runEach(a, b);
    m.stop();
    return {n, sent, received};
}

Sample w2AsioCoro(qint64 n, Meter &m) {
    asio::io_context a(1);
    asio::io_context b(1);
    ConcurrentChannel ch(a, Capacity);
    qint64 sent[2] = {};
    qint64 received[2] = {};
    std::atomic<int> left{2}; // producers still sending; they run on different threads
    asio::io_context *contexts[2] = {&a, &b};
    for (int p = 0; p < 2; ++p) {
        const qint64 first = p * (n / 2) + 1;
        const qint64 last = p == 1 ? n : n / 2;
        asio::co_spawn(
            *contexts[p],
            [&, p, first, last]() -> asio::awaitable<void> {
                co_await produce(ch, first, last, sent[p]);
                if (left.fetch_sub(1, std::memory_order_acq_rel) == 1)
                    co_await endStream(ch, 2);
            },
            asio::detached);
        asio::co_spawn(*contexts[p], consume(ch, received[p]), asio::detached);
    }
    m.start();
    runEach(a, b);
    m.stop();
    return {n, sent[0] + sent[1], received[0] + received[1]};
}

static Sample w3AsioCoroImpl(qint64 rounds, Meter &m, std::size_t capacity) {
    asio::io_context a(1);
    asio::io_context b(1);
    ConcurrentChannel there(a, capacity);
    ConcurrentChannel back(b, capacity);
    qint64 received = 0;
    asio::co_spawn(
        a,
        [&]() -> asio::awaitable<void> {
            qint64 sum = 0;
            for (qint64 i = 1; i <= rounds; ++i) {
                co_await there.async_send(error_code(), int(i), asio::use_awaitable);
                sum += co_await back.async_receive(asio::use_awaitable);
            }
            co_await there.async_send(error_code(), 0, asio::use_awaitable);
            received = sum;
        },
        asio::detached);
    asio::co_spawn(
        b,
        [&]() -> asio::awaitable<void> {
            for (;;) {
                const int v = co_await there.async_receive(asio::use_awaitable);
                if (v == 0)
                    break;
                co_await back.async_send(error_code(), v, asio::use_awaitable);
            }
        },
        asio::detached);
    m.start();
    runEach(a, b);
    m.stop();
    return {rounds, triangle(rounds), received};
}

Sample w3AsioCoro(qint64 n, Meter &m) {
    return w3AsioCoroImpl(n, m, 1);
}
Sample w3AsioCoroRendezvous(qint64 n, Meter &m) {
    return w3AsioCoroImpl(n, m, 0);
}

// W5 across two threads: W1's coroutines (each io_context in its own thread) at W5's size.
Sample w5AsioCoroThreads(qint64 n, Meter &m) {
    return w1AsioCoro(n, m);
}

// W5: both coroutines on one io_context in this thread.
template <typename Ch> static Sample w5AsioCoroImpl(qint64 n, Meter &m) {
    asio::io_context io(1);
    Ch ch(io, Capacity);
    qint64 sent = 0;
    qint64 received = 0;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            co_await produce(ch, 1, n, sent);
            co_await endStream(ch, 1);
        },
        asio::detached);
    asio::co_spawn(io, consume(ch, received), asio::detached);
    m.start();
    io.run();
    m.stop();
    return {n, sent, received};
}

Sample w5AsioCoro(qint64 n, Meter &m) {
    return w5AsioCoroImpl<ConcurrentChannel>(n, m);
}
Sample w5AsioCoroSingleThreaded(qint64 n, Meter &m) {
    return w5AsioCoroImpl<PlainChannel>(n, m);
}

// W5, non-waiting: fill until full, drain until empty, once per posted cycle.
template <typename Ch> static Sample w5AsioTryImpl(qint64 n, Meter &m) {
    asio::io_context io(1);
    Ch ch(io, Capacity);
    qint64 next = 1;
    qint64 sent = 0;
    qint64 received = 0;
    struct Cycle {
        asio::io_context &io;
        Ch &ch;
        qint64 n;
        qint64 &next, &sent, &received;
        void operator()() const {
            while (next <= n && ch.try_send(error_code(), int(next))) {
                sent += next;
                ++next;
            }
            while (ch.try_receive([this](error_code, int v) { received += v; })) {
            }
            if (next <= n)
                asio::post(io, *this);
            else
                ch.close();
        }
    };
    asio::post(io, Cycle{io, ch, n, next, sent, received});
    m.start();
    io.run();
    m.stop();
    return {n, sent, received};
}

Sample w5AsioTry(qint64 n, Meter &m) {
    return w5AsioTryImpl<ConcurrentChannel>(n, m);
}
Sample w5AsioTrySingleThreaded(qint64 n, Meter &m) {
    return w5AsioTryImpl<PlainChannel>(n, m);
}

} // namespace Bench::Workloads
