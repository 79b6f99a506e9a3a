// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// W1-W3 for QtChannel and the queues plain threads drive (queues.h), and the W3 floor: two
// threads waking each other through the kernel.

#include "drivers.h"
#include "queues.h"
#include "workloads.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <thread>

namespace Bench::Workloads {

using namespace Queues;

constexpr qsizetype Capacity = 1024;

Sample w1QtChannel(qint64 n, Meter &m) {
    return Drivers::spsc<QtChannelQueue>(n, m, Capacity);
}
Sample w1StdCv(qint64 n, Meter &m) {
    return Drivers::spsc<StdCvQueue>(n, m, Capacity);
}
Sample w1QtCv(qint64 n, Meter &m) {
    return Drivers::spsc<QtCvQueue>(n, m, Capacity);
}
Sample w1Moodycamel(qint64 n, Meter &m) {
    return Drivers::spsc<MoodycamelQueue>(n, m, Capacity);
}

Sample w2QtChannel(qint64 n, Meter &m) {
    return Drivers::mpmc<QtChannelQueue>(n, m, Capacity);
}
Sample w2StdCv(qint64 n, Meter &m) {
    return Drivers::mpmc<StdCvQueue>(n, m, Capacity);
}
Sample w2QtCv(qint64 n, Meter &m) {
    return Drivers::mpmc<QtCvQueue>(n, m, Capacity);
}
Sample w2Moodycamel(qint64 n, Meter &m) {
    return Drivers::mpmc<MoodycamelQueue>(n, m, Capacity);
}

Sample w3QtChannel(qint64 n, Meter &m) {
    return Drivers::pingpong<QtChannelQueue>(n, m, 1);
}
Sample w3QtChannelRendezvous(qint64 n, Meter &m) {
    return Drivers::pingpong<QtChannelQueue>(n, m, 0);
}
Sample w3StdCv(qint64 n, Meter &m) {
    return Drivers::pingpong<StdCvQueue>(n, m, 1);
}
Sample w3QtCv(qint64 n, Meter &m) {
    return Drivers::pingpong<QtCvQueue>(n, m, 1);
}
Sample w3Moodycamel(qint64 n, Meter &m) {
    return Drivers::pingpong<MoodycamelQueue>(n, m, 1);
}

namespace {

// Sleeps in the kernel until *word holds `expected`; never spins.
void awaitValue(std::atomic<std::uint32_t> &word, std::uint32_t expected) {
    for (;;) {
        const std::uint32_t seen = word.load(std::memory_order_acquire);
        if (seen == expected)
            return;
        ::syscall(SYS_futex, reinterpret_cast<std::uint32_t *>(&word), FUTEX_WAIT_PRIVATE, seen,
                  nullptr, nullptr, 0);
    }
}

void publish(std::atomic<std::uint32_t> &word, std::uint32_t value) {
    word.store(value, std::memory_order_release);
    ::syscall(SYS_futex, reinterpret_cast<std::uint32_t *>(&word), FUTEX_WAKE_PRIVATE, 1, nullptr,
              nullptr, 0);
}

} // namespace

// The W3 floor: each round trip is two futex wakes and, unless the other side is quicker than
// the check, two futex waits. The echoed value is the word itself.
Sample w3FutexFloor(qint64 rounds, Meter &m) {
    std::atomic<std::uint32_t> there{0};
    std::atomic<std::uint32_t> back{0};
    qint64 received = 0;
    m.start();
    std::thread pong([&] {
        for (qint64 i = 1; i <= rounds; ++i) {
            awaitValue(there, std::uint32_t(i));
            publish(back, there.load(std::memory_order_relaxed));
        }
    });
    std::thread ping([&] {
        qint64 sum = 0;
        for (qint64 i = 1; i <= rounds; ++i) {
            publish(there, std::uint32_t(i));
            awaitValue(back, std::uint32_t(i));
            sum += back.load(std::memory_order_relaxed);
        }
        received = sum;
    });
    ping.join();
    pong.join();
    m.stop();
    return {rounds, triangle(rounds), received};
}

} // namespace Bench::Workloads
