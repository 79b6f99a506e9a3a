// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

// How NatsChannel<T> turns items into bytes and back: a versioned envelope around the item.
//
//   byte 0-1  'Q' 'C'        magic: this message was written by QtChannel
//   byte 2    version (1)    of this envelope; a reader refuses a version it does not know
//   byte 3    kind           1 QByteArray (raw), 2 QString (UTF-8), 3 QJsonDocument (compact
//                            JSON), 4 QDataStream
//   byte 4    (kind 4 only)  the QDataStream version the item was written with
//   then      the item
//
// So a change of the format, or a reader of the wrong type, is detected and reported (a
// NatsError of Kind::Format that carries the bytes), never misread.

#include <QtChannel/natserror.h>
#include <QtChannel/qtchannelnats_export.h>

#include <QtCore/QByteArray>
#include <QtCore/QDataStream>
#include <QtCore/QIODevice>
#include <QtCore/QJsonDocument>
#include <QtCore/QMetaType>
#include <QtCore/QString>

#include <concepts>
#include <type_traits>

/// \cond INTERNAL
namespace QtChannel::detail {

enum class NatsItemKind : quint8 { Bytes = 1, String = 2, Json = 3, DataStream = 4 };
inline constexpr quint8 NatsEnvelopeVersion = 1;
// Items of kind DataStream are written with this QDataStream version, whatever Qt reads them.
inline constexpr int NatsDataStreamVersion = QDataStream::Qt_6_4;

// The envelope's header for `kind`.
QTCHANNEL_NATS_EXPORT QByteArray natsEnvelopeHeader(NatsItemKind kind);
// Checks `payload`'s header. Returns the offset of the item, or throws NatsError (Format),
// carrying the payload, when it is not an envelope of this version and kind. For DataStream,
// `dataStreamVersion` receives the version to read the item with.
QTCHANNEL_NATS_EXPORT qsizetype natsOpenEnvelope(const QByteArray &payload, NatsItemKind kind,
                                                 const char *typeName,
                                                 int *dataStreamVersion = nullptr);
// Throws NatsError (Format) for an item that does not read back as `typeName`.
[[noreturn]] QTCHANNEL_NATS_EXPORT void natsThrowUndecodable(const QByteArray &payload,
                                                             const char *typeName);

template <typename T>
concept NatsDataStreamable = std::is_default_constructible_v<T> &&
    requires(QDataStream &s, T &t, const T &ct) {
    { s << ct } -> std::same_as<QDataStream &>;
    { s >> t } -> std::same_as<QDataStream &>;
};

// The codec of T: QDataStream operators, unless T is one of the kinds below.
template <typename T> struct NatsCodec {
    static constexpr bool supported = NatsDataStreamable<T>;
    static QByteArray typeName() { return QByteArray(QMetaType::fromType<T>().name()); }
    static QByteArray encode(const T &item) {
        QByteArray bytes = natsEnvelopeHeader(NatsItemKind::DataStream);
        QDataStream out(&bytes, QIODevice::WriteOnly | QIODevice::Append);
        out.setVersion(NatsDataStreamVersion);
        out << item;
        return bytes;
    }
    static T decode(const QByteArray &payload) {
        const QByteArray name = typeName();
        int version = NatsDataStreamVersion;
        const qsizetype offset =
            natsOpenEnvelope(payload, NatsItemKind::DataStream, name.constData(), &version);
        QDataStream in(payload);
        in.setVersion(version);
        in.skipRawData(int(offset));
        T item;
        in >> item;
        if (in.status() != QDataStream::Ok || !in.atEnd())
            natsThrowUndecodable(payload, name.constData());
        return item;
    }
};

template <> struct NatsCodec<QByteArray> {
    static constexpr bool supported = true;
    static QByteArray typeName() { return QByteArrayLiteral("QByteArray"); }
    static QByteArray encode(const QByteArray &item) {
        return natsEnvelopeHeader(NatsItemKind::Bytes) + item;
    }
    static QByteArray decode(const QByteArray &payload) {
        return payload.mid(natsOpenEnvelope(payload, NatsItemKind::Bytes, "QByteArray"));
    }
};

template <> struct NatsCodec<QString> {
    static constexpr bool supported = true;
    static QByteArray typeName() { return QByteArrayLiteral("QString"); }
    static QByteArray encode(const QString &item) {
        return natsEnvelopeHeader(NatsItemKind::String) + item.toUtf8();
    }
    static QString decode(const QByteArray &payload) {
        const qsizetype offset = natsOpenEnvelope(payload, NatsItemKind::String, "QString");
        return QString::fromUtf8(payload.constData() + offset, payload.size() - offset);
    }
};

template <> struct NatsCodec<QJsonDocument> {
    static constexpr bool supported = true;
    static QByteArray typeName() { return QByteArrayLiteral("QJsonDocument"); }
    static QByteArray encode(const QJsonDocument &item) {
        return natsEnvelopeHeader(NatsItemKind::Json) + item.toJson(QJsonDocument::Compact);
    }
    static QJsonDocument decode(const QByteArray &payload) {
        const qsizetype offset = natsOpenEnvelope(payload, NatsItemKind::Json, "QJsonDocument");
        const QByteArray body = payload.mid(offset);
        QJsonParseError error;
        QJsonDocument doc = QJsonDocument::fromJson(body, &error);
        if (error.error != QJsonParseError::NoError && !body.isEmpty())
            natsThrowUndecodable(payload, "QJsonDocument");
        return doc;
    }
};

} // namespace QtChannel::detail
/// \endcond
