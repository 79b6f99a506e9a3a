// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// A planted data race on the NATS engine's thread, to prove that tests/tsan.supp does not hide
// races in the code that runs there (QtChannel's engine, and user code it calls: here an item's
// QDataStream operator, which decodes on the engine thread). Built and run only under
// ThreadSanitizer, where CTest expects the report. Exit code 77 (skipped) without nats-server.
//
// The server is started with fork() and exec() from this file, not with QProcess: TSan ignores
// the calls libQt6Core makes (tests/tsan.supp), and a fork() made from there leaves this thread's
// later mutex operations unseen, which would report a race that is not there instead of the
// planted one.

#include "natsserver.h"

#include <QtChannel/NatsChannel>

#include <QtCore/QCoreApplication>
#include <QtCore/QFile>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QTemporaryDir>

#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace {
int unguarded = 0; // written by the engine thread (decoding) and the main thread: the race

struct Racy {
    qint32 value = 0;
};
QDataStream &operator<<(QDataStream &out, const Racy &r) {
    return out << r.value;
}
QDataStream &operator>>(QDataStream &in, Racy &r) {
    ++unguarded; // on the engine thread
    return in >> r.value;
}

// nats-server in `dir`, killed when the object goes; url() once it listens.
class Server {
public:
    explicit Server(const QString &dir)
        : m_dir(dir) {
        const QByteArray program = QFile::encodeName(NatsTest::serverProgram());
        const QByteArray store = QFile::encodeName(dir + QStringLiteral("/store"));
        const QByteArray ports = QFile::encodeName(dir);
        const char *argv[] = {program.constData(),
                              "-js",
                              "-a",
                              "127.0.0.1",
                              "-p",
                              "-1",
                              "-sd",
                              store.constData(),
                              "--ports_file_dir",
                              ports.constData(),
                              nullptr};
        m_pid = ::fork();
        if (m_pid == 0) {
            // The child: dies with this process (TSan ends it with _exit on a report), and keeps
            // away from its output (CTest waits for whoever holds it).
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            const int null = ::open("/dev/null", O_RDWR);
            ::dup2(null, 1);
            ::dup2(null, 2);
            ::execv(argv[0], const_cast<char **>(argv));
            ::_exit(127);
        }
        if (m_pid < 0)
            m_pid = 0;
    }
    ~Server() {
        if (m_pid) {
            ::kill(m_pid, SIGKILL);
            ::waitpid(m_pid, nullptr, 0);
        }
    }
    QUrl url() const {
        const QString file = m_dir + QStringLiteral("/nats-server_%1.ports").arg(m_pid);
        for (int i = 0; m_pid && i < 1000; ++i) { // up to 10 s
            QFile f(file);
            if (f.open(QIODevice::ReadOnly)) {
                const QJsonArray urls = QJsonDocument::fromJson(f.readAll())
                                            .object()
                                            .value(QLatin1String("nats"))
                                            .toArray();
                if (!urls.isEmpty())
                    return QUrl(urls.at(0).toString());
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10)); // polls for the file
        }
        return {};
    }

private:
    QString m_dir;
    pid_t m_pid = 0;
};
} // namespace

int main(int argc, char **argv) {
    QCoreApplication app(argc, argv);
    if (NatsTest::serverProgram().isEmpty()) {
        std::fprintf(stderr, "nats-server is not installed\n");
        return 77;
    }
    QTemporaryDir dir;
    Server server(dir.path());
    const QUrl url = server.url();
    if (url.isEmpty())
        return 1;
    QtChannel::NatsConnection connection(url);
    connection.connectBlocking();
    auto ch = QtChannel::NatsChannel<Racy>::open(&connection, QStringLiteral("canary"), 100);
    // Gets wait, then puts arrive: the engine thread decodes (operator>>) while this thread
    // writes the same variable, with nothing in between.
    QList<QFuture<Racy>> gets;
    for (int i = 0; i < 20; ++i)
        gets << ch->get();
    for (int i = 0; i < 20; ++i)
        ch->put(Racy{i});
    QDeadlineTimer deadline(20000);
    while (!gets.last().isFinished() && !deadline.hasExpired())
        unguarded -= 1; // on the main thread
    for (auto &g : gets)
        g.waitForFinished();
    return 0;
}
