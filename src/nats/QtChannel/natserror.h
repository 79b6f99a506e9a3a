// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

#include <QtChannel/qtchannelnats_export.h>

#include <QtCore/QByteArray>
#include <QtCore/QException>
#include <QtCore/QString>

/*!
 * \file natserror.h
 * \brief NatsError: what the NATS channel's calls throw, and its futures fail with, when the
 * network or the server refuses them. Include <QtChannel/NatsChannel>.
 */

namespace QtChannel {

/*!
 * \brief A failure of the NATS connection or of the JetStream server: the error that
 * NatsConnection, NatsChannel and Delivery throw from their blocking calls and fail their
 * futures with.
 *
 * A closed channel is not an error: puts on it fail with ChannelClosed, as in one process.
 * NatsError is everything else: the server cannot be reached, refuses the credentials or the
 * certificate, forbids the subject, has a channel of that name with another configuration,
 * or did not answer in time. what() and message() say which, in words meant for a log or a
 * dialog; kind() is for code.
 *
 * As for every failed QFuture, `isCanceled()` is also true on a future that failed with it.
 */
class QTCHANNEL_NATS_EXPORT NatsError : public QException {
public:
    //! What went wrong, for code that reacts differently to each.
    enum class Kind {
        Connection,     //!< not connected: cannot reach a server, or the connection was closed
        NotAuthorized,  //!< the server refused the credentials, or the subject is not permitted
        Tls,            //!< the TLS handshake failed (untrusted certificate, wrong host name...)
        Timeout,        //!< the server did not answer in time
        JetStream,      //!< the JetStream server refused the request; see jsErrorCode()
        Mismatch,       //!< a channel of that name exists with another configuration
        Format,         //!< an item could not be decoded; see payload()
        OutcomeUnknown, //!< a put's acknowledgement was lost and it cannot be retried safely
        Usage,          //!< a call that cannot work here (e.g. blocking on the engine thread)
    };

    NatsError(Kind kind, const QString &message, int status = 0, int jsErrorCode = 0);

    Kind kind() const noexcept { return m_kind; }
    //! The message, also returned (UTF-8) by what().
    QString message() const { return QString::fromUtf8(m_what); }
    //! nats.c's natsStatus, or 0.
    int status() const noexcept { return m_status; }
    //! JetStream's error code (e.g. 10059, stream not found), or 0.
    int jsErrorCode() const noexcept { return m_jsErrorCode; }
    //! For Kind::Format: the item's raw bytes, as they were in the channel (nothing is lost).
    QByteArray payload() const { return m_payload; }
    void setPayload(const QByteArray &payload) { m_payload = payload; }

    void raise() const override;
    NatsError *clone() const override;
    const char *what() const noexcept override;

private:
    Kind m_kind;
    int m_status;
    int m_jsErrorCode;
    QByteArray m_what;
    QByteArray m_payload;
};

} // namespace QtChannel
