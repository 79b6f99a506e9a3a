// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// The helper process of the NATS tests: a producer or a consumer of one NatsChannel, in a
// process of its own, that writes what it did to a file the test reads afterwards.
//
//   qtchannel-nats-peer produce --servers URL[,URL] --channel NAME --prefix P --count N
//                               [--acked FILE] [--close] [--style futures|blocking]
//   qtchannel-nats-peer consume --servers URL[,URL] --channel NAME --out FILE
//                               [--style get|foreach|delivery] [--hold]
//
// A producer puts "P:<i>" for i in [0, N) and writes one line per put to --acked: "ok <item>"
// once the server stored it, "unknown <item>" when that cannot be known, "failed <item>" when
// it was refused. A consumer takes items until the channel is finished and writes one line per
// item: "<item> <delivery count> <stream sequence>" (0 when the style does not say). --hold
// takes one delivery,
// prints "holding <item>" and waits to be killed without acknowledging it.

#include <QtChannel/NatsChannel>

#include <QtCore/QCommandLineParser>
#include <QtCore/QCoreApplication>
#include <QtCore/QFile>
#include <QtCore/QFutureWatcher>
#include <QtCore/QTextStream>
#include <QtCore/QTimer>

#include <cstdio>
#include <deque>
#include <thread>

using namespace QtChannel;
using namespace std::chrono;

