// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// W6: pending get() futures, then the items arrive (tryPut), or close() with them pending.
//
// Every row keeps the same 10,000 futures pending at a time, spread as K per channel over
// 10,000 / K unbounded channels, so the rows differ only in how long each channel's line of
// waiters is. Each phase is timed over a whole batch of 10,000, never per call, so the clock
// costs nothing per item. The floors do the same with bare QFutureInterfaces: what Qt's
// futures cost before any channel is involved.

#include "workloads.h"

#include <QtChannel/Channel>

#include <QtCore/QFuture>
#include <QtCore/QFutureInterface>

#include <memory>
#include <vector>

namespace Bench::Workloads {

namespace {

constexpr qint64 PendingAtOnce = 10000;

enum class Phase {
    Pending, // creating the pending get() futures, per waiter
    Arrive,  // tryPut() of one item per pending get, per item
    Close,   // close() of every channel, per waiter
};

Sample waiters(qint64 total, Meter &m, qint64 perChannel, Phase phase) {
    using Chan = QtChannel::Channel<int>;
    const qint64 channelCount = PendingAtOnce / perChannel;
    const qint64 batches = std::max<qint64>(1, total / PendingAtOnce);
    std::vector<std::unique_ptr<Chan>> channels;
    std::vector<QFuture<int>> futures;
    futures.reserve(size_t(PendingAtOnce));
    qint64 next = 1;
    Sample s;
    for (qint64 batch = 0; batch < batches; ++batch) {
        if (phase == Phase::Close || channels.empty()) {
            channels.clear();
            for (qint64 c = 0; c < channelCount; ++c)
                channels.push_back(std::make_unique<Chan>(QtChannel::Unbounded));
        }

        if (phase == Phase::Pending)
            m.start();
        for (const auto &ch : channels) {
            for (qint64 k = 0; k < perChannel; ++k)
                futures.push_back(ch->get());
        }
        if (phase == Phase::Pending)
            m.stop();
        check(channels.front()->pendingGets() == perChannel, "gets are not pending");

        if (phase == Phase::Close) {
            m.start();
            for (const auto &ch : channels)
                ch->close();
            m.stop();
            for (QFuture<int> &f : futures) {
                try {
                    f.waitForFinished();
                } catch (const QtChannel::ChannelClosed &) {
                    ++s.received; // one per waiter that failed as it should
                }
            }
            s.sent += qint64(futures.size());
        } else {
            if (phase == Phase::Arrive)
                m.start();
            for (const auto &ch : channels) {
                for (qint64 k = 0; k < perChannel; ++k) {
                    check(ch->tryPut(int(next)) == QtChannel::PutResult::Ok, "put failed");
                    s.sent += next++;
                }
            }
            if (phase == Phase::Arrive)
                m.stop();
            for (const QFuture<int> &f : futures) {
                check(f.isFinished(), "a get is still pending");
                s.received += f.result();
            }
        }
        s.items += qint64(futures.size());
        futures.clear();
    }
    return s;
}

} // namespace

Sample w6Pending1(qint64 n, Meter &m) {
    return waiters(n, m, 1, Phase::Pending);
}
Sample w6Pending100(qint64 n, Meter &m) {
    return waiters(n, m, 100, Phase::Pending);
}
Sample w6Pending10000(qint64 n, Meter &m) {
    return waiters(n, m, 10000, Phase::Pending);
}
Sample w6Arrive1(qint64 n, Meter &m) {
    return waiters(n, m, 1, Phase::Arrive);
}
Sample w6Arrive100(qint64 n, Meter &m) {
    return waiters(n, m, 100, Phase::Arrive);
}
Sample w6Arrive10000(qint64 n, Meter &m) {
    return waiters(n, m, 10000, Phase::Arrive);
}
Sample w6Close1(qint64 n, Meter &m) {
    return waiters(n, m, 1, Phase::Close);
}
Sample w6Close100(qint64 n, Meter &m) {
    return waiters(n, m, 100, Phase::Close);
}
Sample w6Close10000(qint64 n, Meter &m) {
    return waiters(n, m, 10000, Phase::Close);
}

// Floor for the pending phase: a started QFutureInterface<int> and its future.
Sample w6FloorCreate(qint64 total, Meter &m) {
    const qint64 batches = std::max<qint64>(1, total / PendingAtOnce);
    std::vector<QFutureInterface<int>> promises;
    std::vector<QFuture<int>> futures;
    promises.reserve(size_t(PendingAtOnce));
    futures.reserve(size_t(PendingAtOnce));
    Sample s;
    for (qint64 batch = 0; batch < batches; ++batch) {
        m.start();
        for (qint64 i = 0; i < PendingAtOnce; ++i) {
            promises.emplace_back();
            promises.back().reportStarted();
            futures.push_back(promises.back().future());
        }
        m.stop();
        for (QFutureInterface<int> &p : promises) {
            p.reportAndMoveResult(1);
            p.reportFinished();
        }
        for (const QFuture<int> &f : futures)
            s.received += f.result();
        s.sent += PendingAtOnce;
        s.items += PendingAtOnce;
        futures.clear();
        promises.clear();
    }
    return s;
}

// Floor for the arrival phase: handing an item to a started QFutureInterface<int> and
// finishing it.
Sample w6FloorSettle(qint64 total, Meter &m) {
    const qint64 batches = std::max<qint64>(1, total / PendingAtOnce);
    std::vector<QFutureInterface<int>> promises;
    std::vector<QFuture<int>> futures;
    promises.reserve(size_t(PendingAtOnce));
    futures.reserve(size_t(PendingAtOnce));
    qint64 next = 1;
    Sample s;
    for (qint64 batch = 0; batch < batches; ++batch) {
        for (qint64 i = 0; i < PendingAtOnce; ++i) {
            promises.emplace_back();
            promises.back().reportStarted();
            futures.push_back(promises.back().future());
        }
        m.start();
        for (QFutureInterface<int> &p : promises) {
            p.reportAndMoveResult(int(next));
            p.reportFinished();
            s.sent += next++;
        }
        m.stop();
        for (const QFuture<int> &f : futures)
            s.received += f.result();
        s.items += PendingAtOnce;
        futures.clear();
        promises.clear();
    }
    return s;
}

} // namespace Bench::Workloads
