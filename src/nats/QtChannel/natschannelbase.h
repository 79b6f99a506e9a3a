// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

#include <QtChannel/Channel>
#include <QtChannel/natsconnection.h>
#include <QtChannel/natsdetail.h>
#include <QtChannel/natserror.h>
#include <QtChannel/qtchannelnats_export.h>

#include <QtCore/QDeadlineTimer>
#include <QtCore/QFuture>
#include <QtCore/QObject>
#include <QtCore/QString>

#include <chrono>
#include <functional>
#include <memory>
#include <vector>

/*!
 * \file natschannelbase.h
 * \brief NatsChannelBase and NatsChannelOptions. Include <QtChannel/NatsChannel>.
 */

namespace QtChannel {

namespace detail {
class NatsChannelState;
}

//! Where a NATS channel's items are kept.
enum class NatsStorage {
    File,   //!< on disk: they survive a server restart (the default)
    Memory, //!< in the server's memory: faster, lost when the server stops
};

/*!
 * \brief How a NatsChannel is set up and how it behaves on the network.
 *
 * The first group defines the channel itself, together with its capacity and item type: every
 * process that open()s the channel must give the same values (a mismatch is a NatsError of
 * Kind::Mismatch), and NatsChannel::bind() adopts whatever the channel was created with. The
 * second group is this process's own behaviour.
 */
struct NatsChannelOptions {
    // --- the channel's definition ---------------------------------------------------------
    //! Copies of the channel kept by a JetStream cluster (1, or 3 to survive a server's loss).
    int replicas = 1;
    //! Where the items are kept.
    NatsStorage storage = NatsStorage::File;
    //! An item delivered to a consumer that neither acknowledges nor gives it back in this time
    //! (a crashed process) is delivered again.
    std::chrono::milliseconds ackWait{30000};
    //! Items delivered and not yet acknowledged, at most, across all processes. 1 keeps FIFO
    //! even for items delivered again, at the cost of one item in flight at a time.
    qsizetype maxAckPending = 1000;
    //! For how long the server recognises a put sent again (after a lost acknowledgement) as
    //! a duplicate; a put whose acknowledgement stays lost longer fails instead of risking one.
    std::chrono::milliseconds duplicateWindow{120000};

    // --- this process -------------------------------------------------------------------
    //! How long one request to the server may take before it is sent again.
    std::chrono::milliseconds requestTimeout{2000};
    //! How long open() and bind() keep trying while the server or cluster is not ready.
    std::chrono::milliseconds openTimeout{10000};
    //! How often the channel's state (size, closed, finished) is refreshed while anybody in this
    //! process waits for it or listens to its signals.
    std::chrono::milliseconds pollInterval{100};
    //! Puts of this process on the wire at once, waiting for their acknowledgement.
    qsizetype putWindow = 256;
    //! Items forEach() holds at once: delivered to this process, not yet passed to its function.
    qsizetype forEachWindow = 256;
};

/*!
 * \brief The part of a NatsChannel that does not depend on its item type: state, close(),
 * join(), signals and properties, as ChannelBase is for Channel<T>.
 *
 * One channel is one JetStream work-queue stream that any number of processes on any number of
 * machines open by its name. docs/nats.md says what each guarantee of the in-process channel
 * becomes over the network; in short:
 *
 * - The state queries (isClosed(), isFinished(), size(), isFull()) return the last state this
 *   process knows. It is refreshed every NatsChannelOptions::pollInterval while anybody here
 *   waits (a get, a put waiting for room, join(), forEach()) or listens to a signal, and at
 *   once after this process's own close(); refresh() fetches it now.
 * - Signals are emitted in the thread this object lives in, from its event loop (a channel in
 *   a thread without an event loop still works, it just emits nothing). They are coalesced as
 *   ChannelBase's are.
 * - close() and join() hold for every process: exactly one close() in the whole system returns
 *   true, and join() finishes in every process once the channel is closed and drained.
 *
 * Every member is thread-safe. The blocking ones throw NatsError (Kind::Usage) when called on
 * the connection's engine thread, where they would wait for themselves.
 *
 * Destroying the object detaches this process from the channel; it does not close it. Pending
 * put() and get() futures that have not reached the server fail with ChannelClosed, as when a
 * Channel is destroyed; puts already on the wire finish with their real outcome; items
 * delivered here and not yet handed out go back to the channel.
 */
class QTCHANNEL_NATS_EXPORT NatsChannelBase : public QObject {
    Q_OBJECT
    //! Items in the channel (last known); see size().
    Q_PROPERTY(qsizetype size READ size NOTIFY sizeChanged)
    //! See capacity().
    Q_PROPERTY(qsizetype capacity READ capacity CONSTANT)
    //! See isClosed().
    Q_PROPERTY(bool closed READ isClosed NOTIFY closed)
    //! See isFinished().
    Q_PROPERTY(bool finished READ isFinished NOTIFY finished)
    //! See name().
    Q_PROPERTY(QString name READ name CONSTANT)

public:
    ~NatsChannelBase() override;