namespace {

struct Config {
    NatsConnectionOptions connection;
    NatsChannelOptions channel;
    QString name;
    qsizetype capacity = Unbounded;
    bool bind = false;
};

// How long a consumer waits for an item before it reports the wait on standard error.
constexpr milliseconds StallReport = 10s;

void say(const QString &line) {
    std::fprintf(stdout, "%s\n", qPrintable(line));
    std::fflush(stdout);
}

// Writes lines straight to the file: what a killed process wrote is there.
class Log {
public:
    explicit Log(const QString &path)
        : m_file(path) {
        if (!path.isEmpty() &&
            !m_file.open(QIODevice::WriteOnly | QIODevice::Append | QIODevice::Unbuffered))
            throw std::runtime_error("cannot write " + path.toStdString());
    }
    void line(const QByteArray &text) {
        if (m_file.isOpen())
            m_file.write(text + '\n');
    }

private:
    QFile m_file;
};

std::unique_ptr<NatsChannel<QByteArray>> openChannel(NatsConnection &connection, const Config &c) {
    return c.bind ? NatsChannel<QByteArray>::bind(&connection, c.name, c.channel)
                  : NatsChannel<QByteArray>::open(&connection, c.name, c.capacity, c.channel);
}

int produce(const Config &c, const QCommandLineParser &args) {
    NatsConnection connection(c.connection);
    connection.connectBlocking();
    auto channel = openChannel(connection, c);
    const QByteArray prefix = args.value(QStringLiteral("prefix")).toUtf8();
    const int count = args.value(QStringLiteral("count")).toInt();
    Log acked(args.value(QStringLiteral("acked")));
    auto record = [&](QFuture<void> &f, const QByteArray &item) {
        try {
            f.waitForFinished();
            acked.line("ok " + item);
        } catch (const ChannelClosed &) {
            acked.line("failed " + item);
        } catch (const NatsError &e) {
            acked.line((e.kind() == NatsError::Kind::OutcomeUnknown ? "unknown " : "failed ") +
                       item);
        }
    };
    if (args.value(QStringLiteral("style")) == QLatin1String("blocking")) {
        for (int i = 0; i < count; ++i) {
            const QByteArray item = prefix + ':' + QByteArray::number(i);
            try {
                acked.line((channel->putBlocking(item) == PutResult::Ok ? "ok " : "failed ") +
                           item);
            } catch (const NatsError &e) {
                acked.line((e.kind() == NatsError::Kind::OutcomeUnknown ? "unknown " : "failed ") +
                           item);
            }
        }
    } else {
        // Futures, a bounded number in flight: waits for the oldest when there are many.
        std::deque<std::pair<QFuture<void>, QByteArray>> pending;
        for (int i = 0; i < count; ++i) {
            const QByteArray item = prefix + ':' + QByteArray::number(i);
            pending.emplace_back(channel->put(item), item);
            while (pending.size() > 1024 ||
                   (!pending.empty() && pending.front().first.isFinished())) {
                record(pending.front().first, pending.front().second);
                pending.pop_front();
            }
        }
        for (auto &[f, item] : pending)
            record(f, item);
    }
    say(QStringLiteral("produced %1").arg(count));
    if (args.isSet(QStringLiteral("close")))
        say(channel->close() ? QStringLiteral("closed it") : QStringLiteral("was closed"));
    return 0;
}

int consume(const Config &c, const QCommandLineParser &args) {
    NatsConnection connection(c.connection);
    connection.connectBlocking();
    auto channel = openChannel(connection, c);
    Log out(args.value(QStringLiteral("out")));
    const QString style = args.value(QStringLiteral("style"));
    if (args.isSet(QStringLiteral("hold"))) {
        auto d = channel->getDeliveryBlocking();
        if (!d)
            return 2;
        out.line(d->item() + ' ' + QByteArray::number(d->deliveryCount()) + ' ' +
                 QByteArray::number(d->sequence()));
        say(QStringLiteral("holding %1").arg(QString::fromUtf8(d->item())));
        std::this_thread::sleep_for(hours(1)); // until killed, never acknowledging
        return 0;
    }
    qint64 taken = 0;
    // The next item, or nothing once the channel is finished. A wait that lasts says so on
    // standard error, with what this process knows of the channel, so that a consumer that never
    // sees the channel finished is not a silent timeout in the test.
    auto next = [&](auto get) {
        for (int quiet = 0;; ++quiet) {
            auto got = get(QDeadlineTimer(StallReport));
            if (got || channel->isFinished())
                return got;
            if (quiet % 3 == 2 || channel->isClosed())
                std::fprintf(stderr,
                             "qtchannel-nats-peer: no item for %lld s after %lld taken; the "
                             "channel: closed %d, finished %d, size %lld\n",
                             qint64(duration_cast<seconds>(StallReport).count()) * (quiet + 1),
                             taken, int(channel->isClosed()), int(channel->isFinished()),
                             qint64(channel->size()));
        }
    };
    if (style == QLatin1String("foreach")) {
        QObject context;
        QFuture<void> done = channel->forEach(&context, [&](const QByteArray &item) {
            out.line(item + " 0 0");
            ++taken;
        });
        QFutureWatcher<void> watcher;
        QObject::connect(&watcher, &QFutureWatcher<void>::finished, qApp, &QCoreApplication::quit);
        watcher.setFuture(done);
        if (!done.isFinished())
            QCoreApplication::exec();
        done.waitForFinished(); // rethrows a failure
    } else if (style == QLatin1String("delivery")) {
        std::deque<QFuture<void>> acks;
        while (auto d = next([&](QDeadlineTimer t) { return channel->getDeliveryBlocking(t); })) {
            out.line(d->item() + ' ' + QByteArray::number(d->deliveryCount()) + ' ' +
                     QByteArray::number(d->sequence()));
            acks.push_back(d->ack());
            ++taken;
            while (!acks.empty() && (acks.size() > 256 || acks.front().isFinished())) {
                try {
                    acks.front().waitForFinished();
                } catch (const NatsError &e) {
                    say(QStringLiteral("ack not confirmed: %1").arg(e.message()));
                }
                acks.pop_front();
            }
        }
        for (auto &a : acks) {
            try {
                a.waitForFinished();
            } catch (const NatsError &e) {
                say(QStringLiteral("ack not confirmed: %1").arg(e.message()));
            }
        }
    } else {
        while (auto item = next([&](QDeadlineTimer t) { return channel->getBlocking(t); })) {
            out.line(*item + " 0 0");
            ++taken;
        }
    }
    say(QStringLiteral("consumed %1, finished %2").arg(taken).arg(channel->isFinished()));
    return 0;
}

} // namespace

