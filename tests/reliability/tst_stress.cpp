// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// Multi-threaded accounting (workload.h): producers and consumers of every style (futures,
// non-waiting, blocking, batches, selects), random cancellation, forEach, an itemAvailable()
// slot and coroutines (receive()/send()) on an event-loop thread, and a close at a random
// moment (plain, with a reason, or with clear()), on waiting and dropping channels. Every accepted
// item is taken exactly once, per-producer order holds for each consumer, every future settles and
// every thread returns. Run under ThreadSanitizer in CI.
//
// QTCHANNEL_STRESS_SCALE multiplies the item counts (default 1; 0.5 under TSan, 0.2 under ASan).

#include "heap.h"
#include "workload.h"

#include <QtTest/QTest>

using namespace Rel;

namespace {

double scale() {
    return Rel::loadScale(/*underTsan=*/0.5, /*underAsan=*/0.2); // the races are TSan's to see
}

} // namespace

class tst_Stress : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void mixedWorkload_data();
    void mixedWorkload();
};

void tst_Stress::mixedWorkload_data() {
    QTest::addColumn<qsizetype>("capacity");
    QTest::addColumn<int>("producers");
    QTest::addColumn<int>("consumers");
    QTest::addColumn<bool>("closeEarly");
    QTest::addColumn<QtChannel::Overflow>("overflow");
    for (qsizetype capacity : {QtChannel::Unbounded, qsizetype(0), qsizetype(1), qsizetype(8)}) {
        for (auto [producers, consumers] : {std::pair{3, 2}, std::pair{1, 3}}) {
            for (bool closeEarly : {false, true}) {
                QTest::addRow("cap%lld-p%d-c%d-%s", qlonglong(capacity), producers, consumers,
                              closeEarly ? "close-at-random" : "close-at-end")
                    << capacity << producers << consumers << closeEarly
                    << QtChannel::Overflow::Wait;
            }
        }
    }
    // The drop policies: the conflated channel, and a small buffer that discards the newest.
    for (auto [capacity, overflow] : {std::pair{qsizetype(1), QtChannel::Overflow::DropOldest},
                                      std::pair{qsizetype(8), QtChannel::Overflow::DropNewest}}) {
        for (bool closeEarly : {false, true}) {
            QTest::addRow("cap%lld-%s-p3-c2-%s", qlonglong(capacity),
                          overflow == QtChannel::Overflow::DropOldest ? "drop-oldest"
                                                                      : "drop-newest",
                          closeEarly ? "close-at-random" : "close-at-end")
                << capacity << 3 << 2 << closeEarly << overflow;
        }
    }
}

void tst_Stress::mixedWorkload() {
    QFETCH(qsizetype, capacity);
    QFETCH(int, producers);
    QFETCH(int, consumers);
    QFETCH(bool, closeEarly);
    QFETCH(QtChannel::Overflow, overflow);
    const int perProducer = std::max(50, int((capacity == 0 ? 3000 : 10000) * scale()));
    for (quint32 seed = 1; seed <= 3; ++seed) {
        WorkloadConfig cfg;
        cfg.capacity = capacity;
        cfg.producers = producers;
        cfg.consumers = consumers;
        cfg.perProducer = perProducer;
        cfg.overflow = overflow;
        // Seed 1 closes plainly, 2 with a reason, 3 with a reason and then clear().
        cfg.closeWithReason = seed >= 2;
        cfg.clearOnClose = seed == 3;
        cfg.seed = seed + quint32(capacity & 0xff) * 31 + quint32(producers) * 7;
        std::mt19937 rng(cfg.seed);
        cfg.closeAfter = closeEarly ? int(rng() % quint32(producers * perProducer)) + 1 : -1;
        const WorkloadResult r = runWorkload(cfg);
        QVERIFY2(r.error.empty(), (describe(cfg) + ": " + r.error).c_str());
        if (seed == 1)
            qInfo("%s: %llu accepted, %llu taken, %llu undelivered (%llu dropped), %llu/%llu "
                  "canceled puts/gets, %llu kept; %llu selects, %llu batches, %llu items through "
                  "the coroutine consumer",
                  describe(cfg).c_str(), r.accepted, r.taken, r.undelivered, r.dropped,
                  r.canceledPuts, r.canceledGets, r.keptByCanceledGets, r.selects, r.batches,
                  r.coroutineItems);
    }
}

QTEST_GUILESS_MAIN(tst_Stress)
#include "tst_stress.moc"
