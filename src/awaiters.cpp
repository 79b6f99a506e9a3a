// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#include "QtChannel/detail/awaiters.h"

#include "channelbase_p.h"

namespace QtChannel::detail {

AwaitNode::AwaitNode(Side s, Kind k, Anchor *a, std::coroutine_handle<> h)
    : Waiter(s, k)
    , anchor(a)
    , queue(ResumeQueue::forThisThread()) {
    entry.handle = h;
}

AwaitNode::~AwaitNode() = default;

void AwaitNode::wake() noexcept {
    const std::shared_ptr<ResumeQueue> q = queue; // the node may be gone once it is pushed
    q->push(&entry, &woken);
}

void AwaitNode::complete(const Completion &c) {
    if (c.handler && (outcome == Outcome::Closed || outcome == Outcome::Canceled)) {
        try {
            (*c.handler)(item);
        } catch (...) {
            qWarning("QtChannel: the undelivered handler threw; the exception was ignored");
        }
    }
    const std::shared_ptr<ResumeQueue> q = queue;
    q->push(&entry, &woken);
}

bool AwaitNode::abandon() noexcept {
    if (anchor->withdraw(this))
        return true; // still in its line: nothing happened (a send's item went to the handler)
    queue->remove(&entry); // served or closed: its resumption is queued, and will not come
    return false;
}

void AwaitNode::giveBack() noexcept {
    if (takenCount() == 0)
        return;
    Deferred d;
    anchor->visit([&](ChannelBasePrivate *channel) { channel->giveBackFromOutside(*this, d); });
    d.wake();
    d.complete();
}

} // namespace QtChannel::detail
