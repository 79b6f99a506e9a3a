// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

// The smallest useful coroutine type, for driving receive()/send() awaiters in the reliability
// suites without QCoro: starts at once, stays suspended at its end until the Task goes, and
// destroys the coroutine with the Task (wherever it is suspended: a cancel).

#include <coroutine>
#include <exception>
#include <utility>

namespace Rel {

struct Task {
    struct promise_type {
        Task get_return_object() {
            return Task{std::coroutine_handle<promise_type>::from_promise(*this)};
        }
        std::suspend_never initial_suspend() noexcept { return {}; }
        std::suspend_always final_suspend() noexcept { return {}; }
        void return_void() noexcept {}
        void unhandled_exception() noexcept { std::terminate(); }
    };
    Task() = default;
    explicit Task(std::coroutine_handle<promise_type> h)
        : handle(h) {}
    Task(Task &&other) noexcept
        : handle(std::exchange(other.handle, {})) {}
    Task &operator=(Task &&other) noexcept {
        if (this != &other) {
            if (handle)
                handle.destroy();
            handle = std::exchange(other.handle, {});
        }
        return *this;
    }
    Task(const Task &) = delete;
    ~Task() {
        if (handle)
            handle.destroy();
    }
    bool done() const { return !handle || handle.done(); }
    std::coroutine_handle<promise_type> handle;
};

} // namespace Rel
