// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

// Every in-process run, one function per configuration; workloads.cpp lists them with their
// labels and sizes.

#include "harness.h"

namespace Bench::Workloads {

Sample w1AsioCoro(qint64 size, Meter &meter);
Sample w1AsioThreads(qint64 size, Meter &meter);
Sample w1Moodycamel(qint64 size, Meter &meter);
Sample w1QtChannel(qint64 size, Meter &meter);
Sample w1QtChannelBatch(qint64 size, Meter &meter);
Sample w1QtCv(qint64 size, Meter &meter);
Sample w1StdCv(qint64 size, Meter &meter);
Sample w2AsioCoro(qint64 size, Meter &meter);
Sample w2AsioThreads(qint64 size, Meter &meter);
Sample w2Moodycamel(qint64 size, Meter &meter);
Sample w2QtChannel(qint64 size, Meter &meter);
Sample w2QtCv(qint64 size, Meter &meter);
Sample w2StdCv(qint64 size, Meter &meter);
Sample w3AsioCoro(qint64 size, Meter &meter);
Sample w3AsioCoroRendezvous(qint64 size, Meter &meter);
Sample w3AsioThreads(qint64 size, Meter &meter);
Sample w3AsioThreadsRendezvous(qint64 size, Meter &meter);
Sample w3FutexFloor(qint64 size, Meter &meter);
Sample w3Moodycamel(qint64 size, Meter &meter);
Sample w3QtChannel(qint64 size, Meter &meter);
Sample w3QtChannelRendezvous(qint64 size, Meter &meter);
Sample w3QtCv(qint64 size, Meter &meter);
Sample w3StdCv(qint64 size, Meter &meter);
Sample w4Coalesced(qint64 size, Meter &meter);
Sample w4InvokeMethod(qint64 size, Meter &meter);
Sample w4Promise(qint64 size, Meter &meter);
Sample w4QtChannelBatch(qint64 size, Meter &meter);
Sample w4QtChannelDrain(qint64 size, Meter &meter);
Sample w4QtChannelForEach(qint64 size, Meter &meter);
Sample w4QueuedSignal(qint64 size, Meter &meter);
Sample w5AsioCoro(qint64 size, Meter &meter);
Sample w5AsioCoroSingleThreaded(qint64 size, Meter &meter);
Sample w5AsioCoroThreads(qint64 size, Meter &meter);
Sample w5AsioTry(qint64 size, Meter &meter);
Sample w5AsioTrySingleThreaded(qint64 size, Meter &meter);
Sample w5PromiseThen(qint64 size, Meter &meter);
Sample w5QtChannelCoro(qint64 size, Meter &meter);
Sample w5QtChannelCoroThreads(qint64 size, Meter &meter);
Sample w5QtChannelFutures(qint64 size, Meter &meter);
Sample w5QtChannelNonWaiting(qint64 size, Meter &meter);
Sample w6Arrive1(qint64 size, Meter &meter);
Sample w6Arrive100(qint64 size, Meter &meter);
Sample w6Arrive10000(qint64 size, Meter &meter);
Sample w6Close1(qint64 size, Meter &meter);
Sample w6Close100(qint64 size, Meter &meter);
Sample w6Close10000(qint64 size, Meter &meter);
Sample w6FloorCreate(qint64 size, Meter &meter);
Sample w6FloorSettle(qint64 size, Meter &meter);
Sample w6Pending1(qint64 size, Meter &meter);
Sample w6Pending100(qint64 size, Meter &meter);
Sample w6Pending10000(qint64 size, Meter &meter);
Sample w7QtChannel(qint64 size, Meter &meter);
Sample w7QtChannelTryRun(qint64 size, Meter &meter);
Sample w7QtMutex(qint64 size, Meter &meter);
Sample w7bQtChannelRun(qint64 size, Meter &meter);
Sample w7bQtChannelTryRun(qint64 size, Meter &meter);
Sample w7bQueuedSignal(qint64 size, Meter &meter);
Sample w7cQtChannel(qint64 size, Meter &meter);
Sample w7cQtChannelClose(qint64 size, Meter &meter);
Sample w7cQtCv(qint64 size, Meter &meter);
Sample w8LatestMutex(qint64 size, Meter &meter);
Sample w8QtChannelConflated(qint64 size, Meter &meter);

} // namespace Bench::Workloads
