// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

// W1, W2 and W3 written once for every queue that plain threads drive with blocking calls.
//
// A queue Q is driven through a thin adapter:
//   Q q(capacity);
//   auto p = q.producer();  bool p.put(int)          waits for room; false if closed
//   auto c = q.consumer();  std::optional<int> c.get()  waits; std::nullopt at end of stream
//   q.close(consumers)      end of stream, after everything put so far
//   q.leftover()            once every thread has been joined: the sum of the items no
//                           consumer took (non-zero only where an end-of-stream marker can
//                           overtake items; the run then takes them itself, timed)
// producer() and consumer() exist for the queues that want a per-thread token (moodycamel);
// for the others they are the queue itself. Items are the ints 1..n: 0 is free to serve as an
// end-of-stream marker for queues that cannot be closed.

#include "harness.h"

#include <atomic>
#include <optional>
#include <thread>
#include <vector>

namespace Bench::Drivers {

// W1: one producer thread, one consumer thread; the producer closes.
template <typename Q> Sample spsc(qint64 n, Meter &meter, qsizetype capacity) {
    Q q(capacity);
    qint64 sent = 0;
    qint64 received = 0;
    meter.start();
    std::thread consumer([&] {
        decltype(auto) c = q.consumer();
        qint64 sum = 0;
        while (std::optional<int> v = c.get())
            sum += *v;
        received = sum;
    });
    std::thread producer([&] {
        decltype(auto) p = q.producer();
        qint64 sum = 0;
        for (qint64 i = 1; i <= n; ++i) {
            check(p.put(int(i)), "put failed");
            sum += i;
        }
        q.close(1);
        sent = sum;
    });
    producer.join();
    consumer.join();
    received += q.leftover();
    meter.stop();
    return {n, sent, received};
}

// W2: two producers, two consumers, n items in total; the last producer to finish closes.
template <typename Q> Sample mpmc(qint64 n, Meter &meter, qsizetype capacity) {
    constexpr int Producers = 2;
    constexpr int Consumers = 2;
    Q q(capacity);
    std::atomic<int> producing{Producers};
    qint64 sent[Producers] = {};
    qint64 received[Consumers] = {};
    meter.start();
    std::vector<std::thread> threads;
    for (int c = 0; c < Consumers; ++c) {
        threads.emplace_back([&, c] {
            decltype(auto) consumer = q.consumer();
            qint64 sum = 0;
            while (std::optional<int> v = consumer.get())
                sum += *v;
            received[c] = sum;
        });
    }
    for (int p = 0; p < Producers; ++p) {
        threads.emplace_back([&, p] {
            decltype(auto) producer = q.producer();
            const qint64 first = p * (n / Producers) + 1;
            const qint64 last = p == Producers - 1 ? n : (p + 1) * (n / Producers);
            qint64 sum = 0;
            for (qint64 i = first; i <= last; ++i) {
                check(producer.put(int(i)), "put failed");
                sum += i;
            }
            sent[p] = sum;
            if (producing.fetch_sub(1, std::memory_order_acq_rel) == 1)
                q.close(Consumers);
        });
    }
    for (std::thread &t : threads)
        t.join();
    const qint64 leftover = q.leftover();
    meter.stop();
    return {n, sent[0] + sent[1], received[0] + received[1] + leftover};
}

// W3: two threads, two queues; the first sends 1..rounds and waits for each echo.
template <typename Q> Sample pingpong(qint64 rounds, Meter &meter, qsizetype capacity) {
    Q there(capacity);
    Q back(capacity);
    qint64 received = 0;
    meter.start();
    std::thread pong([&] {
        decltype(auto) in = there.consumer();
        decltype(auto) out = back.producer();
        while (std::optional<int> v = in.get())
            check(out.put(*v), "echo failed");
    });
    std::thread ping([&] {
        decltype(auto) out = there.producer();
        decltype(auto) in = back.consumer();
        qint64 sum = 0;
        for (qint64 i = 1; i <= rounds; ++i) {
            check(out.put(int(i)), "ping failed");
            const std::optional<int> v = in.get();
            check(v.has_value(), "no echo");
            sum += *v;
        }
        there.close(1);
        received = sum;
    });
    ping.join();
    pong.join();
    meter.stop();
    return {rounds, triangle(rounds), received};
}

} // namespace Bench::Drivers
