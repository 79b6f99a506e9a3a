// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

#include <QtChannel/Channel>
#include <QtChannel/qtchannelqml_export.h>

#include <QtCore/QElapsedTimer>
#include <QtCore/QList>
#include <QtCore/QMetaObject>
#include <QtCore/QObject>
#include <QtCore/QPointer>
#include <QtCore/QTimer>
#include <QtCore/QVariant>
#include <QtQml/QJSValue>
#include <QtQml/qqmlregistration.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>

/*!
 * \file qmlchannel.h
 * \brief QmlChannel, the `Channel` type of `import QtChannel`. Include <QtChannel/QmlChannel>.
 */

class QJSEngine;

namespace QtChannel {

class ChannelItemModel;

namespace detail {
struct QmlRelay;
struct QmlPending;
} // namespace detail

/*!
 * \brief The QML `Channel` type (`import QtChannel`): a Channel<QVariant> for QML, with
 * properties for bindings, callbacks instead of futures, and a model of the buffered items.
 *
 * In QML, `Channel { capacity: 4 }` creates its own channel when it is first used: the first
 * put, get, tryPut, tryGet or close (or the first C++ call that needs it) fixes the capacity.
 * From C++, `QmlChannel(std::shared_ptr<Channel<QVariant>>)` wraps a channel that C++ code
 * created and keeps using; hand the wrapper to QML as a context property or a required
 * property (docs/qml.md, "Sharing a C++ channel").
 *
 * \par Notifications are coalesced
 * The channel may be driven by other threads, so the wrapper never turns the core's per-item
 * signals into per-item QML signals. Worker threads only set atomic flags; the wrapper's own
 * thread delivers itemAvailable(), spaceAvailable(), closed() and finished() at most once per
 * event-loop turn, and the NOTIFY signals of the properties at most once per frame (16 ms).
 * Reading a property always returns the current value. pendingPuts and pendingGets change
 * without any signal from the core (a thread starting to wait emits nothing), so they are also
 * sampled four times a second while the channel is not finished.
 *
 * \par Errors
 * Programming errors from QML throw a JavaScript TypeError (undefined or a function as an
 * item, a get() without a callback, a callback that is not a function). Bad property values
 * (a capacity below -1, a capacity set after first use) are refused with a qmlWarning and
 * leave the property unchanged. A put on a closed channel is refused (tryPut() returns false,
 * a put() callback gets `false`) and logs one qmlWarning per channel.
 *
 * Thread affinity: the QML-facing members are called in the wrapper's thread. The C++
 * members channel(), putBlocking() and getBlocking() are thread-safe.
 */
class QTCHANNELQML_EXPORT QmlChannel : public QObject {
    Q_OBJECT
    QML_NAMED_ELEMENT(Channel)
    //! -1 unbounded (the default), 0 rendezvous, n ≥ 1 bounded. Settable until first use.
    Q_PROPERTY(int capacity READ capacity WRITE setCapacity NOTIFY capacityChanged)
    //! Buffered items (always 0 for a rendezvous channel).
    Q_PROPERTY(int size READ size NOTIFY sizeChanged)
    //! No buffered item.
    Q_PROPERTY(bool empty READ isEmpty NOTIFY emptyChanged)
    //! A put would have to wait.
    Q_PROPERTY(bool full READ isFull NOTIFY fullChanged)
    //! close() was called (by anyone).
    Q_PROPERTY(bool closed READ isClosed NOTIFY closedChanged)
    //! Closed and drained: no item will ever come out again.
    Q_PROPERTY(bool finished READ isFinished NOTIFY finishedChanged)
    /*!
     * Items accepted by puts made through this object (QML, putBlocking()); not the puts C++
     * makes on the channel directly. A JavaScript number: exact up to 2^53.
     */
    Q_PROPERTY(double itemsPutHere READ itemsPutHere NOTIFY itemsPutHereChanged)
    //! Items taken by gets made through this object (QML, getBlocking()), as itemsPutHere.
    Q_PROPERTY(double itemsTakenHere READ itemsTakenHere NOTIFY itemsTakenHereChanged)
    //! Puts waiting for room, from every side (QML callbacks and C++ threads).
    Q_PROPERTY(int pendingPuts READ pendingPuts NOTIFY pendingPutsChanged)
    //! Gets waiting for an item, from every side.
    Q_PROPERTY(int pendingGets READ pendingGets NOTIFY pendingGetsChanged)
    //! The buffered items, oldest first, as a list model (role `value`), updated once a frame.
    Q_PROPERTY(QtChannel::ChannelItemModel *items READ items CONSTANT)

public:
    //! A channel created on first use, with the capacity set until then (default unbounded).
    explicit QmlChannel(QObject *parent = nullptr);

    /*!
     * Wraps a channel created in C++, sharing ownership. C++ code keeps driving `channel`
     * directly (any thread, any style) while QML uses this object. capacity is the channel's
     * and cannot be set. \throws std::invalid_argument if `channel` is null.
     */
    explicit QmlChannel(std::shared_ptr<Channel<QVariant>> channel, QObject *parent = nullptr);

    /*!
     * Cancels this object's pending put() and get() callbacks (their puts are withdrawn and
     * never enqueued later; their gets never swallow an item), then releases the channel: a
     * channel that nobody else shares is destroyed, which closes it. An item already handed
     * to a get() whose callback had not run yet is dropped with a qmlWarning.
     */
    ~QmlChannel() override;

