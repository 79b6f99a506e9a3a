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

#include "coro.h"
#include "items.h"
#include "sync.h"

#include <QtChannel/Channel>

#include <QtCore/QDeadlineTimer>
#include <QtCore/QThread>

#include <atomic>
#include <exception>
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
    // What a full channel does; a drop policy needs a capacity >= 1 (items are then lost by
    // design, each one to the undelivered handler).
    QtChannel::Overflow overflow = QtChannel::Overflow::Wait;
    bool closeWithReason = false; // the closing call gives a reason: failed futures carry it
    bool clearOnClose = false;    // the random close is followed by clear(): queued work dropped
    // The styles added with batches, select and awaiters: tryPutMany, select puts (runBlocking
    // with a deadline, tryRun), getManyBlocking, tryGetMany, getMany, select gets (runBlocking
    // over the channel and a stop channel, with and without a deadline), and on the event-loop
    // thread a coroutine consumer (receive()) and a coroutine producer (send()).
    bool newStyles = true;
};

struct WorkloadResult {
    std::string error; // empty: every check passed
    quint64 accepted = 0, taken = 0, canceledPuts = 0, canceledGets = 0, keptByCanceledGets = 0;
    quint64 undelivered = 0, dropped = 0, selects = 0, batches = 0, coroutineItems = 0;
};

// The reason a workload closes its channel with, when it gives one.
struct WorkloadCloseReason : std::runtime_error {
    WorkloadCloseReason()
        : std::runtime_error("the workload's close reason") {}
};

inline std::string describe(const WorkloadConfig &c) {
    std::ostringstream out;
    out << "capacity " << c.capacity << ", " << c.producers << " producers, " << c.consumers
        << " consumers, " << c.perProducer << " items each, seed " << c.seed << ", close after "
        << c.closeAfter << (c.eventLoopConsumers ? ", with" : ", without")
        << " event-loop consumers, overflow " << int(c.overflow)
        << (c.closeWithReason ? ", close with a reason" : "")
        << (c.clearOnClose ? ", clear on close" : "") << (c.newStyles ? "" : ", classic styles");
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

// What a future failed with: 1 ChannelClosed, 2 the close reason, 3 anything else.
inline int failureKind(std::exception_ptr e) {
    try {
        std::rethrow_exception(e);
    } catch (const QtChannel::ChannelClosed &) {
        return 1;
    } catch (const WorkloadCloseReason &) {
        return 2;
    } catch (...) {
        return 3;
    }
}

template <typename T, typename Record> Task receiveAll(QtChannel::Channel<T> &c, Record record) {
    while (std::optional<T> item = co_await c.receive())
        record(item->value());
}

template <typename T, typename Sent>
Task sendAll(QtChannel::Channel<T> &c, int first, int n, Sent sent) {
    for (int i = 0; i < n; ++i) {
        if (co_await c.send(T(first + i)) != QtChannel::PutResult::Ok) {
            sent(i, false);
            break;
        }
        sent(i, true);
    }
    sent(-1, false); // done
}

} // namespace detail

