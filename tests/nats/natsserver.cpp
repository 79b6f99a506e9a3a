// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#include "natsserver.h"

#include <QtCore/QCoreApplication>
#include <QtCore/QFile>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QStandardPaths>
#include <QtCore/QThread>

#include <nats/nats.h>

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <sys/prctl.h>

namespace {
// The servers and helpers die with the test, even when the test itself is killed (a ctest
// timeout): the kernel sends them SIGKILL when their parent goes.
void dieWithParent(QProcess &process) {
    process.setChildProcessModifier([] { ::prctl(PR_SET_PDEATHSIG, SIGKILL); });
}
} // namespace

namespace NatsTest {

QString serverProgram() {
    QString program = QStandardPaths::findExecutable(QStringLiteral("nats-server"));
    if (program.isEmpty())
        program = QStandardPaths::findExecutable(
            QStringLiteral("nats-server"),
            {QStringLiteral("/usr/sbin"), QStringLiteral("/usr/local/sbin")});
    return program;
}

NatsServer::NatsServer()
    : NatsServer(Options()) {}

NatsServer::NatsServer(Options options)
    : m_options(std::move(options)) {
    m_store = m_dir.filePath(QStringLiteral("store"));
    QDir().mkpath(m_store);
    QDir().mkpath(m_dir.filePath(QStringLiteral("ports")));
}

NatsServer::~NatsServer() {
    kill();
}

QString NatsServer::writeConfig() const {
    const QString host = m_options.host;
    QString config;
    if (!m_options.name.isEmpty())
        config += QStringLiteral("server_name: \"%1\"\n").arg(m_options.name);
    config += QStringLiteral("listen: \"%1:%2\"\n").arg(host).arg(m_port);
    config +=
        QStringLiteral("log_file: \"%1\"\n").arg(m_dir.filePath(QStringLiteral("server.log")));
    if (m_options.jetStream)
        config += QStringLiteral("jetstream {\n  store_dir: \"%1\"\n  max_memory_store: 256MB\n"
                                 "  max_file_store: 2GB\n}\n")
                      .arg(m_store);
    if (!m_options.clusterName.isEmpty()) {
        config += QStringLiteral("cluster {\n  name: \"%1\"\n  listen: \"%2:%3\"\n")
                      .arg(m_options.clusterName, host)
                      .arg(m_clusterPort);
        if (!m_options.routes.isEmpty()) {
            config += QStringLiteral("  routes: [\n");
            for (const QString &route : m_options.routes)
                config += QStringLiteral("    \"%1\"\n").arg(route);
            config += QStringLiteral("  ]\n");
        }
        config += QStringLiteral("}\n");
    }
    config += m_options.extraConfig;
    config += QLatin1Char('\n');
    const QString path = m_dir.filePath(QStringLiteral("server.conf"));
    QFile file(path);
    if (file.open(QIODevice::WriteOnly | QIODevice::Truncate))
        file.write(config.toUtf8());
    return path;
}

bool NatsServer::start(QString *error) {
    const QString program = serverProgram();
    if (program.isEmpty()) {
        if (error)
            *error = QStringLiteral("nats-server is not installed");
        return false;
    }
    kill();
    const QString portsDir = m_dir.filePath(QStringLiteral("ports"));
    QDir(portsDir).removeRecursively();
    QDir().mkpath(portsDir);
    const QString config = writeConfig();
    QStringList arguments{QStringLiteral("-c"), config, QStringLiteral("--ports_file_dir"),
                          portsDir};
    m_process = std::make_unique<QProcess>();
    dieWithParent(*m_process);
    m_process->setProcessChannelMode(QProcess::ForwardedErrorChannel);
    m_process->setStandardOutputFile(QProcess::nullDevice());
    if (m_options.netns.isEmpty()) {
        m_process->start(program, arguments);
    } else {
        m_process->start(
            QStringLiteral("ip"),
            QStringList{QStringLiteral("netns"), QStringLiteral("exec"), m_options.netns, program} +
                arguments);
    }
    if (!m_process->waitForStarted(5000)) {
        if (error)
            *error = QStringLiteral("nats-server did not start: %1").arg(m_process->errorString());
        return false;
    }
    return readPorts(QDeadlineTimer(15000), error);
}

bool NatsServer::readPorts(QDeadlineTimer deadline, QString *error) {
    const QString file =
        m_dir.filePath(QStringLiteral("ports/nats-server_%1.ports").arg(m_process->processId()));
    while (!deadline.hasExpired()) {
        if (m_process->state() != QProcess::Running) {
            if (error)
                *error = QStringLiteral("nats-server exited: %1").arg(logTail());
            return false;
        }
        QFile f(file);
        if (f.exists() && f.open(QIODevice::ReadOnly)) {
            const QJsonObject ports = QJsonDocument::fromJson(f.readAll()).object();
            const QJsonArray nats = ports.value(QLatin1String("nats")).toArray();
            if (!nats.isEmpty()) {
                m_port = QUrl(nats.at(0).toString()).port();
                const QJsonArray cluster = ports.value(QLatin1String("cluster")).toArray();
                if (!cluster.isEmpty())
                    m_clusterPort = QUrl(cluster.at(0).toString()).port();
                return true;
            }
        }
        // The server writes the file once it listens; nothing to wait on but the file itself.
        QThread::msleep(10);
    }
    if (error)
        *error = QStringLiteral("nats-server did not report its ports in time: %1").arg(logTail());
    return false;
}

void NatsServer::kill() {
    if (!m_process)
        return;
    if (m_process->state() != QProcess::NotRunning) {
        m_process->kill();
        m_process->waitForFinished(10000);
    }
    m_process.reset();
}

void NatsServer::stop() {
    if (!m_process)
        return;
    if (m_process->state() != QProcess::NotRunning) {
        m_process->terminate();
        if (!m_process->waitForFinished(5000)) {
            m_process->kill();
            m_process->waitForFinished(5000);
        }
    }
    m_process.reset();
}

bool NatsServer::isRunning() const {
    return m_process && m_process->state() == QProcess::Running;
}

qint64 NatsServer::pid() const {
    return m_process ? m_process->processId() : 0;
}

QUrl NatsServer::url() const {
    return urlWithScheme(QStringLiteral("nats"));
}

QUrl NatsServer::urlWithScheme(const QString &scheme) const {
    QUrl url;
    url.setScheme(scheme);
    url.setHost(m_options.host);
    url.setPort(m_port);
    return url;
}

QString NatsServer::logTail(int lines) const {
    QFile f(m_dir.filePath(QStringLiteral("server.log")));
    if (!f.open(QIODevice::ReadOnly))
        return QStringLiteral("(no log)");
    const QList<QByteArray> all = f.readAll().split('\n');
    QStringList tail;
    for (qsizetype i = std::max<qsizetype>(0, all.size() - lines); i < all.size(); ++i)
        tail << QString::fromUtf8(all.at(i));
    return tail.join(QLatin1Char('\n'));
}

// --- cluster ---------------------------------------------------------------------------------

NatsCluster::NatsCluster(int size, const QString &netnsOfFirst) {
    m_name = QStringLiteral("qtchannel-test");
    for (int i = 0; i < size; ++i) {
        NatsServer::Options o;
        o.name = QStringLiteral("n%1").arg(i + 1);
        o.clusterName = m_name;
        if (i == 0)
            o.netns = netnsOfFirst;
        m_options.push_back(o);
    }
}

bool NatsCluster::start(QString *error) {
    // The first node on ports of its own choosing; the others route to it, and gossip tells
    // everybody about everybody. A JetStream cluster node refuses to start without a route in
    // its configuration, and the first one cannot know the others' ports yet: it gets a route
    // to a port nobody listens on (it keeps trying it, harmlessly).
    m_nodes.clear();
    NatsServer::Options first = m_options.at(0);
    first.routes = {QStringLiteral("nats-route://127.0.0.1:1")};
    m_nodes.push_back(std::make_unique<NatsServer>(first));
    if (!m_nodes.back()->start(error))
        return false;
    const QString seed =
        QStringLiteral("nats-route://127.0.0.1:%1").arg(m_nodes.back()->clusterPort());
    for (size_t i = 1; i < m_options.size(); ++i) {
        NatsServer::Options o = m_options.at(i);
        o.routes = {seed};
        m_nodes.push_back(std::make_unique<NatsServer>(o));
        if (!m_nodes.back()->start(error))
            return false;
    }
    return true;
}

QList<QUrl> NatsCluster::urls() const {
    QList<QUrl> urls;
    for (const auto &node : m_nodes)
        urls << node->url();
    return urls;
}

// --- helper processes ------------------------------------------------------------------------

QString peerProgram() {
    return QCoreApplication::applicationDirPath() + QStringLiteral("/qtchannel-nats-peer");
}

Peer::Peer(const QStringList &arguments, const QString &netns)
    : m_process(std::make_unique<QProcess>()) {
    dieWithParent(*m_process);
    // For investigations: QTCHANNEL_TEST_PEER_LOGS=<dir> keeps every helper's standard error
    // (with QT_LOGGING_RULES="qtchannel.nats.debug=true", the protocol) in a file of its own.
    static std::atomic<int> peers{0};
    const QString logs = qEnvironmentVariable("QTCHANNEL_TEST_PEER_LOGS");
    if (!logs.isEmpty())
        m_process->setStandardErrorFile(QStringLiteral("%1/peer-%2-%3.log")
                                            .arg(logs)
                                            .arg(QCoreApplication::applicationPid())
                                            .arg(++peers));
    if (netns.isEmpty())
        m_process->start(peerProgram(), arguments);
    else
        m_process->start(
            QStringLiteral("ip"),
            QStringList{QStringLiteral("netns"), QStringLiteral("exec"), netns, peerProgram()} +
                arguments);
    m_process->waitForStarted(5000);
}

Peer::~Peer() {
    kill();
}

void Peer::kill() {
    if (m_process->state() != QProcess::NotRunning) {
        m_process->kill();
        m_process->waitForFinished(10000);
    }
}

int Peer::wait(QDeadlineTimer deadline) {
    if (m_process->state() != QProcess::NotRunning &&
        !m_process->waitForFinished(int(std::max<qint64>(1, deadline.remainingTime()))))
        return -1;
    m_out += m_process->readAllStandardOutput();
    m_err += m_process->readAllStandardError();
    if (m_process->exitStatus() != QProcess::NormalExit)
        return -1;
    return m_process->exitCode();
}

bool Peer::waitForOutput(const QString &text, QDeadlineTimer deadline) {
    const QByteArray needle = text.toUtf8();
    for (;;) {
        m_out += m_process->readAllStandardOutput();
        if (m_out.contains(needle))
            return true;
        if (deadline.hasExpired() || m_process->state() == QProcess::NotRunning)
            return false;
        m_process->waitForReadyRead(int(std::clamp<qint64>(deadline.remainingTime(), 1, 100)));
    }
}

QString Peer::output() const {
    m_out += m_process->readAllStandardOutput();
    return QString::fromUtf8(m_out);
}

QString Peer::errors() const {
    m_err += m_process->readAllStandardError();
    return QString::fromUtf8(m_err);
}

int run(const QString &program, const QStringList &arguments, QString *output) {
    QProcess p;
    p.setProcessChannelMode(QProcess::MergedChannels);
    p.start(program, arguments);
    if (!p.waitForFinished(30000)) {
        p.kill();
        p.waitForFinished();
        return -1;
    }
    if (output)
        *output = QString::fromUtf8(p.readAll());
    return p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
}

QJsonObject jsApi(const QUrl &server, const QByteArray &subject, const QByteArray &payload) {
    natsConnection *nc = nullptr;
    if (natsConnection_ConnectTo(&nc, server.toString().toUtf8().constData()) != NATS_OK)
        return {};
    natsMsg *reply = nullptr;
    QJsonObject result;
    if (natsConnection_Request(&reply, nc, subject.constData(), payload.constData(),
                               int(payload.size()), 3000) == NATS_OK) {
        result = QJsonDocument::fromJson(
                     QByteArray(natsMsg_GetData(reply), natsMsg_GetDataLength(reply)))
                     .object();
        natsMsg_Destroy(reply);
    }
    natsConnection_Destroy(nc);
    return result;
}

qsizetype countLines(const QString &path) {
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return 0;
    return f.readAll().count('\n');
}

// --- network namespaces ----------------------------------------------------------------------

QString NetNs::unavailableReason() {
    if (::geteuid() != 0)
        return QStringLiteral("needs root for network namespaces (ip netns, veth, iptables); CI "
                              "runs as root");
    if (QStandardPaths::findExecutable(QStringLiteral("ip")).isEmpty() &&
        QStandardPaths::findExecutable(QStringLiteral("ip"),
                                       {QStringLiteral("/usr/sbin"), QStringLiteral("/sbin")})
            .isEmpty())
        return QStringLiteral("needs `ip` (iproute2; scripts/deps.sh nats installs it)");
    if (QStandardPaths::findExecutable(QStringLiteral("iptables")).isEmpty() &&
        QStandardPaths::findExecutable(QStringLiteral("iptables"),
                                       {QStringLiteral("/usr/sbin"), QStringLiteral("/sbin")})
            .isEmpty())
        return QStringLiteral("needs `iptables` (scripts/deps.sh nats installs it)");
    return {};
}

NetNs::NetNs() {
    // Names and a /30 of our own, from the process id: tests running side by side do not meet.
    const qint64 id = QCoreApplication::applicationPid() % 16000;
    m_name = QStringLiteral("qtch%1").arg(id);
    m_hostLink = QStringLiteral("qtch%1h").arg(id);
    const QString peerLink = QStringLiteral("qtch%1n").arg(id);
    const int a = 16 + int(id / 64) % 200, b = int(id % 64) * 4;
    m_host = QStringLiteral("10.%1.%2.%3").arg(a).arg(b / 256).arg(b % 256 + 1);
    m_inside = QStringLiteral("10.%1.%2.%3").arg(a).arg(b / 256).arg(b % 256 + 2);
    m_valid =
        ip({QStringLiteral("netns"), QStringLiteral("add"), m_name}) &&
        ip({QStringLiteral("link"), QStringLiteral("add"), m_hostLink, QStringLiteral("type"),
            QStringLiteral("veth"), QStringLiteral("peer"), QStringLiteral("name"), peerLink}) &&
        ip({QStringLiteral("link"), QStringLiteral("set"), peerLink, QStringLiteral("netns"),
            m_name}) &&
        ip({QStringLiteral("addr"), QStringLiteral("add"), m_host + QStringLiteral("/30"),
            QStringLiteral("dev"), m_hostLink}) &&
        ip({QStringLiteral("link"), QStringLiteral("set"), m_hostLink, QStringLiteral("up")}) &&
        ip({QStringLiteral("-n"), m_name, QStringLiteral("addr"), QStringLiteral("add"),
            m_inside + QStringLiteral("/30"), QStringLiteral("dev"), peerLink}) &&
        ip({QStringLiteral("-n"), m_name, QStringLiteral("link"), QStringLiteral("set"), peerLink,
            QStringLiteral("up")}) &&
        ip({QStringLiteral("-n"), m_name, QStringLiteral("link"), QStringLiteral("set"),
            QStringLiteral("lo"), QStringLiteral("up")});
}

NetNs::~NetNs() {
    if (m_partitioned)
        heal();
    // Deleting the namespace deletes its end of the pair, and with it the host's end.
    ip({QStringLiteral("netns"), QStringLiteral("del"), m_name});
    ip({QStringLiteral("link"), QStringLiteral("del"), m_hostLink});
}

bool NetNs::ip(const QStringList &arguments) {
    QString output;
    if (run(QStringLiteral("ip"), arguments, &output) == 0)
        return true;
    m_error += QStringLiteral("ip %1: %2\n").arg(arguments.join(QLatin1Char(' ')), output);
    return false;
}

bool NetNs::filter(const QString &action) {
    bool ok = true;
    for (const QStringList &rule :
         {QStringList{QStringLiteral("INPUT"), QStringLiteral("-s"), m_host},
          QStringList{QStringLiteral("OUTPUT"), QStringLiteral("-d"), m_host}}) {
        QString output;
        const QStringList arguments = QStringList{QStringLiteral("netns"), QStringLiteral("exec"),
                                                  m_name, QStringLiteral("iptables"), action} +
                                      rule +
                                      QStringList{QStringLiteral("-j"), QStringLiteral("DROP")};
        if (run(QStringLiteral("ip"), arguments, &output) != 0) {
            m_error += QStringLiteral("iptables: %1\n").arg(output);
            ok = false;
        }
    }
    return ok;
}

bool NetNs::partition() {
    m_partitioned = filter(QStringLiteral("-I"));
    return m_partitioned;
}

bool NetNs::heal() {
    const bool ok = filter(QStringLiteral("-D"));
    m_partitioned = !ok;
    return ok;
}

} // namespace NatsTest