    //! \name The QML API (the wrapper's thread)
    //! \{
    int capacity() const;
    void setCapacity(int capacity);
    int size() const;
    bool isEmpty() const;
    bool isFull() const;
    bool isClosed() const;
    bool isFinished() const;
    double itemsPutHere() const;
    double itemsTakenHere() const;
    int pendingPuts() const;
    int pendingGets() const;
    ChannelItemModel *items() const;

    /*!
     * Puts `value` if that needs no waiting: true when it was accepted, false when the channel
     * is full (rendezvous: no get is waiting) or closed. Throws a TypeError for `undefined` or a
     * function. JavaScript objects and arrays are copied (as QVariantMap / QVariantList).
     */
    Q_INVOKABLE bool tryPut(const QJSValue &value);

    //! Takes the oldest item if one is available, else returns `undefined`.
    Q_INVOKABLE QVariant tryGet();

    /*!
     * Puts `value`, waiting for room without blocking. `callback(ok)`, if given, is called
     * later (never before put() returns): `ok` is true once the item was accepted, false when
     * the channel was closed first (the item is then not in the channel).
     */
    Q_INVOKABLE void put(const QJSValue &value, const QJSValue &callback = QJSValue());

    /*!
     * Takes the oldest item, waiting for one without blocking. `callback(value, ok)` is called
     * later (never before get() returns): with the item and true, or with `undefined` and
     * false once the channel is finished (closed and no item can reach this get).
     */
    Q_INVOKABLE void get(const QJSValue &callback);

    //! Closes the channel; true only for the call that closed it.
    Q_INVOKABLE bool close();
    //! \}

    //! \name The C++ side (thread-safe)
    //! \{
    /*!
     * The channel, created now with the current capacity if it was not yet (that counts as
     * first use). Puts and gets made on it directly are not counted in itemsPutHere and
     * itemsTakenHere.
     */
    std::shared_ptr<Channel<QVariant>> channel();

    //! Channel<QVariant>::putBlocking(), counted in itemsPutHere. For worker threads.
    PutResult putBlocking(QVariant item,
                          QDeadlineTimer deadline = QDeadlineTimer(QDeadlineTimer::Forever));
    //! Channel<QVariant>::getBlocking(), counted in itemsTakenHere. For worker threads.
    std::optional<QVariant>
    getBlocking(QDeadlineTimer deadline = QDeadlineTimer(QDeadlineTimer::Forever));
    //! \}

Q_SIGNALS:
    void capacityChanged();
    void sizeChanged();
    void emptyChanged();
    void fullChanged();
    void closedChanged();
    void finishedChanged();
    void itemsPutHereChanged();
    void itemsTakenHereChanged();
    void pendingPutsChanged();
    void pendingGetsChanged();

    //! An item became available to take. Coalesced: drain with tryGet() until `undefined`.
    void itemAvailable();
    //! Room became available to put. Coalesced like itemAvailable().
    void spaceAvailable();
    //! Emitted once, when the channel was closed (by anyone).
    void closed();
    //! Emitted once, when the channel is closed and drained.
    void finished();

private:
    friend struct detail::QmlRelay;

    struct Shown {
        int size = 0;
        bool empty = true;
        bool full = false;
        bool closed = false;
        bool finished = false;
        qint64 put = 0;
        qint64 taken = 0;
        int pendingPuts = 0;
        int pendingGets = 0;
    };
    enum StaleBit : quint16 {
        SizeBit = 1,
        EmptyBit = 2,
        FullBit = 4,
        ClosedBit = 8,
        FinishedBit = 16,
        PutBit = 32,
        TakenBit = 64,
        PendingPutsBit = 128,
        PendingGetsBit = 256,
    };

    Channel<QVariant> *ensureChannel();
    Channel<QVariant> *existingChannel() const { return m_raw.load(std::memory_order_acquire); }
    void attach(std::shared_ptr<Channel<QVariant>> channel);
    void deliver();
    void refresh();
    void requestRefresh() const;
    template <typename V> V noteRead(V live, V shown, quint16 bit) const {
        if (live != shown) {
            m_staleReads |= bit;
            requestRefresh();
        }
        return live;
    }
    QJSEngine *engine() const;
    bool accept(const char *method, const QString &problem) const;
    bool checkItem(const QJSValue &value, const char *method) const;
    bool checkCallback(const QJSValue &callback, const char *method, bool required) const;
    void refusedBecauseClosed();
    void settle(detail::QmlPending *op);
    void callBack(const QJSValue &callback, const QJSValueList &args, const char *method);
    QList<QVariant> snapshot() const;

    // The channel: created once (under m_createMutex), then never changed until destruction.
    std::mutex m_createMutex;
    std::shared_ptr<Channel<QVariant>> m_channel; // guarded by m_createMutex until created
    std::atomic<Channel<QVariant> *> m_raw{nullptr};
    int m_capacity = Unbounded; // the wrapper's thread; fixed once the channel exists

    // Counted by every thread that puts or takes through this object.
    std::atomic<qint64> m_put{0};
    std::atomic<qint64> m_taken{0};

    // The rest belongs to the wrapper's thread.
    std::shared_ptr<detail::QmlRelay> m_relay;
    QList<QMetaObject::Connection> m_connections;
    QList<detail::QmlPending *> m_pending;
    Shown m_shown;
    mutable quint16 m_staleReads = 0;
    mutable QTimer m_frameTimer;
    QTimer m_heartbeat;
    QElapsedTimer m_sinceRefresh;
    mutable ChannelItemModel *m_items = nullptr;
    bool m_itemsDirty = true;
    qint64 m_takenAtSync = 0;
    bool m_warnedClosed = false;
};

} // namespace QtChannel
