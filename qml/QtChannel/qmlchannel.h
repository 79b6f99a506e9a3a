// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

#include <QtChannel/Channel>
#include <QtChannel/qtchannelqml_export.h>

#include <QtCore/QElapsedTimer>
#include <QtCore/QException>
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

/*!
 * \brief The close reason recorded by QmlChannel::close(reason): a QException with the reason
 * as its message.
 *
 * The futures that fail because of such a close (put(), get() once drained, join(),
 * forEach()) fail with it; C++ code sharing the channel reads the text with message(), or with
 * QmlChannel::reasonText(channel->closeReason()).
 */
class QTCHANNELQML_EXPORT QmlCloseReason : public QException {
public:
    explicit QmlCloseReason(QString message);
    //! The reason given to close(reason).
    QString message() const { return m_message; }
    const char *what() const noexcept override;
    void raise() const override;
    QmlCloseReason *clone() const override;

private:
    QString m_message;
    QByteArray m_utf8;
};

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
 * item, a get() without a callback, a callback that is not a function, a close() reason that
 * is not a non-empty string or an Error). Bad property values (a capacity below -1, an
 * overflow policy that is not one of the three, either set after first use) are refused with
 * a qmlWarning and leave the property unchanged. A drop policy with a capacity below 1 is
 * reported with a qmlWarning when the channel is created, which then waits (Channel.Wait). A put on
 * a closed channel is refused (tryPut() returns false, a put() callback gets `false`) and logs one
 * qmlWarning per channel.
 *
 * Thread affinity: the QML-facing members are called in the wrapper's thread. The C++
 * members channel(), putBlocking() and getBlocking() are thread-safe.
 */
class QTCHANNELQML_EXPORT QmlChannel : public QObject {
    Q_OBJECT
    QML_NAMED_ELEMENT(Channel)
    //! -1 unbounded (the default), 0 rendezvous, n ≥ 1 bounded. Settable until first use.
    Q_PROPERTY(int capacity READ capacity WRITE setCapacity NOTIFY capacityChanged)
    /*!
     * What a put does when the channel is full: Channel.Wait (the default), Channel.DropOldest
     * or Channel.DropNewest (both need a capacity of at least 1). Settable until first use.
     */
    Q_PROPERTY(OverflowPolicy overflow READ overflow WRITE setOverflow NOTIFY overflowChanged)
    /*!
     * Items evicted or discarded by the overflow policy so far, by anyone (ChannelBase::
     * droppedCount()). Coalesced like the other properties. A JavaScript number.
     */
    Q_PROPERTY(double dropped READ dropped NOTIFY droppedChanged)
    /*!
     * Why the channel was closed: the reason given to close(reason) (or the message of the
     * exception C++ closed it with); empty while open and after a plain close.
     */
    Q_PROPERTY(QString closeReason READ closeReason NOTIFY closeReasonChanged)
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
    //! Channel.Wait, Channel.DropOldest, Channel.DropNewest: QtChannel::Overflow for QML.
    //! A fixed underlying type: QML may assign any number, which setOverflow() then rejects.
    enum OverflowPolicy : int {
        Wait = int(QtChannel::Overflow::Wait),
        DropOldest = int(QtChannel::Overflow::DropOldest),
        DropNewest = int(QtChannel::Overflow::DropNewest),
    };
    Q_ENUM(OverflowPolicy)

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
    OverflowPolicy overflow() const;
    void setOverflow(OverflowPolicy overflow);
    double dropped() const;
    QString closeReason() const;
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
     * Puts `value`, waiting for room without blocking. `callback(ok, reason)`, if given, is
     * called later (never before put() returns): `ok` is true once the item was accepted, false
     * when the channel was closed first (the item is then not in the channel); `reason` is the
     * close reason then (empty after a plain close, and when `ok`).
     */
    Q_INVOKABLE void put(const QJSValue &value, const QJSValue &callback = QJSValue());

    /*!
     * Takes the oldest item, waiting for one without blocking. `callback(value, ok, reason)`
     * is called later (never before get() returns): with the item, true and an empty reason,
     * or with `undefined`, false and the close reason (empty after a plain close) once the
     * channel is finished (closed and no item can reach this get).
     */
    Q_INVOKABLE void get(const QJSValue &callback);

    /*!
     * Closes the channel; true only for the call that closed it. With a `reason` (a non-empty
     * string, or an Error whose message is used) the close records it (ChannelBase::
     * close(std::exception_ptr) with a QmlCloseReason): pending and later put() and get()
     * callbacks that fail because of it receive it, as do the futures of C++ code sharing the
     * channel, and closeReason shows it. Without a reason (or with null) it is a plain close.
     * Anything else as a reason throws a TypeError (and does not close).
     */
    Q_INVOKABLE bool close(const QJSValue &reason = QJSValue());
    //! close(reason) from C++; an empty `reason` is a plain close.
    bool close(const QString &reason);
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

    /*!
     * Counts `n` items that C++ code took from channel() directly (with a Select, a batch, a
     * forEach) in itemsTakenHere, as if they had been taken through this object.
     */
    void countTaken(qint64 n = 1);

    /*!
     * The text of a close reason: the message of a QmlCloseReason, the what() of any other
     * exception, empty for a null `reason` and for ChannelClosed.
     */
    static QString reasonText(std::exception_ptr reason);
    //! \}

Q_SIGNALS:
    void capacityChanged();
    void overflowChanged();
    void droppedChanged();
    void closeReasonChanged();
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
        qint64 dropped = 0;
        QString closeReason;
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
        DroppedBit = 512,
        CloseReasonBit = 1024,
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
    QString liveCloseReason() const;
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
    int m_capacity = Unbounded;           // the wrapper's thread; fixed once the channel exists
    Overflow m_overflow = Overflow::Wait; // as m_capacity
    mutable std::optional<QString> m_closeReason; // the wrapper's thread: cached once closed

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
