// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

// The operations the reference model and the real channel are driven with: every public
// call, as data (kind and argument), their random generation and the fuzzer's byte format.

#include <QtChannel/Channel>

#include <cstdint>
#include <limits>
#include <random>
#include <utility>
#include <vector>

namespace Rel {

using QtChannel::PutResult;

enum class OpKind : quint8 {
    TryPut,          // tryPut(T&&)
    TryPutConst,     // tryPut(const T&)
    Put,             // put(T) -> QFuture<void>
    PutBlocking,     // putBlocking(T&&, deadline 0)
    PutBlockingWait, // putBlocking(T&& or const T&, short deadline): waits, withdraws
    TryGet,          // tryGet()
    Get,             // get() -> QFuture<T>
    GetBlocking,     // getBlocking(deadline 0)
    GetBlockingWait, // getBlocking(short deadline)
    CancelGet,       // get futures[arg].cancel()
    CancelPut,       // put futures[arg].cancel()
    Close,           // close()
    Join,            // join()
    CancelJoin,      // join futures[arg].cancel()
    ForEach,         // forEach(context, record) unless one is running
    CancelForEach,   // the running forEach's future .cancel()
    DestroyContext,  // delete the running forEach's context
    RunEvents,       // spin the event loop until quiet
    CloseReason,     // close(reason) (arg odd: a null reason, a plain close)
    Clear,           // clear()
    TryGetMany,      // tryGetMany(1 + arg % 4)
    GetMany,         // getMany(1 + arg % 4) -> QFuture<QList<T>>
    GetManyBlocking, // getManyBlocking(1 + arg % 4, deadline 0)
    TryPutMany,      // tryPutMany(1 + arg % 4 items)
    SelectTry,       // Select over arms chosen by arg (main and aux channel): tryRun()
    SelectBlocking,  // the same, runBlocking(deadline 0)
    SelectRun,       // the same, run(context): may wait in every arm's line
    CancelSelect,    // select futures[arg].cancel() (a pending one)
    AuxTryPut,       // tryPut() on the second channel (the select arms' other channel)
    AuxTryGet,       // tryGet() on the second channel
    AuxClose,        // close() on the second channel
    Count
};

struct Op {
    OpKind kind;
    quint16 arg = 0;
};

inline const char *opName(OpKind k) {
    static const char *const names[] = {"tryPut",
                                        "tryPutConst",
                                        "put",
                                        "putBlocking0",
                                        "putBlockingWait",
                                        "tryGet",
                                        "get",
                                        "getBlocking0",
                                        "getBlockingWait",
                                        "cancelGet",
                                        "cancelPut",
                                        "close",
                                        "join",
                                        "cancelJoin",
                                        "forEach",
                                        "cancelForEach",
                                        "destroyContext",
                                        "runEvents",
                                        "closeReason",
                                        "clear",
                                        "tryGetMany",
                                        "getMany",
                                        "getManyBlocking0",
                                        "tryPutMany",
                                        "selectTry",
                                        "selectBlocking0",
                                        "selectRun",
                                        "cancelSelect",
                                        "auxTryPut",
                                        "auxTryGet",
                                        "auxClose"};
    static_assert(sizeof(names) / sizeof(names[0]) == size_t(OpKind::Count));
    return names[size_t(k)];
}

// The capacities every sequence is run with.
inline const std::vector<qsizetype> &capacityKinds() {
    static const std::vector<qsizetype> kinds = {
        QtChannel::Unbounded, 0, 1, 2, 3, 1000, std::numeric_limits<qsizetype>::max()};
    return kinds;
}

// A channel to test: capacity and overflow policy, and the capacity of the second channel that
// select arms also wait on.
struct ChannelKind {
    qsizetype capacity = QtChannel::Unbounded;
    QtChannel::Overflow overflow = QtChannel::Overflow::Wait;
    qsizetype auxCapacity = 1;
};

// Every capacity kind with Overflow::Wait, then the drop policies (which need a capacity >= 1).
inline const std::vector<ChannelKind> &channelKinds() {
    static const std::vector<ChannelKind> kinds = [] {
        using QtChannel::Overflow;
        std::vector<ChannelKind> out;
        for (qsizetype c : capacityKinds())
            out.push_back({c, Overflow::Wait, 1});
        out.push_back({1, Overflow::DropOldest, 0});
        out.push_back({3, Overflow::DropOldest, 2});
        out.push_back({1, Overflow::DropNewest, 1});
        out.push_back({2, Overflow::DropNewest, 0});
        return out;
    }();
    return kinds;
}

inline const char *overflowName(QtChannel::Overflow o) {
    return o == QtChannel::Overflow::Wait         ? "Wait"
           : o == QtChannel::Overflow::DropOldest ? "DropOldest"
                                                  : "DropNewest";
}

// Weighted random sequences: puts and gets dominate, closes are rare so that most sequences
// spend a while open.
inline std::vector<Op> randomOps(std::mt19937 &rng, int count) {
    static const int weights[] = {12, 3, 10, 3, 1, 10, 10, 3, 1, 6, 5, 1, 2, 1, 2, 1,
                                  1,  5, 1,  1, 3, 3,  1,  3, 3, 1, 4, 2, 3, 2, 1};
    static_assert(sizeof(weights) / sizeof(weights[0]) == size_t(OpKind::Count));
    std::discrete_distribution<int> kind(std::begin(weights), std::end(weights));
    std::uniform_int_distribution<int> arg(0, 0xffff);
    std::vector<Op> ops;
    ops.reserve(size_t(count));
    for (int i = 0; i < count; ++i)
        ops.push_back(Op{OpKind(kind(rng)), quint16(arg(rng))});
    return ops;
}

// Bytes to a channel kind and an operation sequence (the fuzzer's input format): byte 0 picks
// the channel kind (capacity and policy), then two bytes per operation (kind, argument).
inline std::pair<ChannelKind, std::vector<Op>> decodeOps(const uint8_t *data, size_t size,
                                                         size_t maxOps = 1024) {
    if (size == 0)
        return {ChannelKind{}, {}};
    const ChannelKind capacity = channelKinds()[data[0] % channelKinds().size()];
    std::vector<Op> ops;
    for (size_t i = 1; i + 1 < size && ops.size() < maxOps; i += 2)
        ops.push_back(Op{OpKind(data[i] % quint8(OpKind::Count)), quint16(data[i + 1])});
    return {capacity, std::move(ops)};
}

} // namespace Rel
