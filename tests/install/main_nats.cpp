// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// Built against an installed QtChannel with find_package(QtChannel CONFIG COMPONENTS Nats):
// the component's headers, library and nats.c are found. No server is needed.

#include <QtChannel/NatsChannel>

#include <QtCore/QUrl>

#include <cstdio>

int main() {
    QtChannel::NatsConnection connection(QUrl(QStringLiteral("nats://127.0.0.1:4222")));
    const bool unconnected = connection.state() == QtChannel::NatsConnection::State::Unconnected;
    using Codec = QtChannel::detail::NatsCodec<int>;
    const int back = Codec::decode(Codec::encode(42));
    std::printf("nats component: %s, round trip %d\n", unconnected ? "unconnected" : "?", back);
    return unconnected && back == 42 ? 0 : 1;
}