template <typename T = Tracked> WorkloadResult runWorkload(const WorkloadConfig &cfg) {
    using namespace QtChannel;
    using detail::Stride;
    WorkloadResult result;
    std::ostringstream errors;
    const long liveBefore = Tracked::live();
    // A coroutine producer on the event-loop thread is producer number `cfg.producers`.
    const bool coroutines = cfg.newStyles && cfg.eventLoopConsumers;
    const int producerCount = cfg.producers + (coroutines ? 1 : 0);
    const int total = producerCount * cfg.perProducer;
    std::mutex accountMutex; // guards undelivered, failures
    std::vector<int> undelivered;
    int failures[4] = {0, 0, 0, 0}; // by failureKind()
    bool closedWithReason = false;
    const auto failed = [&](std::exception_ptr e) {
        std::lock_guard lock(accountMutex);
        ++failures[detail::failureKind(e)];
    };

    // What each producer knows: accepted for sure, or canceled (maybe accepted).
    std::vector<std::vector<char>> accepted(size_t(producerCount),
                                            std::vector<char>(size_t(cfg.perProducer), 0));
    std::vector<std::vector<char>> maybe(size_t(producerCount),
                                         std::vector<char>(size_t(cfg.perProducer), 0));
    // + forEach, + slot, + coroutine consumer
    std::vector<std::vector<int>> runs(size_t(cfg.consumers) + 3);
    std::vector<std::vector<QFuture<T>>> canceledGets(size_t(cfg.consumers));
    std::vector<std::vector<QFuture<void>>> canceledPuts(size_t(cfg.producers));
    // guards runs[consumers ..], the coroutine producer's rows of accepted/maybe
    std::mutex eventLoopMutex;
    std::atomic<int> acceptedCount{0};
    std::atomic<quint64> selects{0}, batches{0};
    std::atomic<bool> stopFired{false};
    QFuture<void> forEachDone, joined;
    {
        auto ch = std::make_unique<Channel<T>>(cfg.capacity, cfg.overflow);
        Channel<T> &c = *ch;
        // Every item handed to the channel that will never be taken comes here, once.
        c.setUndeliveredHandler([&](T &&item) {
            std::lock_guard lock(accountMutex);
            undelivered.push_back(item.value());
        });
        // The select arms' stop channel: closed once the producers are done.
        Channel<int> stop(0);
        joined = c.join();
        std::atomic<bool> coroProducerDone{!coroutines};
        Task coroConsumer, coroProducer; // created, resumed and destroyed in the loop thread

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
            if (acceptedCount.fetch_add(1, std::memory_order_relaxed) + 1 == cfg.closeAfter) {
                if (cfg.closeWithReason)
                    c.close(std::make_exception_ptr(WorkloadCloseReason()));
                else
                    c.close();
                if (cfg.clearOnClose)
                    c.clear();
            }
        };

        if (coroutines) {
            // The coroutines start in the loop thread and resume there, from its event loop.
            auto &coroRun = runs[size_t(cfg.consumers) + 2];
            const int p = cfg.producers;
            // Qt's event queue hands the functor over behind a mutex ThreadSanitizer cannot see
            // (Debian's Qt is not instrumented); this flag makes the hand-over of everything
            // built above (closeIfDue, the runs) visible to it.
            static std::atomic<int> handedOver{0};
            handedOver.fetch_add(1, std::memory_order_release);
            QMetaObject::invokeMethod(context, [&, p] {
                (void)handedOver.load(std::memory_order_acquire);
                coroConsumer = detail::receiveAll(c, [&](int v) {
                    std::lock_guard lock(eventLoopMutex);
                    coroRun.push_back(v);
                });
                coroProducer =
                    detail::sendAll(c, p * Stride, cfg.perProducer, [&, p](int i, bool ok) {
                        if (i < 0) {
                            coroProducerDone.store(true, std::memory_order_release);
                            return;
                        }
                        if (ok) {
                            {
                                std::lock_guard lock(eventLoopMutex);
                                accepted[size_t(p)][size_t(i)] = 1;
                            }
                            closeIfDue();
                        }
                    });
            });
        }

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
                    switch (rng() % (cfg.newStyles ? 8 : 5)) {
                    case 5: { // a batch: tryPutMany, retried with what is left
                        const int n = std::min(1 + int(rng() % 4), cfg.perProducer - i);
                        QList<T> items;
                        for (int k = 0; k < n; ++k)
                            items.append(T(v + k));
                        batches.fetch_add(1, std::memory_order_relaxed);
                        int done = 0;
                        while (done < n) {
                            const qsizetype got = c.tryPutMany(items);
                            for (qsizetype k = 0; k < got; ++k) {
                                accepted[size_t(p)][size_t(i + done)] = 1;
                                ++done;
                                closeIfDue();
                            }
                            if (got == 0) {
                                if (c.isClosed())
                                    return;
                                std::this_thread::yield();
                            }
                        }
                        i += n - 1;
                        continue;
                    }
                    case 6: // a select put with a stop arm, waiting a little at a time
                    case 7: // a select put, non-waiting (Go's default), retried
                        for (;;) {
                            Select select;
                            select.onPut(c, T(v), [] {});
                            if (rng() % 2)
                                select.onGet(stop, [](int) {});
                            selects.fetch_add(1, std::memory_order_relaxed);
                            const int fired =
                                rng() % 2 ? select.runBlocking(QDeadlineTimer(
                                                std::chrono::microseconds(50 + rng() % 500)))
                                          : select.tryRun();
                            if (fired == 0)
                                break;
                            if (c.isClosed()) {
                                r = PutResult::Closed;
                                break;
                            }
                            std::this_thread::yield();
                        }
                        break;
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
                        } catch (...) {
                            failed(std::current_exception());
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
                        } catch (...) {
                            failed(std::current_exception());
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
                    switch (rng() % (cfg.newStyles ? 9 : 5)) {
                    case 5: { // a batch: getManyBlocking, or a getMany() future
                        const qsizetype max = 1 + qsizetype(rng() % 8);
                        batches.fetch_add(1, std::memory_order_relaxed);
                        QList<T> items;
                        if (rng() % 2) {
                            items = c.getManyBlocking(max);
                        } else {
                            QFuture<QList<T>> f = c.getMany(max);
                            try {
                                f.waitForFinished();
                                items = f.resultAt(0);
                            } catch (...) {
                                failed(std::current_exception());
                            }
                        }
                        if (items.isEmpty())
                            return; // finished
                        for (const T &item : items)
                            run.push_back(item.value());
                        break;
                    }
                    case 6: { // tryGetMany polling
                        batches.fetch_add(1, std::memory_order_relaxed);
                        const QList<T> items = c.tryGetMany(1 + qsizetype(rng() % 8));
                        for (const T &item : items)
                            run.push_back(item.value());
                        if (items.isEmpty()) {
                            if (c.isFinished())
                                return;
                            std::this_thread::yield();
                        }
                        break;
                    }
                    case 7:   // a select over the channel and the stop channel, waiting
                    case 8: { // ... with a short deadline (withdraws from both lines)
                        Select select;
                        select.onGet(c, [&](T item) { run.push_back(item.value()); });
                        select.onGet(stop, [](int) {});
                        selects.fetch_add(1, std::memory_order_relaxed);
                        const QDeadlineTimer deadline =
                            rng() % 2 ? QDeadlineTimer(std::chrono::microseconds(50 + rng() % 500))
                                      : QDeadlineTimer(QDeadlineTimer::Forever);
                        const int fired = select.runBlocking(deadline);
                        if (fired == 1)
                            stopFired.store(true, std::memory_order_relaxed);
                        if (fired < 0 && c.isFinished())
                            return;
                        break;
                    }
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
                        } catch (...) {
                            failed(std::current_exception());
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
        if (!detail::waitUntil([&] { return coroProducerDone.load(std::memory_order_acquire); }))
            errors << "the coroutine producer never finished; ";
        c.close();
        stop.close();
        for (int k = 0; k < cfg.consumers; ++k)
            threads[size_t(cfg.producers + k)].join();
        stopMonitor.store(true, std::memory_order_release);
        monitor.join();
        errors << monitorError;

        closedWithReason = bool(c.closeReason());
        result.dropped = quint64(c.droppedCount());
        if (cfg.eventLoopConsumers) {
            if (!detail::waitUntil([&] { return forEachDone.isFinished(); }))
                errors << "the forEach future never finished; ";
            if (coroutines) {
                // The coroutines run, end and are destroyed in their thread. The consumer's
                // last resumption (nullopt: finished) may still be queued: look until it ran.
                const auto ended = [&] {
                    std::promise<bool> answer;
                    QMetaObject::invokeMethod(context, [&] {
                        answer.set_value(coroConsumer.done() && coroProducer.done());
                    });
                    return answer.get_future().get();
                };
                if (!detail::waitUntil(ended))
                    errors << "a coroutine never ended although the channel finished; ";
                std::promise<void> gone;
                QMetaObject::invokeMethod(context, [&] {
                    coroConsumer = Task();
                    coroProducer = Task();
                    gone.set_value();
                });
                gone.get_future().wait();
            }
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
    // After a close with a reason, join() and forEach() fail with it; else they finish.
    const auto endedAsClosed = [&](QFuture<void> &f) {
        if (!f.isFinished())
            return false;
        if (!closedWithReason)
            return !f.isCanceled();
        try {
            f.waitForFinished();
        } catch (const WorkloadCloseReason &) {
            return true;
        } catch (...) {
        }
        return false;
    };
    if (!endedAsClosed(joined))
        errors << "join() did not finish as the close says; ";
    if (cfg.eventLoopConsumers && !endedAsClosed(forEachDone))
        errors << "the forEach future did not finish as the close says; ";
    std::vector<int> takenBy(size_t(total), 0);
    auto countTaken = [&](int v) {
        const int p = v / Stride, i = v % Stride;
        if (p < 0 || p >= producerCount || i < 0 || i >= cfg.perProducer) {
            errors << "took " << v << ", which was never put; ";
            return;
        }
        ++takenBy[size_t(p * cfg.perProducer + i)];
    };
    for (auto &futures : canceledPuts) {
        for (QFuture<void> &f : futures) {
            ++result.canceledPuts;
            // The sweeper thread may have unlinked it just before the channel went: it
            // finishes it a moment later.
            if (!detail::waitUntil([&] { return f.isFinished(); }, 5000))
                errors << "a canceled put() future never finished; ";
        }
    }
    for (auto &futures : canceledGets) {
        for (QFuture<T> &f : futures) {
            ++result.canceledGets;
            if (!detail::waitUntil([&] { return f.isFinished(); }, 5000)) {
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
        std::vector<int> last(size_t(producerCount), -1);
        for (int v : runs[k]) {
            countTaken(v);
            const int p = v / Stride, i = v % Stride;
            if (p >= 0 && p < producerCount) {
                if (i <= last[size_t(p)])
                    errors << "consumer " << k << " saw producer " << p << "'s item " << i
                           << " after item " << last[size_t(p)] << "; ";
                last[size_t(p)] = i;
            }
        }
    }
    // Every item handed to the channel is exactly one of: taken, undelivered (dropped by the
    // policy, cleared, failed or withdrawn while pending, buffered at destruction).
    std::vector<int> undeliveredBy(size_t(total), 0);
    {
        std::lock_guard lock(accountMutex);
        for (int v : undelivered) {
            const int p = v / Stride, i = v % Stride;
            if (p < 0 || p >= producerCount || i < 0 || i >= cfg.perProducer)
                errors << "the undelivered handler got " << v << ", which was never put; ";
            else
                ++undeliveredBy[size_t(p * cfg.perProducer + i)];
        }
        if (closedWithReason && failures[1])
            errors << failures[1] << " futures failed with ChannelClosed, not the close reason; ";
        if (!closedWithReason && failures[2])
            errors << failures[2] << " futures failed with a reason after a plain close; ";
        if (failures[3])
            errors << failures[3] << " futures failed with an unexpected exception; ";
    }
    if (stopFired)
        errors << "a select took an item from the empty stop channel; ";
    result.selects = selects;
    result.batches = batches;
    result.coroutineItems = runs[size_t(cfg.consumers) + 2].size();
    for (int p = 0; p < producerCount; ++p) {
        for (int i = 0; i < cfg.perProducer; ++i) {
            const int n = takenBy[size_t(p * cfg.perProducer + i)];
            const int u = undeliveredBy[size_t(p * cfg.perProducer + i)];
            const bool sure = accepted[size_t(p)][size_t(i)];
            const bool canceled = maybe[size_t(p)][size_t(i)];
            result.accepted += sure ? 1 : 0;
            result.taken += quint64(n);
            result.undelivered += quint64(u);
            if (n > 1)
                errors << "item " << p << ":" << i << " taken " << n << " times; ";
            else if (u > 1)
                errors << "item " << p << ":" << i << " undelivered " << u << " times; ";
            else if (n + u > 1)
                errors << "item " << p << ":" << i << " both taken and undelivered; ";
            else if (sure && n + u == 0)
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
