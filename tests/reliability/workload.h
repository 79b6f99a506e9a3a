// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

/*
 * The mixed multi-threaded workload shared by tst_stress and the soak binary.
 *
 * Producer threads put with every style (putBlocking, tryPut retried on Full, put() futures
 * waited for, put() futures canceled at once, putBlocking with a short deadline, retried).
 * Consumer threads take with every style (getBlocking, tryGet polling, get() futures waited
 * for, get() futures canceled at once, getBlocking with a short deadline). An event-loop
 * thread runs a forEach() and an itemAvailable() slot that drains with tryGet(). The channel
 * is closed at a random moment: when the accepted puts reach a random count, by the producer
 * that made it, or after all producers are done.
 *
 * Then it checks the accounting: every accepted item was taken exactly once (the channel is
 * finished, so none is still buffered); nothing was taken that was not put; each consumer saw
 * each producer's items in the order they were put; every future settled; every thread
 * returned; join() finished; no item outlives the channel.
 *
 * Values encode (producer, sequence). A put whose future the producer canceled may or may not
 * have been accepted (a cancel may race the acceptance), so its item may be taken at most once.
 */

#include "items.h"
#include "sync.h"

#include <QtChannel/Channel>

#include <QtCore/QDeadlineTimer>
#include <QtCore/QThread>

#include <atomic>
#include <latch>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace Rel {

struct WorkloadConfig {
    qsizetype capacity = QtChannel::Unbounded;
    int producers = 3;
    int consumers = 2;
    int perProducer = 2000;
    quint32 seed = 1;
    // Close when this many puts were accepted; -1: after every producer is done.
    int closeAfter = -1;
    bool eventLoopConsumers = true;
};

struct WorkloadResult {
    std::string error; // empty: every check passed
    quint64 accepted = 0, taken = 0, canceledPuts = 0, canceledGets = 0, keptByCanceledGets = 0;
};

inline std::string describe(const WorkloadConfig &c) {
    std::ostringstream out;
    out << "capacity " << c.capacity << ", " << c.producers << " producers, " << c.consumers
        << " consumers, " << c.perProducer << " items each, seed " << c.seed << ", close after "
        << c.closeAfter << (c.eventLoopConsumers ? ", with" : ", without")
        << " event-loop consumers";
    return out.str();
}

namespace detail {

constexpr int Stride = 1 << 20;

// Waits for `pred` with a bound that only a failing (hanging) run reaches.
template <typename Pred> bool waitUntil(Pred &&pred, int timeoutMs = 120000) {
    QDeadlineTimer deadline(timeoutMs);
    while (!pred()) {
        if (deadline.hasExpired())
            return false;
        QThread::usleep(200);
    }
    return true;
}

} // namespace detail

