// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// Model-based testing: seeded random operation sequences run on the real channel and on the
// reference model in model.h, every observable compared after every step, for every capacity
// kind. A failure prints its seed and a shrunk, minimal reproduction.
//
// Environment (for long runs; CI uses the defaults):
//   QTCHANNEL_MODEL_RUNS  sequences per capacity kind (default 300; 100 under ASan, 30 TSan)
//   QTCHANNEL_MODEL_OPS   operations per sequence (default 150)
//   QTCHANNEL_MODEL_SEED  first seed (default 1); seeds SEED .. SEED+RUNS-1 are run
//   QTCHANNEL_MODEL_ONLY  run this one seed only (to replay a failure)

#include "shrink.h"

#include <QtCore/QScopeGuard>
#include <QtTest/QTest>

using namespace Rel;

namespace {

int envInt(const char *name, int fallback) {
    bool ok = false;
    const int v = qEnvironmentVariableIntValue(name, &ok);
    return ok ? v : fallback;
}

} // namespace

class tst_Model : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void randomSequences_data();
    void randomSequences();
    void harnessCatchesAWrongModel();
    void decodeIsTotal();
};

void tst_Model::randomSequences_data() {
    QTest::addColumn<qsizetype>("capacity");
    for (qsizetype c : capacityKinds())
        QTest::addRow("capacity %lld", qlonglong(c)) << c;
}

void tst_Model::randomSequences() {
    QFETCH(qsizetype, capacity);
#if defined(__SANITIZE_THREAD__)
    constexpr int DefaultRuns = 30; // single-threaded: ThreadSanitizer has little to add
#elif defined(__SANITIZE_ADDRESS__)
    constexpr int DefaultRuns = 100;
#else
    constexpr int DefaultRuns = 300;
#endif
    const int runs = envInt("QTCHANNEL_MODEL_RUNS", DefaultRuns);
    const int opsPerRun = envInt("QTCHANNEL_MODEL_OPS", 150);
    const int firstSeed = envInt("QTCHANNEL_MODEL_SEED", 1);
    const int only = envInt("QTCHANNEL_MODEL_ONLY", -1);
    quint64 comparisons = 0, steps = 0;
    int notWaited = 0;
    for (int i = 0; i < runs; ++i) {
        const int seed = only >= 0 ? only : firstSeed + i;
        // The capacity kind is part of the seed's stream, so one seed replays one sequence.
        const auto kind = std::find(capacityKinds().begin(), capacityKinds().end(), capacity) -
                          capacityKinds().begin();
        std::mt19937 rng(quint32(seed) * 7919u + quint32(kind) * 104729u);
        const std::vector<Op> ops = randomOps(rng, opsPerRun);
        // Odd seeds: canceled futures are found lazily; even seeds: the prompt sweeper runs
        // too, and races the channel's own look.
        const bool prompt = seed % 2 == 0;
        QtChannel::detail::CancelWatch::setEnabled(prompt);
        const auto restore = qScopeGuard([] { QtChannel::detail::CancelWatch::setEnabled(true); });
        const RunResult r = runSequence(capacity, ops);
        if (!r.error.empty()) {
            const std::vector<Op> minimal = shrink(capacity, ops);
            const QByteArray report =
                QByteArray("seed ") + QByteArray::number(seed) +
                (prompt ? " (prompt cancellation)" : " (lazy cancellation)") + ", capacity " +
                QByteArray::number(capacity) + ": " + QByteArray::fromStdString(r.error) +
                "\nminimal reproduction (" + QByteArray::number(qsizetype(minimal.size())) +
                " steps; replay with QTCHANNEL_MODEL_ONLY=" + QByteArray::number(seed) + "):\n" +
                QByteArray::fromStdString(describe(capacity, minimal));
            QFAIL(report.constData());
        }
        comparisons += r.comparisons;
        steps += ops.size();
        notWaited += r.notWaited;
        if (only >= 0)
            break;
    }
    qInfo("capacity %lld: %llu steps, %llu comparisons; %d timed waits expired before waiting",
          qlonglong(capacity), steps, comparisons, notWaited);
}

// The harness must be able to fail: a model that gets one rule wrong is caught at once.
void tst_Model::harnessCatchesAWrongModel() {
    // The real channel and the model disagree if an operation is applied to one side only:
    // run a sequence, then check a fresh harness reports the first divergence.
    Harness h(2);
    QVERIFY(h.step({OpKind::TryPut}).empty());
    QVERIFY(h.step({OpKind::TryPut}).empty());
    QVERIFY(h.step({OpKind::TryPut}).empty()); // Full on both
    QVERIFY(h.step({OpKind::TryGet}).empty());
    QVERIFY(h.destroy().empty());

    // A hand-made divergence: the model believes the channel is closed.
    Harness wrong(QtChannel::Unbounded);
    QVERIFY(wrong.step({OpKind::TryPut}).empty());
    QVERIFY(!wrong.stepModelOnly({OpKind::Close}).empty());
}

void tst_Model::decodeIsTotal() {
    // Every byte string decodes to a valid sequence.
    const uint8_t bytes[] = {0xff, 0xfe, 0x00, 0x11, 0x22, 0x33};
    for (size_t n = 0; n <= sizeof(bytes); ++n) {
        const auto [capacity, ops] = decodeOps(bytes, n);
        QVERIFY(capacity >= QtChannel::Unbounded);
        for (const Op &op : ops)
            QVERIFY(op.kind < OpKind::Count);
    }
}

QTEST_GUILESS_MAIN(tst_Model)
#include "tst_model.moc"