int main(int argc, char **argv) {
    QCoreApplication app(argc, argv);
    QCommandLineParser args;
    args.addPositionalArgument(QStringLiteral("role"), QStringLiteral("produce or consume"));
    const QList<QCommandLineOption> options{
        {QStringLiteral("servers"), QStringLiteral("comma-separated server URLs"),
         QStringLiteral("urls")},
        {QStringLiteral("channel"), QStringLiteral("channel name"), QStringLiteral("name")},
        {QStringLiteral("capacity"), QStringLiteral("capacity (default unbounded)"),
         QStringLiteral("n")},
        {QStringLiteral("bind"), QStringLiteral("bind to the channel as it is")},
        {QStringLiteral("ack-wait-ms"), QStringLiteral("ack wait"), QStringLiteral("ms")},
        {QStringLiteral("replicas"), QStringLiteral("replicas"), QStringLiteral("n")},
        {QStringLiteral("request-timeout-ms"), QStringLiteral("request timeout"),
         QStringLiteral("ms")},
        {QStringLiteral("poll-ms"), QStringLiteral("poll interval"), QStringLiteral("ms")},
        {QStringLiteral("open-timeout-ms"), QStringLiteral("open timeout"), QStringLiteral("ms")},
        {QStringLiteral("ping-ms"), QStringLiteral("ping interval"), QStringLiteral("ms")},
        {QStringLiteral("user"), QStringLiteral("user"), QStringLiteral("name")},
        {QStringLiteral("password"), QStringLiteral("password"), QStringLiteral("secret")},
        {QStringLiteral("prefix"), QStringLiteral("item prefix"), QStringLiteral("p")},
        {QStringLiteral("count"), QStringLiteral("items to put"), QStringLiteral("n")},
        {QStringLiteral("acked"), QStringLiteral("where puts are recorded"),
         QStringLiteral("file")},
        {QStringLiteral("out"), QStringLiteral("where taken items are recorded"),
         QStringLiteral("file")},
        {QStringLiteral("style"), QStringLiteral("futures|blocking, get|foreach|delivery"),
         QStringLiteral("s")},
        {QStringLiteral("close"), QStringLiteral("close the channel after producing")},
        {QStringLiteral("hold"), QStringLiteral("take one delivery and hold it until killed")},
    };
    args.addOptions(options);
    args.process(app);

    Config c;
    for (const QString &url : args.value(QStringLiteral("servers")).split(QLatin1Char(',')))
        c.connection.servers << QUrl(url);
    c.connection.name = QStringLiteral("qtchannel-nats-peer");
    c.connection.reconnectWait = 100ms;
    if (args.isSet(QStringLiteral("ping-ms")))
        c.connection.pingInterval = milliseconds(args.value(QStringLiteral("ping-ms")).toInt());
    c.connection.user = args.value(QStringLiteral("user"));
    c.connection.password = args.value(QStringLiteral("password"));
    c.name = args.value(QStringLiteral("channel"));
    c.bind = args.isSet(QStringLiteral("bind"));
    if (args.isSet(QStringLiteral("capacity")))
        c.capacity = args.value(QStringLiteral("capacity")).toLongLong();
    auto ms = [&](const char *name, milliseconds &field) {
        if (args.isSet(QLatin1String(name)))
            field = milliseconds(args.value(QLatin1String(name)).toInt());
    };
    ms("ack-wait-ms", c.channel.ackWait);
    ms("request-timeout-ms", c.channel.requestTimeout);
    ms("poll-ms", c.channel.pollInterval);
    ms("open-timeout-ms", c.channel.openTimeout);
    if (args.isSet(QStringLiteral("replicas")))
        c.channel.replicas = args.value(QStringLiteral("replicas")).toInt();

    const QString role = args.positionalArguments().value(0);
    try {
        if (role == QLatin1String("produce"))
            return produce(c, args);
        if (role == QLatin1String("consume"))
            return consume(c, args);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "qtchannel-nats-peer: %s\n", e.what());
        return 1;
    }
    std::fprintf(stderr, "qtchannel-nats-peer: the role is produce or consume\n");
    return 2;
}