template <typename T = Tracked> WorkloadResult runWorkload(const WorkloadConfig &cfg) {
    using namespace QtChannel;
    using detail::Stride;
    WorkloadResult result;
    std::ostringstream errors;
    const long liveBefore = Tracked::live();
    const int total = cfg.producers * cfg.perProducer;

    // What each producer knows: accepted for sure, or canceled (maybe accepted).
    std::vector<std::vector<char>> accepted(size_t(cfg.producers),
                                            std::vector<char>(size_t(cfg.perProducer), 0));
    std::vector<std::vector<char>> maybe(size_t(cfg.producers),
                                         std::vector<char>(size_t(cfg.perProducer), 0));
    std::vector<std::vector<int>> runs(size_t(cfg.consumers) + 2); // + forEach, + slot
    std::vector<std::vector<QFuture<T>>> canceledGets(size_t(cfg.consumers));
    std::vector<std::vector<QFuture<void>>> canceledPuts(size_t(cfg.producers));
    std::mutex eventLoopMutex; // guards runs[consumers], runs[consumers + 1]
    std::atomic<int> acceptedCount{0};
    QFuture<void> forEachDone, joined;
    {
        auto ch = std::make_unique<Channel<T>>(cfg.capacity);
        Channel<T> &c = *ch;
        joined = c.join();

        // The event-loop consumers live in their own thread.
        QThread loopThread;
        QObject *context = nullptr;
        if (cfg.eventLoopConsumers) {
            loopThread.start();
            context = new QObject;
            context->moveToThread(&loopThread);
            auto &forEachRun = runs[size_t(cfg.consumers)];
            auto &slotRun = runs[size_t(cfg.consumers) + 1];
            forEachDone = c.forEach(context, [&](T item) {
                std::lock_guard lock(eventLoopMutex);
                forEachRun.push_back(item.value());
            });
            QObject::connect(&c, &ChannelBase::itemAvailable, context, [&] {
                while (std::optional<T> item = c.tryGet()) {
                    std::lock_guard lock(eventLoopMutex);
                    slotRun.push_back(item->value());
                }
            });
        }

        const auto closeIfDue = [&] {
            if (acceptedCount.fetch_add(1, std::memory_order_relaxed) + 1 == cfg.closeAfter)
                c.close();
        };

        // Invariants that hold at every moment, checked while the workload runs.
        std::atomic<bool> stopMonitor{false};
        std::string monitorError;
        std::thread monitor([&] {
            bool wasClosed = false, wasFinished = false;
            while (!stopMonitor.load(std::memory_order_acquire) && monitorError.empty()) {
                const bool finished = c.isFinished(); // read first: finished implies closed
                const bool closed = c.isClosed();
                const qsizetype size = c.size();
                if (size < 0 || (cfg.capacity >= 0 && size > cfg.capacity))
                    monitorError = "size() " + std::to_string(size) + " out of range; ";
                else if (finished && !closed)
                    monitorError = "finished but not closed; ";
                else if ((wasClosed && !closed) || (wasFinished && !finished))
                    monitorError = "closed or finished went back; ";
                else if (c.capacity() != cfg.capacity)
                    monitorError = "capacity() changed; ";
                wasClosed = closed;
                wasFinished = finished;
                std::this_thread::yield();
            }
        });

        std::latch start(cfg.producers + cfg.consumers);
        std::vector<std::thread> threads;
        for (int p = 0; p < cfg.producers; ++p) {
            threads.emplace_back([&, p] {
                std::mt19937 rng(cfg.seed * 7919u + quint32(p));
                start.arrive_and_wait();
                for (int i = 0; i < cfg.perProducer; ++i) {
                    const int v = p * Stride + i;
                    PutResult r = PutResult::Ok;
                    switch (rng() % 5) {
                    case 0:
                        r = c.putBlocking(T(v));
                        break;
                    case 1:
                        while ((r = c.tryPut(T(v))) == PutResult::Full)
                            std::this_thread::yield();
                        break;
                    case 2:
                        try {
                            c.put(T(v)).waitForFinished();
                        } catch (const ChannelClosed &) {
                            r = PutResult::Closed;
                        }
                        break;
                    case 3: {
                        QFuture<void> f = c.put(T(v));
                        if (rng() % 2) {
                            f.cancel();
                            canceledPuts[size_t(p)].push_back(f);
                            maybe[size_t(p)][size_t(i)] = 1;
                            continue;
                        }
                        try {
                            f.waitForFinished();
                        } catch (const ChannelClosed &) {
                            r = PutResult::Closed;
                        }
                        break;
                    }
                    default:
                        while ((r = c.putBlocking(T(v), QDeadlineTimer(std::chrono::microseconds(
                                                            50 + rng() % 500)))) ==
                               PutResult::Full) {
                        }
                        break;
                    }
                    if (r == PutResult::Closed)
                        return; // closed: nothing more will be accepted
                    accepted[size_t(p)][size_t(i)] = 1;
                    closeIfDue();
                }
            });
        }
        for (int k = 0; k < cfg.consumers; ++k) {
            threads.emplace_back([&, k] {
                std::mt19937 rng(cfg.seed * 104729u + quint32(k));
                auto &run = runs[size_t(k)];
                start.arrive_and_wait();
                for (;;) {
                    switch (rng() % 5) {
                    case 0:
                        if (std::optional<T> item = c.getBlocking())
                            run.push_back(item->value());
                        else
                            return; // finished
                        break;
                    case 1:
                        if (std::optional<T> item = c.tryGet())
                            run.push_back(item->value());
                        else if (c.isFinished())
                            return;
                        else
                            std::this_thread::yield();
                        break;
                    case 2:
                        try {
                            QFuture<T> f = c.get();
                            f.waitForFinished();
                            run.push_back(f.resultAt(0).value());
                        } catch (const ChannelClosed &) {
                            return;
                        }
                        break;
                    case 3: {
                        QFuture<T> f = c.get();
                        f.cancel();
                        canceledGets[size_t(k)].push_back(f);
                        break;
                    }
                    default:
                        if (std::optional<T> item = c.getBlocking(
                                QDeadlineTimer(std::chrono::microseconds(50 + rng() % 500))))
                            run.push_back(item->value());
                        else if (c.isFinished())
                            return;
                        break;
                    }
                }
            });
        }
        // Producers first, then close (if no producer did), then the consumers.
        for (int p = 0; p < cfg.producers; ++p)
            threads[size_t(p)].join();
        c.close();
        for (int k = 0; k < cfg.consumers; ++k)
            threads[size_t(cfg.producers + k)].join();
        stopMonitor.store(true, std::memory_order_release);
        monitor.join();
        errors << monitorError;

        if (cfg.eventLoopConsumers) {
            if (!detail::waitUntil([&] { return forEachDone.isFinished(); }))
                errors << "the forEach future never finished; ";
            deleteInItsThread(context);
            loopThread.quit();
            loopThread.wait();
        }
        if (!c.isFinished())
            errors << "the channel is not finished after every consumer returned; ";
        if (c.size() != 0)
            errors << "items left in a finished channel; ";
        if (c.pendingGets() != 0 || c.pendingPuts() != 0)
            errors << "waiters left in a finished channel; ";
    } // the channel is destroyed here

    // The event-loop thread's records, read under the lock they were written under (a
    // QThread::wait() is invisible to ThreadSanitizer).
    std::lock_guard eventLoopLock(eventLoopMutex);
    // Every future settled.
    if (!joined.isFinished() || joined.isCanceled())
        errors << "join() did not finish; ";
    if (cfg.eventLoopConsumers && (forEachDone.isCanceled()))
        errors << "the forEach future was canceled; ";
    std::vector<int> takenBy(size_t(total), 0);
    auto countTaken = [&](int v) {
        const int p = v / Stride, i = v % Stride;
        if (p < 0 || p >= cfg.producers || i < 0 || i >= cfg.perProducer) {
            errors << "took " << v << ", which was never put; ";
            return;
        }
        ++takenBy[size_t(p * cfg.perProducer + i)];
    };
    for (auto &futures : canceledPuts) {
        for (QFuture<void> &f : futures) {
            ++result.canceledPuts;
            if (!f.isFinished())
                errors << "a canceled put() future never finished; ";
        }
    }
    for (auto &futures : canceledGets) {
        for (QFuture<T> &f : futures) {
            ++result.canceledGets;
            if (!f.isFinished()) {
                errors << "a canceled get() future never finished; ";
                continue;
            }
            if (f.resultCount() == 1) { // canceled just after it was handed its item: keeps it
                ++result.keptByCanceledGets;
                countTaken(f.resultAt(0).value());
            }
        }
    }
    for (size_t k = 0; k < runs.size(); ++k) {
        std::vector<int> last(size_t(cfg.producers), -1);
        for (int v : runs[k]) {
            countTaken(v);
            const int p = v / Stride, i = v % Stride;
            if (p >= 0 && p < cfg.producers) {
                if (i <= last[size_t(p)])
                    errors << "consumer " << k << " saw producer " << p << "'s item " << i
                           << " after item " << last[size_t(p)] << "; ";
                last[size_t(p)] = i;
            }
        }
    }
    for (int p = 0; p < cfg.producers; ++p) {
        for (int i = 0; i < cfg.perProducer; ++i) {
            const int n = takenBy[size_t(p * cfg.perProducer + i)];
            const bool sure = accepted[size_t(p)][size_t(i)];
            const bool canceled = maybe[size_t(p)][size_t(i)];
            result.accepted += sure ? 1 : 0;
            result.taken += quint64(n);
            if (n > 1)
                errors << "item " << p << ":" << i << " taken " << n << " times; ";
            else if (sure && n == 0)
                errors << "accepted item " << p << ":" << i << " was lost; ";
            else if (!sure && !canceled && n == 1)
                errors << "item " << p << ":" << i << " was taken although its put failed; ";
        }
    }
    canceledGets.clear();
    canceledPuts.clear();
    if constexpr (std::is_same_v<T, Tracked>) {
        if (Tracked::live() != liveBefore)
            errors << Tracked::live() - liveBefore << " items outlive the channel; ";
    }
    result.error = errors.str();
    if (result.error.size() > 2000)
        result.error.resize(2000);
    return result;
}

} // namespace Rel
