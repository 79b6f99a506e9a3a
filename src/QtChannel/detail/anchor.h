// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

// Internal header: not part of the public API.

#include <QtChannel/detail/lock.h>
#include <QtChannel/qtchannel_export.h>

#include <atomic>
#include <utility>

namespace QtChannel {
class ChannelBasePrivate;
}

namespace QtChannel::detail {

struct Waiter;

/*
 * A channel's anchor: a small reference-counted object that outlives the channel for as long
 * as anything that may outlast it still refers to it (a suspended coroutine's awaiter, a
 * select, a canceled future's clean-up). Through it they reach the channel while it exists,
 * and find it gone afterwards: the channel's destructor detaches the anchor (under its lock)
 * after it has released every waiter and before it frees anything, so a call that holds the
 * anchor's lock never meets a half-destroyed channel.
 */
class QTCHANNEL_EXPORT Anchor {
public:
    explicit Anchor(ChannelBasePrivate *channel) noexcept
        : m_channel(channel) {}
    Anchor(const Anchor &) = delete;
    Anchor &operator=(const Anchor &) = delete;

    void ref() noexcept { m_refs.fetch_add(1, std::memory_order_relaxed); }
    void deref() noexcept {
        if (m_refs.fetch_sub(1, std::memory_order_acq_rel) == 1)
            delete this;
    }

    // Withdraws `w` from the channel's line if it is still in it (returns true: the channel
    // never touches it again). Otherwise the channel has already released it, or is gone:
    // waits until the channel's last access to it, its wake(), is over, and returns false.
    bool withdraw(Waiter *w) noexcept;

    // Runs f(channel) with the channel alive (its destruction waits), or not at all.
    template <typename F> bool visit(F &&f) {
        Locker locker(m_lock);
        if (!m_channel)
            return false;
        std::forward<F>(f)(m_channel);
        return true;
    }

    // A future of a waiter in this channel's lines was canceled: sweep the lines soon, in
    // another thread (the caller holds that future's mutex). Lock-free; at most one sweep is
    // scheduled at a time.
    void scheduleSweep() noexcept;

    // The channel's destructor: after this, visit() finds nothing.
    void detach() noexcept {
        Locker locker(m_lock);
        m_channel = nullptr;
    }

    // Sweeps the channel's lines for canceled futures and finishes them (the sweeping thread).
    void sweep();

private:
    ~Anchor() = default;

    std::atomic<int> m_refs{1};
    std::atomic<bool> m_sweepScheduled{false};
    Lock m_lock;
    ChannelBasePrivate *m_channel; // guarded by m_lock; null once the channel is gone
};

// An owning reference to an Anchor.
class AnchorRef {
public:
    AnchorRef() noexcept = default;
    explicit AnchorRef(Anchor *a) noexcept
        : m_anchor(a) {
        if (m_anchor)
            m_anchor->ref();
    }
    AnchorRef(const AnchorRef &other) noexcept
        : AnchorRef(other.m_anchor) {}
    AnchorRef(AnchorRef &&other) noexcept
        : m_anchor(std::exchange(other.m_anchor, nullptr)) {}
    AnchorRef &operator=(AnchorRef other) noexcept {
        std::swap(m_anchor, other.m_anchor);
        return *this;
    }
    ~AnchorRef() {
        if (m_anchor)
            m_anchor->deref();
    }
    Anchor *get() const noexcept { return m_anchor; }
    Anchor *operator->() const noexcept { return m_anchor; }
    explicit operator bool() const noexcept { return m_anchor != nullptr; }

private:
    Anchor *m_anchor = nullptr;
};

} // namespace QtChannel::detail
