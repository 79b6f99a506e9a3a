// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// Benchmark W8: one producer process and one consumer process through a queue persisted on a
// local server, N items of S bytes. Peers, in the same run:
//   qtchannel  NatsChannel<QByteArray>: put() futures (256 on the wire), forEach() consumer
//   natsc      the same flow written by hand on nats.c: js_PublishAsync (256 pending, a message
//              id per put, as NatsChannel's retries need), a pull consumer fetching 64 at a time
//              and acknowledging each item: the floor, what NatsChannel adds its cost to
//   redis      Redis 7 Streams through hiredis: pipelined XADD, XREADGROUP of 64, XACK each
//              (appendonly, fsync every second: as durable as JetStream's file store by default)
// Each round starts fresh servers (nats-server -js with a file store; redis-server on a Unix
// socket) in a temporary directory, a consumer process, and once it is ready the producer.
// Every item carries its send time (CLOCK_MONOTONIC, shared by the processes) and its number:
// the consumer checks that every number arrives (no loss, no duplicate) and measures put->get.
//
//   qtchannel-bench-nats run [--items N] [--size S] [--rounds R] [--paced-rate R/s]
//                            [--paced-items N] [--peers qtchannel,natsc,redis] [--json FILE]
//
// "run" prints, per peer, items/s and the put->get latency (median and p99) at full speed, and
// the latency of a paced run (a fixed rate well below saturation), which is what one item waits
// when the queue is not the bottleneck. The other modes are the processes it starts.

#include <QtChannel/NatsChannel>

#include <QtCore/QCommandLineParser>
#include <QtCore/QCoreApplication>
#include <QtCore/QDir>
#include <QtCore/QElapsedTimer>
#include <QtCore/QFile>
#include <QtCore/QFutureWatcher>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QProcess>
#include <QtCore/QStandardPaths>
#include <QtCore/QTemporaryDir>
#include <QtCore/QThread>
#include <QtCore/QTimer>

#include <hiredis/hiredis.h>
#include <nats/nats.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <deque>
#include <thread>
#include <time.h>

using namespace std::chrono;

