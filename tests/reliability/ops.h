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
    Count
};

struct Op {
    OpKind kind;
    quint16 arg = 0;
};

inline const char *opName(OpKind k) {
    static const char *const names[] = {"tryPut",        "tryPutConst",     "put",
                                        "putBlocking0",  "putBlockingWait", "tryGet",
                                        "get",           "getBlocking0",    "getBlockingWait",
                                        "cancelGet",     "cancelPut",       "close",
                                        "join",          "cancelJoin",      "forEach",
                                        "cancelForEach", "destroyContext",  "runEvents"};
    static_assert(sizeof(names) / sizeof(names[0]) == size_t(OpKind::Count));
    return names[size_t(k)];
}

// The capacities every sequence is run with.
inline const std::vector<qsizetype> &capacityKinds() {
    static const std::vector<qsizetype> kinds = {
        QtChannel::Unbounded, 0, 1, 2, 3, 1000, std::numeric_limits<qsizetype>::max()};
    return kinds;
}

// Weighted random sequences: puts and gets dominate, closes are rare so that most sequences
// spend a while open.
inline std::vector<Op> randomOps(std::mt19937 &rng, int count) {
    static const int weights[] = {12, 3, 10, 3, 1, 10, 10, 3, 1, 6, 5, 1, 2, 1, 2, 1, 1, 5};
    static_assert(sizeof(weights) / sizeof(weights[0]) == size_t(OpKind::Count));
    std::discrete_distribution<int> kind(std::begin(weights), std::end(weights));
    std::uniform_int_distribution<int> arg(0, 0xffff);
    std::vector<Op> ops;
    ops.reserve(size_t(count));
    for (int i = 0; i < count; ++i)
        ops.push_back(Op{OpKind(kind(rng)), quint16(arg(rng))});
    return ops;
}

// Bytes to a capacity and an operation sequence (the fuzzer's input format): byte 0 picks the
// capacity kind, then two bytes per operation (kind, argument).
inline std::pair<qsizetype, std::vector<Op>> decodeOps(const uint8_t *data, size_t size,
                                                       size_t maxOps = 1024) {
    if (size == 0)
        return {QtChannel::Unbounded, {}};
    const qsizetype capacity = capacityKinds()[data[0] % capacityKinds().size()];
    std::vector<Op> ops;
    for (size_t i = 1; i + 1 < size && ops.size() < maxOps; i += 2)
        ops.push_back(Op{OpKind(data[i] % quint8(OpKind::Count)), quint16(data[i + 1])});
    return {capacity, std::move(ops)};
}

} // namespace Rel
