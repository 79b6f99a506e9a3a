// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// 07 - handles: Sender and Receiver close the channel for you.
//
// makeChannel<T>() gives a channel owned by its handles: a Sender (the put side) and a
// Receiver (the get side), both copyable. When the last Sender is gone, the channel is closed,
// so consumers end even though no producer called close(). When the last Receiver is gone,
// the channel is closed too, so producers stop instead of filling a channel nobody reads.

#include <QtChannel/Channel>

#include <cstdio>
#include <thread>
#include <utility>
#include <vector>

using QtChannel::PutResult;
using QtChannel::Receiver;
using QtChannel::Sender;

// Part 1: three producers, none of which calls close().
static bool producersEndTheStream() {
    auto [tx, rx] = QtChannel::makeChannel<int>(4);

    std::vector<std::jthread> producers;
    for (int p = 0; p < 3; ++p) {
        // Each thread owns a copy of the Sender, which goes when its thread function returns.
        producers.emplace_back([tx = tx, p] {
            for (int i = 0; i < 100; ++i)
                tx.putBlocking(p * 100 + i);
        });
    }
    tx.reset(); // this thread puts nothing: let go of its Sender, or the channel stays open

    // The consumer simply runs until the channel is finished: closed by the last Sender.
    int count = 0;
    long long sum = 0;
    while (std::optional<int> n = rx.getBlocking()) {
        ++count;
        sum += *n;
    }
    std::printf("consumer: took %d items (sum %lld); the last Sender closed the channel: %s\n",
                count, sum, rx.channel()->isFinished() ? "finished" : "NOT finished");
    return count == 300 && sum == 299 * 300 / 2;
}

// Part 2: a producer of an endless stream, and a consumer that stops after ten items.
static bool consumerStopsTheProducer() {
    auto [tx, rx] = QtChannel::makeChannel<int>(4);

    int sent = 0;
    std::jthread producer([tx = std::move(tx), &sent] {
        // An endless stream: it ends when nobody reads any more.
        while (tx.putBlocking(sent) == PutResult::Ok)
            ++sent;
    });

    int taken = 0;
    {
        Receiver<int> consumer = std::move(rx); // the only Receiver
        while (taken < 10 && consumer.getBlocking())
            ++taken;
    } // the last Receiver is gone: the channel is closed, the producer's put returns Closed

    producer.join();
    std::printf("producer: stopped after %d items, as the consumer took %d and left\n", sent,
                taken);
    // At most the 4 buffered items (and none waiting) were sent but never taken.
    return taken == 10 && sent >= 10 && sent <= 10 + 4;
}

int main() {
    const bool ok1 = producersEndTheStream();
    const bool ok2 = consumerStopsTheProducer();
    std::printf("%s\n",
                ok1 && ok2 ? "both ends closed the channel by themselves" : "something went wrong");
    return ok1 && ok2 ? 0 : 1;
}
