// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// The whole current API on Channel<int> and Channel<QString>: common.h, and the batches,
// overflow policies, close with a reason, handles, Select and the coroutine awaiters.

#include "common.h"

#include <coroutine>
#include <exception>
#include <stdexcept>

namespace {

struct Task {
    struct promise_type {
        Task get_return_object() { return {}; }
        std::suspend_never initial_suspend() noexcept { return {}; }
        std::suspend_never final_suspend() noexcept { return {}; }
        void return_void() noexcept {}
        void unhandled_exception() noexcept { std::terminate(); }
    };
};

template <typename T> Task pipe(QtChannel::Channel<T> &in, QtChannel::Channel<T> &out, int &n) {
    while (std::optional<T> v = co_await in.receive())
        n += co_await out.send(std::move(*v)) == QtChannel::PutResult::Ok;
}

template <typename T> int useTheRest(T value) {
    QObject context;
    int n = useEverything<T>(value);
    QtChannel::Channel<T> ch(16);
    QtChannel::Channel<T> conflated(1, QtChannel::Overflow::DropOldest);
    conflated.setUndeliveredHandler([&n](T &&) { ++n; });
    n += conflated.tryPut(value) == QtChannel::PutResult::Ok;
    n += int(conflated.droppedCount()) + int(conflated.overflow());
    QList<T> items{value, value};
    n += int(ch.tryPutMany(items));
    n += int(ch.tryGetMany(4).size());
    n += int(ch.getMany(4).isFinished());
    n += int(ch.getManyBlocking(4, QDeadlineTimer(1)).size());
    QtChannel::Channel<T> out;
    pipe(ch, out, n);
    auto [sender, receiver] = QtChannel::makeChannel<T>(4);
    QtChannel::Select select;
    select.onGet(ch, [&n](T) { ++n; });
    select.onGet(receiver, [&n](T) { ++n; });
    select.onPut(out, T(value), [&n] { ++n; });
    n += select.tryRun();
    n += int(ch.clear());
    n += ch.close(std::make_exception_ptr(std::runtime_error("stop")));
    n += ch.closeReason() != nullptr;
    sender.reset();
    return n;
}

} // namespace

int main() {
    return useTheRest<int>(1) + useTheRest<QString>(QStringLiteral("a"));
}
