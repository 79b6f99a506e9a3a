// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// The soak test: runs the mixed workload of workload.h over and over, with a new seed and a
// random shape (capacity, producers, consumers, close moment) each time, for a given
// duration, checking every invariant of every run, that memory stays bounded, and that no run
// hangs.
//
//   qtchannel-soak [DURATION] [FIRST_SEED]     DURATION: 60 (seconds), 90s, 10m, 1h; default 60
//
// Exits 0 when every run passed, 1 on the first failure (with its seed and shape), and aborts
// if a run makes no progress for two minutes.

#include "heap.h"
#include "workload.h"

#include <QtCore/QCoreApplication>
#include <QtCore/QElapsedTimer>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>

using namespace Rel;

namespace {

long rssKiB() {
    std::ifstream statm("/proc/self/statm");
    long pages = 0, resident = 0;
    statm >> pages >> resident;
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

qint64 parseDuration(const char *text) {
    char *end = nullptr;
    const double value = std::strtod(text, &end);
    const std::string unit = end ? end : "";
    if (unit.empty() || unit == "s")
        return qint64(value * 1000);
    if (unit == "m")
        return qint64(value * 60 * 1000);
    if (unit == "h")
        return qint64(value * 3600 * 1000);
    std::fprintf(stderr, "qtchannel-soak: bad duration '%s' (use 60, 90s, 10m or 1h)\n", text);
    std::exit(2);
}

} // namespace

int main(int argc, char **argv) {
    QCoreApplication app(argc, argv);
    const qint64 durationMs = argc > 1 ? parseDuration(argv[1]) : 60000;
    const quint32 firstSeed = argc > 2 ? quint32(std::strtoul(argv[2], nullptr, 10)) : 1;

    // Watchdog: a run that makes no progress for two minutes is a hang.
    std::mutex mutex;
    std::condition_variable progress;
    quint64 runs = 0;
    bool done = false;
    std::string current;
    std::thread watchdog([&] {
        std::unique_lock lock(mutex);
        quint64 seen = runs;
        while (!done) {
            if (!progress.wait_for(lock, std::chrono::minutes(2),
                                   [&] { return done || runs != seen; })) {
                std::fprintf(stderr, "qtchannel-soak: HANG: no progress for 2 minutes in: %s\n",
                             current.c_str());
                std::abort();
            }
            seen = runs;
        }
    });

    const std::vector<qsizetype> capacities = {QtChannel::Unbounded, 0, 1, 2, 8, 64};
    QElapsedTimer timer;
    timer.start();
    quint64 accepted = 0, taken = 0, canceledPuts = 0, canceledGets = 0, undelivered = 0,
            dropped = 0, selects = 0, batches = 0, coroutineItems = 0;
    long baselineKiB = 0, peakKiB = 0;
    qint64 nextReport = 10000;
    quint32 seed = firstSeed;
    int exitCode = 0;
    while (timer.elapsed() < durationMs) {
        std::mt19937 rng(seed);
        WorkloadConfig cfg;
        cfg.seed = seed;
        cfg.capacity = capacities[rng() % capacities.size()];
        cfg.producers = 1 + int(rng() % 4);
        cfg.consumers = 1 + int(rng() % 4);
        cfg.perProducer = 500 + int(rng() % (cfg.capacity == 0 ? 1500 : 6000));
        cfg.closeAfter = rng() % 2 ? int(rng() % quint32(cfg.producers * cfg.perProducer)) + 1 : -1;
        cfg.eventLoopConsumers = rng() % 4 != 0;
        if (cfg.capacity >= 1 && rng() % 3 == 0)
            cfg.overflow =
                rng() % 2 ? QtChannel::Overflow::DropOldest : QtChannel::Overflow::DropNewest;
        cfg.closeWithReason = rng() % 2;
        cfg.clearOnClose = rng() % 4 == 0;
        {
            std::lock_guard lock(mutex);
            current = describe(cfg);
        }
        const WorkloadResult r = runWorkload(cfg);
        if (!r.error.empty()) {
            std::fprintf(stderr, "qtchannel-soak: FAILED: %s: %s\n", describe(cfg).c_str(),
                         r.error.c_str());
            exitCode = 1;
            break;
        }
        accepted += r.accepted;
        taken += r.taken;
        canceledPuts += r.canceledPuts;
        canceledGets += r.canceledGets;
        undelivered += r.undelivered;
        dropped += r.dropped;
        selects += r.selects;
        batches += r.batches;
        coroutineItems += r.coroutineItems;
        {
            std::lock_guard lock(mutex);
            ++runs;
        }
        progress.notify_all();
        ++seed;

        // Memory: after a warm-up, the bytes allocated and not freed between runs (all threads
        // joined, the channel destroyed) must not keep growing. Not the resident size: under
        // AddressSanitizer its quarantine makes that grow by design.
        const long kib = rssKiB();
        const long heapKiB = long(Rel::heapInUse() / 1024);
        peakKiB = std::max(peakKiB, heapKiB);
        if (!baselineKiB && timer.elapsed() > std::min<qint64>(durationMs / 5, 30000))
            baselineKiB = std::max(peakKiB, 1L);
        if (baselineKiB && heapKiB > baselineKiB + std::max(4096L, baselineKiB / 4)) {
            std::fprintf(stderr, "qtchannel-soak: FAILED: heap grew from %ld KiB to %ld KiB\n",
                         baselineKiB, heapKiB);
            exitCode = 1;
            break;
        }
        if (timer.elapsed() >= nextReport) {
            std::printf("qtchannel-soak: %lld s, %llu runs, %llu items accepted, heap %ld KiB, "
                        "RSS %ld KiB\n",
                        timer.elapsed() / 1000, runs, accepted, heapKiB, kib);
            std::fflush(stdout);
            nextReport += 10000;
        }
    }
    {
        std::lock_guard lock(mutex);
        done = true;
    }
    progress.notify_all();
    watchdog.join();
    std::printf(
        "qtchannel-soak: %s after %.1f s: %llu runs (seeds %u..%u), %llu items accepted "
        "for sure and %llu taken (each at most once, every sure one exactly once), %llu "
        "canceled puts, %llu canceled gets, %llu undelivered (%llu dropped by a policy), %llu "
        "selects, %llu batches, %llu items through coroutine consumers; heap between runs: "
        "baseline %ld KiB, peak %ld KiB\n",
        exitCode ? "FAILED" : "passed", double(timer.elapsed()) / 1000, runs, firstSeed, seed - 1,
        accepted, taken, canceledPuts, canceledGets, undelivered, dropped, selects, batches,
        coroutineItems, baselineKiB, peakKiB);
    return exitCode;
}
