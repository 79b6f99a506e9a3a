// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

// Internal header: not part of the public API. The awaiters of Channel<T>::receive() and
// send(); docs/guide.md, "Coroutines", shows them in use.

#include <QtChannel/channelbase.h>
#include <QtChannel/detail/anchor.h>
#include <QtChannel/detail/resume.h>
#include <QtChannel/detail/typed.h>

#include <coroutine>
#include <memory>
#include <optional>
#include <utility>

namespace QtChannel {
template <typename T> class Channel;
} // namespace QtChannel

namespace QtChannel::detail {

/*
 * A suspended receive() or send() in its channel's line. When the channel serves it (or
 * closes), it appends the awaiter to its thread's resume queue (ResumeQueue): the coroutine
 * resumes in its own thread, from its event loop. A coroutine destroyed while suspended (in
 * its own thread) withdraws: out of its line if it is still there, else out of the resume
 * queue, giving a received item back to the head of the channel.
 */
struct QTCHANNEL_EXPORT AwaitNode : Waiter {
    AwaitNode(Side s, Kind k, Anchor *a, std::coroutine_handle<> h);
    ~AwaitNode() override;

    // A receive: the channel served or closed it; no user code.
    void wake() noexcept override;
    // A send: an item the channel will never take goes to the undelivered handler first.
    void complete(const Completion &c) override;
    // The awaiter goes before its coroutine resumed. Returns true if nothing had happened (it
    // was still in its line); otherwise it was served or closed, and is out of the queue now.
    bool abandon() noexcept;
    // Gives a received item (takenItem()) back to the head of the channel, or, if the channel
    // is gone, leaves it to be destroyed with the awaiter.
    void giveBack() noexcept;

    AnchorRef anchor;
    std::shared_ptr<ResumeQueue> queue;
    ResumeQueue::Entry entry;
};

template <typename T> struct ReceiveNode final : AwaitNode {
    ReceiveNode(Anchor *a, std::coroutine_handle<> h, std::optional<T> &slot)
        : AwaitNode(Side::Get, Kind::Notify, a, h)
        , out(slot) {}
    bool accept(void *from) override {
        out.emplace(std::move_if_noexcept(*itemCast<T>(from)));
        return true;
    }
    qsizetype takenCount() const override { return out ? 1 : 0; }
    void *takenItem(qsizetype) override { return &*out; }
    void dropTaken() noexcept override { out.reset(); }
    std::optional<T> &out;
};

template <typename T> struct SendNode final : AwaitNode {
    SendNode(Anchor *a, std::coroutine_handle<> h, T *value)
        : AwaitNode(Side::Put, Kind::Complete, a, h) {
        item = value;
    }
    bool accept(void *) override { return false; }
};

/*
 * The awaitable of Channel<T>::receive(): std::optional<T>, the next item, or std::nullopt once
 * the channel is finished. Ready at once (no suspension, no allocation) when an item can be
 * taken now, or the channel is finished. Movable until it is awaited.
 */
template <typename T> class ReceiveAwaiter {
public:
    explicit ReceiveAwaiter(Channel<T> &channel) noexcept
        : m_channel(&channel) {}
    ReceiveAwaiter(ReceiveAwaiter &&other) noexcept(std::is_nothrow_move_constructible_v<T>)
        : m_channel(other.m_channel)
        , m_item(std::move(other.m_item)) {} // only before it is awaited
    ReceiveAwaiter(const ReceiveAwaiter &) = delete;
    ReceiveAwaiter &operator=(const ReceiveAwaiter &) = delete;
    ReceiveAwaiter &operator=(ReceiveAwaiter &&) = delete;
    ~ReceiveAwaiter() {
        if (m_node && !m_resumed && !m_node->abandon())
            m_node->giveBack();
    }

    bool await_ready() { return m_channel->readyToReceive(m_item); }
    bool await_suspend(std::coroutine_handle<> handle) {
        m_node.emplace(m_channel->anchor(), handle, m_item);
        if (m_channel->suspendAwaiter(&*m_node) == Queued::Waiting)
            return true;
        m_node.reset(); // served or finished meanwhile: go on now, in this thread
        return false;
    }
    std::optional<T> await_resume() {
        m_resumed = true;
        std::optional<T> item = std::move(m_item);
        m_item.reset();
        return item;
    }

private:
    Channel<T> *m_channel;
    std::optional<T> m_item;
    std::optional<ReceiveNode<T>> m_node; // while suspended
    bool m_resumed = false;
};

/*
 * The awaitable of Channel<T>::send(item): PutResult::Ok once the item is accepted, or
 * PutResult::Closed (the item is then destroyed), never Full. Ready at once when the item can
 * be accepted now or the channel is closed. Movable until it is awaited.
 */
template <typename T> class SendAwaiter {
public:
    SendAwaiter(Channel<T> &channel, T &&item)
        : m_channel(&channel)
        , m_value(std::move(item)) {}
    SendAwaiter(SendAwaiter &&other) noexcept(std::is_nothrow_move_constructible_v<T>)
        : m_channel(other.m_channel)
        , m_value(std::move(other.m_value))
        , m_result(other.m_result) {} // only before it is awaited
    SendAwaiter(const SendAwaiter &) = delete;
    SendAwaiter &operator=(const SendAwaiter &) = delete;
    SendAwaiter &operator=(SendAwaiter &&) = delete;
    ~SendAwaiter() {
        if (m_node && !m_resumed)
            m_node->abandon(); // a withdrawn send's item goes to the undelivered handler
    }

    bool await_ready() {
        switch (m_channel->readyToSend(m_value)) {
        case PutResult::Ok:
            m_result = Ok;
            return true;
        case PutResult::Closed:
            m_result = Closed;
            return true;
        case PutResult::Full:
            break;
        }
        return false;
    }
    bool await_suspend(std::coroutine_handle<> handle) {
        m_node.emplace(m_channel->anchor(), handle, &m_value);
        const Queued queued = m_channel->suspendAwaiter(&*m_node);
        if (queued == Queued::Waiting)
            return true;
        m_result = queued == Queued::Closed ? Closed : Ok;
        m_node.reset();
        return false;
    }
    PutResult await_resume() {
        m_resumed = true;
        if (m_node) {
            if (m_node->outcome == Waiter::Outcome::Failed)
                std::rethrow_exception(m_node->error); // moving the item threw
            m_result = m_node->outcome == Waiter::Outcome::Done ? Ok : Closed;
        }
        return m_result == Ok ? PutResult::Ok : PutResult::Closed;
    }

private:
    enum Result : quint8 { Ok, Full, Closed };

    Channel<T> *m_channel;
    T m_value; // the awaiter's until the channel accepts it
    std::optional<SendNode<T>> m_node;
    Result m_result = Full;
    bool m_resumed = false;
};

} // namespace QtChannel::detail