namespace {

// --- items -----------------------------------------------------------------------------------

qint64 nowNs() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return qint64(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// An item: its send time and its number, then filler up to `size` bytes.
QByteArray makeItem(qint64 number, int size) {
    QByteArray item(std::max(size, 16), 'x');
    const qint64 sent = nowNs();
    std::memcpy(item.data(), &sent, 8);
    std::memcpy(item.data() + 8, &number, 8);
    return item;
}

struct Stamp {
    qint64 sent;
    qint64 number;
};
Stamp readItem(const char *data, int size) {
    Stamp s{0, -1};
    if (size >= 16) {
        std::memcpy(&s.sent, data, 8);
        std::memcpy(&s.number, data + 8, 8);
    }
    return s;
}

// The consumer's side of the measurement: every number once, and the latencies.
class Receipts {
public:
    explicit Receipts(qint64 items)
        : m_seen(size_t(items), false) {
        m_latencies.reserve(size_t(items));
    }
    // Returns true once every item has arrived.
    bool add(const char *data, int size) {
        const qint64 now = nowNs();
        const Stamp s = readItem(data, size);
        if (s.number < 0 || s.number >= qint64(m_seen.size()) || m_seen[size_t(s.number)]) {
            ++m_errors;
            return false;
        }
        m_seen[size_t(s.number)] = true;
        m_latencies.push_back(now - s.sent);
        m_firstSent = m_count == 0 ? s.sent : std::min(m_firstSent, s.sent);
        m_lastReceived = now;
        return ++m_count == qint64(m_seen.size());
    }
    QJsonObject summary() {
        std::sort(m_latencies.begin(), m_latencies.end());
        auto at = [&](double q) {
            return m_latencies.empty()
                       ? 0.0
                       : double(m_latencies[size_t(q * double(m_latencies.size() - 1))]) / 1000.0;
        };
        const double seconds = double(m_lastReceived - m_firstSent) / 1e9;
        return QJsonObject{
            {QLatin1String("items"), m_count},
            {QLatin1String("errors"), m_errors},
            {QLatin1String("seconds"), seconds},
            {QLatin1String("itemsPerSecond"), seconds > 0 ? double(m_count) / seconds : 0},
            {QLatin1String("p50us"), at(0.5)},
            {QLatin1String("p99us"), at(0.99)},
            {QLatin1String("maxus"), at(1.0)}};
    }

private:
    std::vector<bool> m_seen;
    std::vector<qint64> m_latencies;
    qint64 m_count = 0;
    qint64 m_errors = 0;
    qint64 m_firstSent = 0;
    qint64 m_lastReceived = 0;
};

void say(const QByteArray &line) {
    std::fwrite(line.constData(), 1, size_t(line.size()), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
}

// Sleeps until `when` (paced runs).
void waitUntil(qint64 when) {
    while (nowNs() < when)
        std::this_thread::sleep_for(microseconds(20));
}

struct Args {
    QString url;  // nats:// or a Unix socket path for redis
    QString name; // stream / channel
    qint64 items = 100000;
    int size = 64;
    int rate = 0; // items per second; 0: as fast as it goes
};

qint64 pacedAt(const Args &a, qint64 start, qint64 i) {
    return a.rate > 0 ? start + i * 1000000000 / a.rate : 0;
}

// --- QtChannel --------------------------------------------------------------------------------

int qtchannelConsumer(const Args &a) {
    QtChannel::NatsConnection connection{QUrl(a.url)};
    connection.connectBlocking();
    auto ch = QtChannel::NatsChannel<QByteArray>::open(&connection, a.name, QtChannel::Unbounded);
    Receipts receipts(a.items);
    QObject context;
    QFuture<void> done = ch->forEach(&context, [&](const QByteArray &item) {
        if (receipts.add(item.constData(), int(item.size())))
            QCoreApplication::quit();
    });
    say("ready");
    QCoreApplication::exec();
    say(QJsonDocument(receipts.summary()).toJson(QJsonDocument::Compact));
    return 0;
}

int qtchannelProducer(const Args &a) {
    QtChannel::NatsConnection connection{QUrl(a.url)};
    connection.connectBlocking();
    auto ch = QtChannel::NatsChannel<QByteArray>::bind(&connection, a.name);
    // Futures: at most a few thousand waiting here (the channel keeps 256 on the wire).
    std::deque<QFuture<void>> pending;
    const qint64 start = nowNs();
    for (qint64 i = 0; i < a.items; ++i) {
        if (a.rate)
            waitUntil(pacedAt(a, start, i));
        pending.push_back(ch->put(makeItem(i, a.size)));
        while (pending.size() > 4096 || (!pending.empty() && pending.front().isFinished())) {
            pending.front().waitForFinished(); // rethrows a failure
            pending.pop_front();
        }
    }
    for (auto &f : pending)
        f.waitForFinished();
    return 0;
}

// --- nats.c by hand ----------------------------------------------------------------------------

#define NATS_CHECK(call)                                                                           \
    do {                                                                                           \
        natsStatus s_ = (call);                                                                    \
        if (s_ != NATS_OK) {                                                                       \
            std::fprintf(stderr, "%s: %s\n", #call, natsStatus_GetText(s_));                       \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

int natscConsumer(const Args &a) {
    natsConnection *nc = nullptr;
    jsCtx *js = nullptr;
    NATS_CHECK(natsConnection_ConnectTo(&nc, a.url.toUtf8().constData()));
    NATS_CHECK(natsConnection_JetStream(&js, nc, nullptr));
    const QByteArray stream = a.name.toUtf8(), subject = stream + ".items";
    const char *subjects[] = {subject.constData()};
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = stream.constData();
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Retention = js_WorkQueuePolicy;
    cfg.Discard = js_DiscardNew;
    cfg.Storage = js_FileStorage;
    jsStreamInfo *si = nullptr;
    NATS_CHECK(js_AddStream(&si, js, &cfg, nullptr, nullptr));
    jsStreamInfo_Destroy(si);
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Config.AckPolicy = js_AckExplicit;
    so.Config.MaxAckPending = 1000;
    natsSubscription *sub = nullptr;
    NATS_CHECK(js_PullSubscribe(&sub, js, subject.constData(), "W8", nullptr, &so, nullptr));
    Receipts receipts(a.items);
    say("ready");
    bool done = false;
    while (!done) {
        natsMsgList list{};
        const natsStatus s = natsSubscription_Fetch(&list, sub, 64, 5000, nullptr);
        if (s == NATS_TIMEOUT)
            continue;
        NATS_CHECK(s);
        for (int i = 0; i < list.Count; ++i) {
            natsMsg *m = list.Msgs[i];
            done = receipts.add(natsMsg_GetData(m), natsMsg_GetDataLength(m)) || done;
            natsMsg_Ack(m, nullptr);
        }
        natsMsgList_Destroy(&list);
    }
    natsConnection_Flush(nc);
    say(QJsonDocument(receipts.summary()).toJson(QJsonDocument::Compact));
    natsSubscription_Destroy(sub);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    return 0;
}

int natscProducer(const Args &a) {
    natsConnection *nc = nullptr;
    jsCtx *js = nullptr;
    NATS_CHECK(natsConnection_ConnectTo(&nc, a.url.toUtf8().constData()));
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.PublishAsync.MaxPending = 256;
    NATS_CHECK(natsConnection_JetStream(&js, nc, &jo));
    const QByteArray subject = a.name.toUtf8() + ".items";
    const qint64 start = nowNs();
    for (qint64 i = 0; i < a.items; ++i) {
        if (a.rate)
            waitUntil(pacedAt(a, start, i));
        const QByteArray item = makeItem(i, a.size);
        const QByteArray id = "w8." + QByteArray::number(i);
        jsPubOptions po;
        jsPubOptions_Init(&po);
        po.MsgId = id.constData();
        natsStatus s;
        // Stalls while 256 are pending; NATS_TIMEOUT means it is still full: try again.
        while ((s = js_PublishAsync(js, subject.constData(), item.constData(), int(item.size()),
                                    &po)) == NATS_TIMEOUT) {
        }
        NATS_CHECK(s);
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = 60000;
    NATS_CHECK(js_PublishAsyncComplete(js, &po));
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    return 0;
}

// --- Redis Streams ----------------------------------------------------------------------------

redisContext *redisConnect(const Args &a) {
    redisContext *c = redisConnectUnix(a.url.toUtf8().constData());
    if (!c || c->err) {
        std::fprintf(stderr, "redis: %s\n", c ? c->errstr : "cannot connect");
        return nullptr;
    }
    return c;
}

bool redisOk(redisContext *c, redisReply *r) {
    if (!r) {
        std::fprintf(stderr, "redis: %s\n", c->errstr);
        return false;
    }
    const bool ok = r->type != REDIS_REPLY_ERROR;
    if (!ok)
        std::fprintf(stderr, "redis: %s\n", r->str);
    freeReplyObject(r);
    return ok;
}

int redisConsumer(const Args &a) {
    redisContext *c = redisConnect(a);
    if (!c)
        return 1;
    const QByteArray stream = a.name.toUtf8();
    if (!redisOk(
            c, static_cast<redisReply *>(redisCommand(c, "XGROUP CREATE %b g 0 MKSTREAM",
                                                      stream.constData(), size_t(stream.size())))))
        return 1;
    Receipts receipts(a.items);
    say("ready");
    bool done = false;
    while (!done) {
        auto *r = static_cast<redisReply *>(
            redisCommand(c, "XREADGROUP GROUP g c COUNT 64 BLOCK 5000 STREAMS %b >",
                         stream.constData(), size_t(stream.size())));
        if (!r) {
            std::fprintf(stderr, "redis: %s\n", c->errstr);
            return 1;
        }
        int acks = 0;
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
            redisReply *entries = r->element[0]->element[1];
            for (size_t i = 0; i < entries->elements; ++i) {
                redisReply *entry = entries->element[i];
                redisReply *fields = entry->element[1];
                done = receipts.add(fields->element[1]->str, int(fields->element[1]->len)) || done;
                redisAppendCommand(c, "XACK %b g %b", stream.constData(), size_t(stream.size()),
                                   entry->element[0]->str, size_t(entry->element[0]->len));
                ++acks;
            }
        }
        freeReplyObject(r);
        for (int i = 0; i < acks; ++i) {
            void *reply = nullptr;
            if (redisGetReply(c, &reply) != REDIS_OK ||
                !redisOk(c, static_cast<redisReply *>(reply)))
                return 1;
        }
    }
    say(QJsonDocument(receipts.summary()).toJson(QJsonDocument::Compact));
    redisFree(c);
    return 0;
}

int redisProducer(const Args &a) {
    redisContext *c = redisConnect(a);
    if (!c)
        return 1;
    const QByteArray stream = a.name.toUtf8();
    // Pipelined, 256 in flight, as the other peers.
    int inFlight = 0;
    auto collect = [&](int keep) {
        while (inFlight > keep) {
            void *reply = nullptr;
            if (redisGetReply(c, &reply) != REDIS_OK ||
                !redisOk(c, static_cast<redisReply *>(reply)))
                return false;
            --inFlight;
        }
        return true;
    };
    const qint64 start = nowNs();
    for (qint64 i = 0; i < a.items; ++i) {
        if (a.rate) {
            if (!collect(0)) // paced: each item on its own
                return 1;
            waitUntil(pacedAt(a, start, i));
        }
        const QByteArray item = makeItem(i, a.size);
        redisAppendCommand(c, "XADD %b * v %b", stream.constData(), size_t(stream.size()),
                           item.constData(), size_t(item.size()));
        ++inFlight;
        if (a.rate) {
            int done = 0; // send it now
            redisBufferWrite(c, &done);
        }
        if (inFlight >= 256 && !collect(128))
            return 1;
    }
    if (!collect(0))
        return 1;
    redisFree(c);
    return 0;
}

// --- the orchestrator -------------------------------------------------------------------------

class Process {
public:
    Process(const QString &program, const QStringList &arguments, const QString &log = {}) {
        m_p.setProgram(program);
        m_p.setArguments(arguments);
        if (!log.isEmpty())
            m_p.setStandardOutputFile(log);
        m_p.start();
        m_p.waitForStarted();
    }
    ~Process() {
        if (m_p.state() != QProcess::NotRunning) {
            m_p.kill();
            m_p.waitForFinished();
        }
    }
    bool waitForLine(const QByteArray &text, int ms) {
        QElapsedTimer t;
        t.start();
        while (!m_out.contains(text)) {
            if (t.elapsed() > ms || m_p.state() == QProcess::NotRunning)
                return false;
            m_p.waitForReadyRead(100);
            m_out += m_p.readAllStandardOutput();
        }
        return true;
    }
    bool finish(int ms) {
        const bool ok = m_p.waitForFinished(ms) && m_p.exitStatus() == QProcess::NormalExit &&
                        m_p.exitCode() == 0;
        m_out += m_p.readAllStandardOutput();
        if (!ok)
            std::fprintf(stderr, "%s failed: %s\n",
                         qPrintable(m_p.arguments().join(QLatin1Char(' '))),
                         m_p.readAllStandardError().constData());
        return ok;
    }
    QByteArray output() const { return m_out; }
    qint64 pid() const { return m_p.processId(); }

private:
    QProcess m_p;
    QByteArray m_out;
};

// A fresh server for one round; its address in url().
struct Server {
    QTemporaryDir dir;
    std::unique_ptr<Process> process;
    QString url;

    bool startNats() {
        const QString program = QStandardPaths::findExecutable(
            QStringLiteral("nats-server"), {QStringLiteral("/usr/sbin"), QStringLiteral("/usr/bin"),
                                            QStringLiteral("/usr/local/bin")});
        process = std::make_unique<Process>(
            program,
            QStringList{QStringLiteral("-js"), QStringLiteral("-a"), QStringLiteral("127.0.0.1"),
                        QStringLiteral("-p"), QStringLiteral("-1"), QStringLiteral("-sd"),
                        dir.filePath(QStringLiteral("store")), QStringLiteral("--ports_file_dir"),
                        dir.path()});
        const QString ports =
            dir.filePath(QStringLiteral("nats-server_%1.ports").arg(process->pid()));
        for (int i = 0; i < 500; ++i) {
            QFile f(ports);
            if (f.open(QIODevice::ReadOnly)) {
                const QJsonArray urls = QJsonDocument::fromJson(f.readAll())
                                            .object()
                                            .value(QLatin1String("nats"))
                                            .toArray();
                if (!urls.isEmpty()) {
                    url = urls.at(0).toString();
                    return true;
                }
            }
            QThread::msleep(10);
        }
        return false;
    }
    bool startRedis() {
        const QString program = QStandardPaths::findExecutable(
            QStringLiteral("redis-server"),
            {QStringLiteral("/usr/bin"), QStringLiteral("/usr/local/bin")});
        url = dir.filePath(QStringLiteral("redis.sock"));
        process = std::make_unique<Process>(
            program, QStringList{QStringLiteral("--port"), QStringLiteral("0"),
                                 QStringLiteral("--unixsocket"), url, QStringLiteral("--dir"),
                                 dir.path(), QStringLiteral("--appendonly"), QStringLiteral("yes"),
                                 QStringLiteral("--appendfsync"), QStringLiteral("everysec"),
                                 QStringLiteral("--save"), QString()});
        for (int i = 0; i < 500; ++i) {
            if (redisContext *c = redisConnectUnix(url.toUtf8().constData()); c && !c->err) {
                redisFree(c);
                return true;
            } else if (c) {
                redisFree(c);
            }
            QThread::msleep(10);
        }
        return false;
    }
};

QJsonObject runOnce(const QString &peer, qint64 items, int size, int rate) {
    Server server;
    if (!(peer == QLatin1String("redis") ? server.startRedis() : server.startNats())) {
        std::fprintf(stderr, "cannot start the %s server\n", qPrintable(peer));
        return {};
    }
    const QString self = QCoreApplication::applicationFilePath();
    const QStringList common{QStringLiteral("--url"),   server.url,
                             QStringLiteral("--name"),  QStringLiteral("w8"),
                             QStringLiteral("--items"), QString::number(items),
                             QStringLiteral("--size"),  QString::number(size),
                             QStringLiteral("--rate"),  QString::number(rate)};
    Process consumer(self, QStringList{peer + QStringLiteral("-consumer")} + common);
    if (!consumer.waitForLine("ready", 20000)) {
        consumer.finish(1);
        return {};
    }
    Process producer(self, QStringList{peer + QStringLiteral("-producer")} + common);
    if (!producer.finish(300000) || !consumer.finish(300000))
        return {};
    const QList<QByteArray> lines = consumer.output().trimmed().split('\n');
    return QJsonDocument::fromJson(lines.last()).object();
}

double median(QList<double> v) {
    if (v.isEmpty())
        return 0;
    std::sort(v.begin(), v.end());
    return v.at(v.size() / 2);
}

int run(const QCommandLineParser &args) {
    const qint64 items = args.value(QStringLiteral("items")).toLongLong();
    const int size = args.value(QStringLiteral("size")).toInt();
    const int rounds = args.value(QStringLiteral("rounds")).toInt();
    const int pacedRate = args.value(QStringLiteral("paced-rate")).toInt();
    const qint64 pacedItems = args.value(QStringLiteral("paced-items")).toLongLong();
    const QStringList peers = args.value(QStringLiteral("peers")).split(QLatin1Char(','));
    std::printf("W8: %lld items of %d bytes, one producer and one consumer process, %d rounds "
                "(round robin); paced: %lld items at %d/s\n",
                items, size, rounds, pacedItems, pacedRate);
    QMap<QString, QList<QJsonObject>> full, paced;
    for (int r = 0; r < rounds; ++r) {
        for (const QString &peer : peers) {
            const QJsonObject f = runOnce(peer, items, size, 0);
            const QJsonObject p = runOnce(peer, pacedItems, size, pacedRate);
            for (const QJsonObject &o : {f, p}) {
                if (o.isEmpty() || o.value(QLatin1String("errors")).toInteger() != 0) {
                    std::fprintf(stderr, "%s: a run failed or lost items: %s\n", qPrintable(peer),
                                 QJsonDocument(o).toJson(QJsonDocument::Compact).constData());
                    return 1;
                }
            }
            full[peer] << f;
            paced[peer] << p;
            std::printf(
                "  round %d %-10s %9.0f items/s  p99 %8.0f us | paced p50 %6.0f us p99 %6.0f us\n",
                r + 1, qPrintable(peer), f.value(QLatin1String("itemsPerSecond")).toDouble(),
                f.value(QLatin1String("p99us")).toDouble(),
                p.value(QLatin1String("p50us")).toDouble(),
                p.value(QLatin1String("p99us")).toDouble());
            std::fflush(stdout);
        }
    }
    auto med = [&](const QList<QJsonObject> &runs, const char *key) {
        QList<double> v;
        for (const QJsonObject &o : runs)
            v << o.value(QLatin1String(key)).toDouble();
        return median(v);
    };
    const double floorRate = med(full.value(QStringLiteral("natsc")), "itemsPerSecond");
    const double floorP99 = med(paced.value(QStringLiteral("natsc")), "p99us");
    std::printf("\n| peer | items/s | p50 put->get (full speed) | p99 (full speed) | p50 paced | "
                "p99 paced | time vs nats.c | paced p99 vs nats.c |\n");
    std::printf("|---|---|---|---|---|---|---|---|\n");
    QJsonObject summary;
    for (const QString &peer : peers) {
        const double rate = med(full[peer], "itemsPerSecond");
        const double p50 = med(full[peer], "p50us"), p99 = med(full[peer], "p99us");
        const double pp50 = med(paced[peer], "p50us"), pp99 = med(paced[peer], "p99us");
        std::printf("| %s | %.0f | %.0f us | %.0f us | %.0f us | %.0f us | %.2fx | %.2fx |\n",
                    qPrintable(peer), rate, p50, p99, pp50, pp99,
                    floorRate > 0 ? floorRate / rate : 0, floorP99 > 0 ? pp99 / floorP99 : 0);
        summary.insert(peer, QJsonObject{{QLatin1String("itemsPerSecond"), rate},
                                         {QLatin1String("p50us"), p50},
                                         {QLatin1String("p99us"), p99},
                                         {QLatin1String("pacedP50us"), pp50},
                                         {QLatin1String("pacedP99us"), pp99}});
    }
    if (args.isSet(QStringLiteral("json"))) {
        QFile out(args.value(QStringLiteral("json")));
        if (out.open(QIODevice::WriteOnly))
            out.write(QJsonDocument(summary).toJson());
    }
    return 0;
}

} // namespace

int main(int argc, char **argv) {
    QCoreApplication app(argc, argv);
    QCommandLineParser args;
    args.addPositionalArgument(QStringLiteral("mode"),
                               QStringLiteral("run, or <peer>-producer / <peer>-consumer"));
    args.addOptions({
        {QStringLiteral("url"), QStringLiteral("server"), QStringLiteral("url")},
        {QStringLiteral("name"), QStringLiteral("stream"), QStringLiteral("name"),
         QStringLiteral("w8")},
        {QStringLiteral("items"), QStringLiteral("items per run"), QStringLiteral("n"),
         QStringLiteral("100000")},
        {QStringLiteral("size"), QStringLiteral("item size"), QStringLiteral("bytes"),
         QStringLiteral("64")},
        {QStringLiteral("rate"), QStringLiteral("items per second (0: full speed)"),
         QStringLiteral("n"), QStringLiteral("0")},
        {QStringLiteral("rounds"), QStringLiteral("rounds"), QStringLiteral("n"),
         QStringLiteral("3")},
        {QStringLiteral("paced-rate"), QStringLiteral("paced run's rate"), QStringLiteral("n"),
         QStringLiteral("2000")},
        {QStringLiteral("paced-items"), QStringLiteral("paced run's items"), QStringLiteral("n"),
         QStringLiteral("4000")},
        {QStringLiteral("peers"), QStringLiteral("peers"), QStringLiteral("list"),
         QStringLiteral("natsc,qtchannel,redis")},
        {QStringLiteral("json"), QStringLiteral("write the medians here"), QStringLiteral("file")},
    });
    args.process(app);
    const QString mode = args.positionalArguments().value(0);
    Args a;
    a.url = args.value(QStringLiteral("url"));
    a.name = args.value(QStringLiteral("name"));
    a.items = args.value(QStringLiteral("items")).toLongLong();
    a.size = args.value(QStringLiteral("size")).toInt();
    a.rate = args.value(QStringLiteral("rate")).toInt();
    try {
        if (mode == QLatin1String("run"))
            return run(args);
        if (mode == QLatin1String("qtchannel-consumer"))
            return qtchannelConsumer(a);
        if (mode == QLatin1String("qtchannel-producer"))
            return qtchannelProducer(a);
        if (mode == QLatin1String("natsc-consumer"))
            return natscConsumer(a);
        if (mode == QLatin1String("natsc-producer"))
            return natscProducer(a);
        if (mode == QLatin1String("redis-consumer"))
            return redisConsumer(a);
        if (mode == QLatin1String("redis-producer"))
            return redisProducer(a);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "qtchannel-bench-nats: %s\n", e.what());
        return 1;
    }
    std::fprintf(stderr, "qtchannel-bench-nats: unknown mode '%s'\n", qPrintable(mode));
    return 2;
}
