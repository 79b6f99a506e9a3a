// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

// Compile cost (docs/benchmarks.md, "Compile cost"): every member of the API that both the
// current core and the core before its reshape have, used on Channel<int> and
// Channel<QString>. scripts/compile-cost.sh compiles it with g++ -O2.

#include <QtChannel/Channel>

#include <QtCore/QObject>
#include <QtCore/QString>

template <typename T> int useEverything(T value) {
    QObject context;
    QtChannel::Channel<T> ch(16);
    QtChannel::Channel<T> rendezvous(0);
    QtChannel::Channel<T> unbounded;
    int n = 0;
    ch.put(value).waitForFinished();
    n += ch.get().result() == value;
    const T copy = value;
    n += ch.tryPut(copy) == QtChannel::PutResult::Ok;
    n += ch.tryPut(T(value)) == QtChannel::PutResult::Ok;
    n += ch.tryGet().has_value();
    n += ch.putBlocking(T(value)) == QtChannel::PutResult::Ok;
    n += ch.putBlocking(copy, QDeadlineTimer(10)) == QtChannel::PutResult::Ok;
    n += ch.getBlocking(QDeadlineTimer(10)).has_value();
    n += int(ch.snapshot().size());
    QFuture<void> each = ch.forEach(&context, [&n](T) { ++n; });
    n += int(ch.size() + ch.capacity()) + ch.isEmpty() + ch.isFull();
    n += ch.close() + ch.isClosed() + ch.isFinished();
    ch.join().waitForFinished();
    each.waitForFinished();
    n += rendezvous.tryPut(copy) == QtChannel::PutResult::Full;
    n += unbounded.tryPut(copy) == QtChannel::PutResult::Ok;
    QObject::connect(&ch, &QtChannel::ChannelBase::itemAvailable, &context, [&n] { ++n; });
    QObject::connect(&ch, &QtChannel::ChannelBase::sizeChanged, &context,
                     [&n](qsizetype s) { n += int(s); });
    return n;
}
