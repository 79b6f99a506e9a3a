// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

// Real nats-server processes for the NATS tests: each with its own store directory, on ports
// the server picked itself and reported through --ports_file_dir (no port races), killed when
// the fixture goes, whatever the test did. Also a 3-node JetStream cluster, and the helper
// processes the tests spawn.

#include <QtCore/QDeadlineTimer>
#include <QtCore/QDir>
#include <QtCore/QJsonObject>
#include <QtCore/QProcess>
#include <QtCore/QString>
#include <QtCore/QStringList>
#include <QtCore/QTemporaryDir>
#include <QtCore/QUrl>

#include <memory>
#include <vector>

namespace NatsTest {

// The nats-server executable, or an empty string when it is not installed.
QString serverProgram();

// True under a sanitizer build (lighter sizes for the long tests).
constexpr bool sanitized() {
#ifdef QTCHANNEL_TEST_SANITIZED
    return true;
#else
    return false;
#endif
}

class NatsServer {
public:
    struct Options {
        QString name; // server_name (a cluster needs one per node)
        QString host = QStringLiteral("127.0.0.1");
        QString extraConfig; // appended to the configuration file (auth, tls, cluster)
        QString netns;       // run inside this network namespace (ip netns exec)
        bool jetStream = true;
        QString clusterName; // joins a cluster of that name ...
        QStringList routes;  // ... through these nats-route:// URLs
    };

    NatsServer();
    explicit NatsServer(Options options);
    ~NatsServer();
    NatsServer(const NatsServer &) = delete;
    NatsServer &operator=(const NatsServer &) = delete;

    // Starts the server and waits until it listens; false (with `error`) if it did not in
    // time. A restart after kill() reuses the same ports and the same store.
    bool start(QString *error = nullptr);
    // SIGKILL, and waits for the process to be gone.
    void kill();
    // SIGTERM, and waits (SIGKILL after a few seconds).
    void stop();
    bool isRunning() const;
    qint64 pid() const;

    QUrl url() const; // nats://host:port
    QUrl urlWithScheme(const QString &scheme) const;
    int port() const { return m_port; }
    int clusterPort() const { return m_clusterPort; }
    QString storeDir() const { return m_store; }
    QString dir() const { return m_dir.path(); }
    // The last lines of the server's log, for failure messages.
    QString logTail(int lines = 30) const;

private:
    bool readPorts(QDeadlineTimer deadline, QString *error);
    QString writeConfig() const;

    Options m_options;
    QTemporaryDir m_dir;
    QString m_store;
    std::unique_ptr<QProcess> m_process;
    int m_port = -1;
    int m_clusterPort = -1;
};

// Three JetStream servers routed into one cluster.
class NatsCluster {
public:
    explicit NatsCluster(int size = 3, const QString &netnsOfFirst = {});
    bool start(QString *error = nullptr);
    NatsServer &node(int i) { return *m_nodes.at(size_t(i)); }
    int size() const { return int(m_nodes.size()); }
    QList<QUrl> urls() const;

private:
    QString m_name;
    std::vector<std::unique_ptr<NatsServer>> m_nodes;
    std::vector<NatsServer::Options> m_options;
};

// The helper executable the multi-process tests spawn (natspeer.cpp).
QString peerProgram();

// A spawned helper process, killed when the object goes.
class Peer {
public:
    Peer(const QStringList &arguments, const QString &netns = {});
    ~Peer();
    Peer(const Peer &) = delete;
    Peer &operator=(const Peer &) = delete;

    // Waits for the process to exit; its exit code, or -1 on timeout / crash.
    int wait(QDeadlineTimer deadline);
    // Waits until its standard output has a line containing `text`.
    bool waitForOutput(const QString &text, QDeadlineTimer deadline);
    void kill();
    QString output() const;
    QString errors() const;

private:
    std::unique_ptr<QProcess> m_process;
    mutable QByteArray m_out;
    mutable QByteArray m_err;
};

// The command's exit code; its output in `output`.
int run(const QString &program, const QStringList &arguments, QString *output = nullptr);

// A JetStream API request through nats.c itself (to look at what the server holds): the reply,
// or an empty object.
QJsonObject jsApi(const QUrl &server, const QByteArray &subject, const QByteArray &payload = {});

// Lines in a file (0 when it does not exist yet).
qsizetype countLines(const QString &path);

// A network namespace linked to this one by a veth pair, for partitions: processes started in
// it reach this namespace at hostAddress(). Removed, with its link, when the object goes.
// Needs root (CAP_NET_ADMIN), `ip` and `iptables`.
class NetNs {
public:
    NetNs();
    ~NetNs();
    NetNs(const NetNs &) = delete;
    NetNs &operator=(const NetNs &) = delete;

    // Whether this machine can make one; otherwise why not.
    static QString unavailableReason();
    bool isValid() const { return m_valid; }
    QString error() const { return m_error; }
    QString name() const { return m_name; }
    QString hostAddress() const { return m_host; }
    // Drops every packet between the namespace and the host (iptables inside the namespace).
    bool partition();
    bool heal();

private:
    bool ip(const QStringList &arguments);
    bool filter(const QString &action);

    QString m_name;
    QString m_hostLink;
    QString m_host;
    QString m_inside;
    bool m_valid = false;
    bool m_partitioned = false;
    QString m_error;
};

} // namespace NatsTest