    /*!
     * Closes the channel for every process: puts fail from now on, items in it can still be
     * taken, and once they are the channel is finished. Returns true for the one call in the
     * whole system that closed it, false if it was closed already. Blocks for a few round
     * trips to the server; throws NatsError if the server cannot be reached or refuses.
     */
    bool close();
    //! close() without blocking: the future gives its result, or fails with NatsError.
    QFuture<bool> closeAsync();

    /*!
     * A future that finishes once the channel is closed and drained, seen by this process
     * (within pollInterval of the last item's acknowledgement). Never blocks. Fails with
     * NatsError if the connection is closed first; canceled if this object is destroyed first.
     */
    QFuture<void> join() const;

    //! The channel is closed (last known state). Lock-free.
    bool isClosed() const noexcept;
    //! Closed and drained: no item will ever come out again (last known state). Lock-free.
    bool isFinished() const noexcept;
    /*!
     * Items in the channel (last known state): put and not yet taken, including items
     * delivered to a consumer that has not acknowledged them yet. Lock-free.
     */
    qsizetype size() const noexcept;
    //! The capacity: Unbounded, or the bound n ≥ 1.
    qsizetype capacity() const noexcept;
    //! size() == 0.
    bool isEmpty() const noexcept { return size() == 0; }
    //! A put would have to wait for room (last known state). An unbounded channel never is.
    bool isFull() const noexcept;
    //! Puts of this process not yet accepted.
    qsizetype pendingPuts() const noexcept;
    //! Gets of this process waiting for an item.
    qsizetype pendingGets() const noexcept;

    //! The channel's name, as given to open().
    QString name() const;
    //! The JetStream stream that holds it: "QTCHANNEL_" + name().
    QString streamName() const;
    //! The options in effect (for a bind(), the channel's own definition).
    NatsChannelOptions options() const;
    //! The connection it was opened on.
    NatsConnection *connection() const;

    //! Fetches the channel's state now; the future finishes once it is known here.
    QFuture<void> refresh();

    /*!
     * Deletes the channel named `name` from the server, with every item in it: for tests,
     * demos, and to reuse a name once a channel is finished. Blocks; throws NatsError.
     * Processes that still have it open fail their later calls.
     */
    static void remove(NatsConnection *connection, const QString &name,
                       std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

Q_SIGNALS:
    //! An item became available to take (polled across processes). Coalesced.
    void itemAvailable();
    //! Room became available to put (polled across processes). Coalesced.
    void spaceAvailable();
    //! The number of items in the channel changed (as polled).
    void sizeChanged(qsizetype size);
    //! Emitted once, when this process learns that the channel is closed.
    void closed();
    //! Emitted once, when this process learns that the channel is closed and drained.
    void finished();

protected:
    /// \cond INTERNAL
    // Opens (creates or binds, `bindOnly`: binds) the channel; blocks; throws.
    NatsChannelBase(NatsConnection *connection, const QString &name, qsizetype capacity,
                    bool bindOnly, const NatsChannelOptions &options, const QByteArray &itemType);

    QFuture<void> putPayload(QByteArray payload);
    PutResult tryPutPayload(QByteArray payload);
    PutResult putPayloadBlocking(QByteArray payload, QDeadlineTimer deadline);
    // Queues a get in this process's line.
    void addGet(std::shared_ptr<detail::NatsGetSink> sink);
    // Throws NatsError (Usage) on the engine thread.
    void assertMayBlock(const char *call) const;
    std::shared_ptr<detail::NatsEngine> engine() const;
    // Wakes the engine to look at the line again (a withdrawn get, a forEach that made room).
    void nudge();
    // nudge() as a function that outlives this object.
    std::function<void()> nudger() const;
    // Acknowledges (or, with false, gives back) items in one go by their ack subjects, without
    // waiting for confirmations, then lets the engine ask for more; outlives this object.
    std::function<void(std::vector<QByteArray>, bool)> settler() const;

    void connectNotify(const QMetaMethod &signal) override;
    void disconnectNotify(const QMetaMethod &signal) override;
    /// \endcond

private:
    std::shared_ptr<detail::NatsChannelState> m_state;
    NatsConnection *m_connection;
};

} // namespace QtChannel
