// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

#include <QtChannel/natserror.h>
#include <QtChannel/qtchannelnats_export.h>

#include <QtCore/QFuture>
#include <QtCore/QList>
#include <QtCore/QObject>
#include <QtCore/QString>
#include <QtCore/QUrl>

#include <chrono>
#include <memory>

/*!
 * \file natsconnection.h
 * \brief NatsConnection and its options: one connection to a NATS server or cluster, shared by
 * any number of NatsChannel objects. Include <QtChannel/NatsChannel>.
 */

namespace QtChannel {

class NatsChannelBase;
namespace detail {
class NatsEngine;
}

//! TLS settings of a NatsConnection.
struct NatsTlsOptions {
    //! Use TLS even when the URLs say `nats://` (a `tls://` URL turns it on by itself).
    bool enabled = false;
    //! PEM file of the certificate authorities to trust. Empty: the system's.
    QString caFile;
    //! PEM file of the client certificate, for servers that verify their clients.
    QString certificateFile;
    //! PEM file of the client certificate's private key.
    QString keyFile;
    //! The host name the server's certificate must carry. Empty: the host of the URL.
    QString expectedHostname;
    //! false accepts any server certificate: for tests only, it defeats TLS's purpose.
    bool verifyServer = true;
};

/*!
 * \brief How a NatsConnection reaches its servers and proves who it is.
 *
 * At most one way of authenticating is used, in this order: credentialsFile, the NKey, the
 * token, then user and password (which may also be given in the URLs, as
 * `nats://user:password@host:4222`).
 */
struct NatsConnectionOptions {
    //! The servers to try, e.g. `nats://127.0.0.1:4222`; several for a cluster.
    QList<QUrl> servers;
    //! The name the servers show for this client (monitoring, logs).
    QString name;
    QString user;     //!< user name (with password)
    QString password; //!< password (with user)
    QString token;    //!< an authentication token
    //! A `.creds` file: the user's JWT and NKey seed (decentralised authentication).
    QString credentialsFile;
    QString nkeyPublicKey; //!< an NKey user's public key (with nkeySeedFile)
    QString nkeySeedFile;  //!< the file that holds that NKey's seed
    NatsTlsOptions tls;    //!< TLS settings
    //! How long the first connection to one server may take.
    std::chrono::milliseconds connectTimeout{2000};
    //! Reconnection attempts after losing the server (-1: for ever, 0: never reconnect).
    int maxReconnects = -1;
    //! The pause between two reconnection attempts to the same server.
    std::chrono::milliseconds reconnectWait{250};
    //! How often the client pings the server; a lost server is noticed after
    //! pingInterval × maxPingsOut.
    std::chrono::milliseconds pingInterval{5000};
    //! Unanswered pings before the connection is considered lost.
    int maxPingsOut = 2;
    //! What is buffered while reconnecting (published items and requests), in bytes.
    qsizetype reconnectBufferBytes = 8 * 1024 * 1024;
};

/*!
 * \brief One connection to a NATS server or cluster (nats.c underneath), shared by any number of
 * NatsChannel objects in any threads.
 *
 * The connection runs its own engine thread: nats.c's threads read and write the socket, hand
 * what arrives to the engine, and the engine settles futures, wakes blocked threads and posts
 * signals to the objects' threads (docs/nats.md, "Design", says why). Signals of this object are
 * emitted in the thread it lives in, from its event loop.
 *
 * Reconnection is automatic (see NatsConnectionOptions::maxReconnects): while reconnecting,
 * channels keep their pending operations and retry them once the connection is back.
 *
 * Every member is thread-safe. Destroying the connection closes it; the channels opened on it
 * then fail their pending and later calls with NatsError (Kind::Connection).
 */
class QTCHANNEL_NATS_EXPORT NatsConnection : public QObject {
    Q_OBJECT
    //! See state().
    Q_PROPERTY(State state READ state NOTIFY stateChanged)

public:
    //! Where the connection is in its life.
    enum class State {
        Unconnected,  //!< connectToServer() was not called yet, or it failed
        Connecting,   //!< the first connection is being made
        Connected,    //!< connected
        Reconnecting, //!< the server was lost; trying to reconnect
        Closed,       //!< closed for ever: close(), destruction, or reconnection gave up
    };
    Q_ENUM(State)

    //! A connection with `options`; call connectToServer() or connectBlocking() next.
    explicit NatsConnection(const NatsConnectionOptions &options, QObject *parent = nullptr);
    //! A connection to one server, without credentials.
    explicit NatsConnection(const QUrl &server, QObject *parent = nullptr);
    ~NatsConnection() override;

    /*!
     * Connects in the background. The future finishes once connected, or fails with NatsError
     * (Kind::Connection, NotAuthorized or Tls) saying why. Never blocks. Calling it again while
     * connecting or connected returns a finished future.
     */
    QFuture<void> connectToServer();

    /*!
     * Connects, and returns once connected. Throws NatsError saying why it could not.
     * Blocks the calling thread for up to NatsConnectionOptions::connectTimeout per server.
     */
    void connectBlocking();

    //! Closes the connection for ever (see the class documentation). Never blocks for long.
    void close();

    //! The current state. Thread-safe, lock-free.
    State state() const;
    //! state() == Connected.
    bool isConnected() const { return state() == State::Connected; }
    //! The server currently connected to, or an empty URL.
    QUrl connectedUrl() const;
    //! The last error the connection or the server reported, or an empty string.
    QString lastError() const;
    //! The options given to the constructor.
    NatsConnectionOptions options() const;

Q_SIGNALS:
    //! The state changed.
    void stateChanged(QtChannel::NatsConnection::State state);
    //! The first connection succeeded.
    void connected();
    //! The server was lost; reconnection starts (unless disabled).
    void disconnected();
    //! Connected again after a loss.
    void reconnected();
    //! Closed for ever.
    void closed();
    //! The server or the client library reported an error (e.g. a permissions violation).
    void errorOccurred(const QString &message);

private:
    friend class NatsChannelBase;
    std::shared_ptr<detail::NatsEngine> engine() const { return m_engine; }

    std::shared_ptr<detail::NatsEngine> m_engine;
};

} // namespace QtChannel
