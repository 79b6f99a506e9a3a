// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

// Internals that NatsChannel<T> (a header-only template) shares with the library: how a typed
// get waits in the engine's line, and the handle behind a Delivery. Not API.

#include <QtChannel/natserror.h>
#include <QtChannel/qtchannelnats_export.h>

#include <QtCore/QByteArray>
#include <QtCore/QFuture>
#include <QtCore/QMutex>

#include <chrono>
#include <memory>

/// \cond INTERNAL
namespace QtChannel::detail {

class NatsEngine;

// One delivered item, as the engine hands it to a get.
struct NatsMessage {
    QByteArray payload;    // the item's envelope
    QByteArray ackSubject; // where its acknowledgement goes
    quint64 sequence = 0;  // its sequence number in the stream
    int deliveryCount = 1; // 1 on its first delivery
};

// The acknowledgement of one delivered item, shared by every copy of a Delivery<T>. Settles at
// most once: ack(), nak() or term. If it is destroyed unsettled (the last Delivery copy went
// without ack() or nak()), it negatively acknowledges the item, which is then delivered again:
// a delivery never swallows an item. Thread-safe.
class QTCHANNEL_NATS_EXPORT NatsAckHandle {
public:
    NatsAckHandle(std::shared_ptr<NatsEngine> engine, const NatsMessage &message,
                  std::chrono::milliseconds ackWait, std::chrono::milliseconds retry);
    ~NatsAckHandle();
    NatsAckHandle(const NatsAckHandle &) = delete;
    NatsAckHandle &operator=(const NatsAckHandle &) = delete;

    // Acknowledges; the future finishes once the server confirmed, or fails with NatsError when
    // no confirmation came within the ack wait (the item may then be delivered again). A second
    // call returns the first call's future.
    QFuture<void> ack();
    // Marks it acknowledged and returns its ack subject, for the caller to acknowledge it in a
    // batch without waiting for the confirmation (forEach()). Empty once settled.
    QByteArray settleForAck();
    // Gives the item back, to be delivered again after `delay`. No-op once settled.
    void nak(std::chrono::milliseconds delay);
    // Resets the server's ack timer: the item is still being worked on.
    void inProgress();
    bool isSettled() const;
    // Marks it settled without telling the server (the engine acknowledged it itself).
    void markSettled();

    quint64 sequence() const noexcept { return m_sequence; }
    int deliveryCount() const noexcept { return m_deliveryCount; }

private:
    const std::shared_ptr<NatsEngine> m_engine;
    const QByteArray m_ackSubject;
    const quint64 m_sequence;
    const int m_deliveryCount;
    const std::chrono::milliseconds m_ackWait;
    const std::chrono::milliseconds m_retry;
    mutable QMutex m_mutex;
    bool m_settled = false;                             // guarded by m_mutex
    QFuture<void> m_ackFuture;                          // guarded by m_mutex
    std::chrono::steady_clock::time_point m_timerStart; // guarded by m_mutex: delivery, or the
                                                        // last inProgress()
};

// A get waiting in the engine's line. The engine calls every member on its thread, except
// isWithdrawn(), which any thread may call.
class QTCHANNEL_NATS_EXPORT NatsGetSink {
public:
    enum class Claim {
        Taken,      // the item is this get's now
        Unwanted,   // the get was withdrawn (canceled, deadline passed): give the item back
        Undecodable // the item is not a T: the get failed itself with a NatsError (Format)
                    // that carries the item's bytes; the engine takes the item
    };
    virtual ~NatsGetSink();

    // How many more items it takes now: 1 for a single get, a window for forEach().
    virtual qsizetype room() const { return 1; }
    // Stays in the line after an item (forEach()); otherwise leaves it once Taken.
    virtual bool isContinuous() const { return false; }
    // Wants the item acknowledged (and confirmed) by the engine before it completes (get()),
    // rather than acknowledged by the user (getDelivery()) or after its callback (forEach()).
    virtual bool wantsConfirmedAck() const { return true; }
    // A tryGet(): the engine asks the server once, without waiting for an item.
    virtual bool isNoWait() const { return false; }
    // Without a confirmed acknowledgement: wants a Delivery's handle (rather than settling the
    // item itself through its ack subject, as forEach() with a function of T does).
    virtual bool wantsHandle() const { return true; }

    // Decodes `message` and, atomically with the withdrawal check, takes it. `handle` is set
    // for gets that do not want a confirmed acknowledgement: the Delivery's handle.
    virtual Claim claim(NatsMessage &message, const std::shared_ptr<NatsAckHandle> &handle) = 0;
    // For wantsConfirmedAck(): the acknowledgement was confirmed (or could not be, `confirmed`
    // false: the item may be delivered again); hand the item over.
    virtual void complete(bool confirmed) { Q_UNUSED(confirmed); }
    // Fails the get (closed, a network error, or an undecodable item).
    virtual void fail(std::exception_ptr error) = 0;
    // The NatsChannel object was destroyed: as in one process, futures fail with ChannelClosed,
    // blocked threads return empty-handed, forEach() is canceled.
    virtual void detached();
    // No item can come: a tryGet() that found nothing, or the channel is finished (for
    // forEach(): the normal end).
    virtual void none() = 0;
    // Canceled or timed out: the engine drops it from the line. Any thread.
    virtual bool isWithdrawn() const = 0;
    // The engine finished its current batch of events: hand over what claim() collected
    // (forEach() passes its items to its context once per batch, not once per item).
    virtual void flush() {}

    // The error for an item that cannot be decoded as the channel's T.
    static std::exception_ptr formatError(const NatsMessage &message, const QString &why);
};

} // namespace QtChannel::detail
/// \endcond
