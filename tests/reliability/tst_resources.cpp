// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// Resources: canceled waiters are swept, not kept until the next item; a bounded channel keeps
// bounded memory under a long run. Memory is measured as the bytes allocated and not freed
// (heap.h). LeakSanitizer (the AddressSanitizer build) and scripts/memcheck.sh check the whole
// suite for leaks.

#include "heap.h"

#include "../testutil.h"

#include <QtChannel/Channel>

#include <QtTest/QTest>

#include <thread>

using namespace QtChannel;
using Rel::heapInUse;

namespace {

// A million, scaled (see heap.h).
int million() {
    return std::max(20000, int(1000000 * Rel::loadScale()));
}

QByteArray growth(std::size_t before, std::size_t after) {
    return QByteArray::number(qlonglong(after) - qlonglong(before)) + " bytes";
}

} // namespace

class tst_Resources : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void canceledGetsDoNotGrowMemory_data();
    void canceledGetsDoNotGrowMemory();
    void canceledPutsDoNotGrowMemory();
    void canceledJoinsDoNotGrowMemory();
    void boundedChannelKeepsBoundedMemory();
    void measurementCatchesALeak();
};

void tst_Resources::canceledGetsDoNotGrowMemory_data() {
    QTest::addColumn<qsizetype>("capacity");
    QTest::newRow("unbounded") << Unbounded;
    QTest::newRow("rendezvous") << qsizetype(0);
    QTest::newRow("bounded") << qsizetype(8);
}

// A million get() futures created and canceled with no item ever arriving.
void tst_Resources::canceledGetsDoNotGrowMemory() {
    QFETCH(qsizetype, capacity);
    Channel<int> ch(capacity);
    const int n = million();
    std::size_t warm = 0;
    qsizetype maxPending = 0;
    for (int i = 0; i < n; ++i) {
        QFuture<int> g = ch.get();
        g.cancel();
        maxPending = std::max(maxPending, ch.pendingGets());
        if (i == 10000)
            warm = heapInUse();
    }
    const std::size_t after = heapInUse();
    qInfo("%d canceled gets: at most %lld waiters kept, heap %s after warm-up", n,
          qlonglong(maxPending), growth(warm, after).constData());
    QVERIFY2(maxPending <= 64, QByteArray::number(maxPending));
    QVERIFY2(after <= warm + 256 * 1024, growth(warm, after));
    // And the channel still works.
    QFuture<int> live = ch.get();
    QCOMPARE(ch.tryPut(1), PutResult::Ok);
    QCOMPARE(live.result(), 1);
}

// The same for pending puts on a full channel: their items go with them.
void tst_Resources::canceledPutsDoNotGrowMemory() {
    Channel<QString> ch(1);
    ch.tryPut(QStringLiteral("first"));
    const int n = million() / 2;
    std::size_t warm = 0;
    qsizetype maxPending = 0;
    for (int i = 0; i < n; ++i) {
        QFuture<void> p = ch.put(QString(64, QLatin1Char('x')));
        p.cancel();
        maxPending = std::max(maxPending, ch.pendingPuts());
        if (i == 10000)
            warm = heapInUse();
    }
    const std::size_t after = heapInUse();
    qInfo("%d canceled puts: at most %lld waiters kept, heap %s after warm-up", n,
          qlonglong(maxPending), growth(warm, after).constData());
    QVERIFY2(maxPending <= 64, QByteArray::number(maxPending));
    QVERIFY2(after <= warm + 256 * 1024, growth(warm, after));
    QCOMPARE(*ch.tryGet(), QStringLiteral("first"));
    QVERIFY(!ch.tryGet()); // no canceled put was enqueued
}

void tst_Resources::canceledJoinsDoNotGrowMemory() {
    Channel<int> ch;
    const int n = million() / 4;
    std::size_t warm = 0;
    for (int i = 0; i < n; ++i) {
        QFuture<void> j = ch.join();
        j.cancel();
        if (i == 10000)
            warm = heapInUse();
    }
    const std::size_t after = heapInUse();
    QVERIFY2(after <= warm + 256 * 1024, growth(warm, after));
}

// Two threads move millions of items through a bounded channel; the heap in use, sampled by
// the consumer, stays flat after warm-up.
void tst_Resources::boundedChannelKeepsBoundedMemory() {
    const int items = million() * 2;
    Channel<QString> ch(64);
    std::size_t warm = 0, peak = 0;
    std::jthread producer([&] {
        for (int i = 0; i < items; ++i)
            ch.putBlocking(QString::number(i));
        ch.close();
    });
    int taken = 0;
    while (std::optional<QString> item = ch.getBlocking()) {
        ++taken;
        if (taken == 20000)
            warm = heapInUse();
        else if (taken > 20000 && taken % 5000 == 0)
            peak = std::max(peak, heapInUse());
    }
    producer.join();
    QCOMPARE(taken, items);
    qInfo("%d items through a channel of 64: heap peak %s above warm-up", items,
          growth(warm, peak).constData());
    QVERIFY2(peak <= warm + 512 * 1024, growth(warm, peak));
}

// The measurement must be able to fail: keeping the canceled futures is a visible growth.
void tst_Resources::measurementCatchesALeak() {
    Channel<int> ch;
    const std::size_t before = heapInUse();
    if (before == 0)
        QSKIP("no heap statistics here (valgrind replaces malloc; memcheck checks instead)");
    QList<QFuture<int>> kept;
    for (int i = 0; i < 20000; ++i)
        kept.append(ch.get()); // pending, not canceled: kept by the channel, as they must be
    const std::size_t after = heapInUse();
    QVERIFY2(after > before + 256 * 1024, growth(before, after));
    ch.close();
}

QTEST_GUILESS_MAIN(tst_Resources)
#include "tst_resources.moc"
