// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// Who may use a channel: a server that requires TLS with client certificates and user
// credentials (a throwaway CA and certificates made here with openssl). A client with the right
// credentials and certificate uses the channel; one without credentials, with a wrong password,
// without a certificate, with a certificate or a CA the other side does not trust, or
// authenticated but without permissions, can neither put, get, close nor read the channel's
// state, and its error says why. A token-protected server is checked too.

#include "natsserver.h"

#include <QtChannel/NatsChannel>

#include <QtCore/QFile>
#include <QtCore/QStandardPaths>
#include <QtTest/QTest>

using namespace QtChannel;
using namespace std::chrono_literals;
using namespace NatsTest;

class tst_NatsSecurity : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void rightCredentialsWork();
    void rejectedClients_data();
    void rejectedClients();
    void authenticatedWithoutPermissions();
    void nothingChangedForTheRightClient();
    void token();

private:
    bool openssl(const QStringList &arguments);
    bool makeCertificates();
    QString path(const QString &name) const { return m_dir.filePath(name); }
    NatsConnectionOptions options(const QString &user, const QString &password, const QString &ca,
                                  const QString &certificate) const;

    QTemporaryDir m_dir;
    std::unique_ptr<NatsServer> m_server;
    QString m_error;
};

bool tst_NatsSecurity::openssl(const QStringList &arguments) {
    QString output;
    if (run(QStringLiteral("openssl"), arguments, &output) == 0)
        return true;
    m_error = QStringLiteral("openssl %1: %2").arg(arguments.join(QLatin1Char(' ')), output);
    return false;
}

bool tst_NatsSecurity::makeCertificates() {
    const QString days = QStringLiteral("2");
    const QStringList ec{QStringLiteral("-newkey"), QStringLiteral("ec"),
                         QStringLiteral("-pkeyopt"), QStringLiteral("ec_paramgen_curve:prime256v1"),
                         QStringLiteral("-nodes")};
    auto ca = [&](const QString &name, const QString &cn) {
        return openssl(QStringList{QStringLiteral("req"), QStringLiteral("-x509")} + ec +
                       QStringList{QStringLiteral("-keyout"), path(name + QStringLiteral(".key")),
                                   QStringLiteral("-out"), path(name + QStringLiteral(".pem")),
                                   QStringLiteral("-days"), days, QStringLiteral("-subj"),
                                   QStringLiteral("/CN=") + cn});
    };
    // A certificate for `name`, signed by `signer`, with `extensions` (an openssl extfile).
    auto issue = [&](const QString &name, const QString &signer, const QString &cn,
                     const QByteArray &extensions) {
        QFile ext(path(name + QStringLiteral(".ext")));
        if (!ext.open(QIODevice::WriteOnly) || ext.write(extensions) < 0)
            return false;
        ext.close();
        return openssl(QStringList{QStringLiteral("req")} + ec +
                       QStringList{QStringLiteral("-keyout"), path(name + QStringLiteral(".key")),
                                   QStringLiteral("-out"), path(name + QStringLiteral(".csr")),
                                   QStringLiteral("-subj"), QStringLiteral("/CN=") + cn}) &&
               openssl({QStringLiteral("x509"), QStringLiteral("-req"), QStringLiteral("-in"),
                        path(name + QStringLiteral(".csr")), QStringLiteral("-CA"),
                        path(signer + QStringLiteral(".pem")), QStringLiteral("-CAkey"),
                        path(signer + QStringLiteral(".key")), QStringLiteral("-CAcreateserial"),
                        QStringLiteral("-out"), path(name + QStringLiteral(".pem")),
                        QStringLiteral("-days"), days, QStringLiteral("-extfile"),
                        path(name + QStringLiteral(".ext"))});
    };
    return ca(QStringLiteral("ca"), QStringLiteral("QtChannel test CA")) &&
           ca(QStringLiteral("otherca"), QStringLiteral("Somebody else's CA")) &&
           issue(QStringLiteral("server"), QStringLiteral("ca"), QStringLiteral("localhost"),
                 "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n") &&
           issue(QStringLiteral("client"), QStringLiteral("ca"), QStringLiteral("alice"),
                 "extendedKeyUsage=clientAuth\n") &&
           issue(QStringLiteral("stranger"), QStringLiteral("otherca"), QStringLiteral("mallory"),
                 "extendedKeyUsage=clientAuth\n");
}

void tst_NatsSecurity::initTestCase() {
    if (serverProgram().isEmpty())
        QSKIP("nats-server is not installed (scripts/deps.sh nats installs it)");
    if (QStandardPaths::findExecutable(QStringLiteral("openssl")).isEmpty())
        QSKIP("openssl is not installed (scripts/deps.sh nats installs it)");
    QVERIFY2(makeCertificates(), qPrintable(m_error));
    NatsServer::Options o;
    o.extraConfig = QStringLiteral(R"(
tls {
  cert_file: "%1"
  key_file: "%2"
  ca_file: "%3"
  verify: true
  timeout: 2
}
authorization {
  users: [
    { user: alice, password: "s3cret" }
    { user: guest, password: "guest",
      permissions: { publish: { deny: ">" }, subscribe: { allow: "_INBOX.>" } } }
  ]
}
)")
                        .arg(path(QStringLiteral("server.pem")), path(QStringLiteral("server.key")),
                             path(QStringLiteral("ca.pem")));
    m_server = std::make_unique<NatsServer>(o);
    QString error;
    QVERIFY2(m_server->start(&error), qPrintable(error));
}

NatsConnectionOptions tst_NatsSecurity::options(const QString &user, const QString &password,
                                                const QString &ca,
                                                const QString &certificate) const {
    NatsConnectionOptions o;
    o.servers = {m_server->urlWithScheme(QStringLiteral("tls"))};
    o.user = user;
    o.password = password;
    if (!ca.isEmpty())
        o.tls.caFile = path(ca + QStringLiteral(".pem"));
    if (!certificate.isEmpty()) {
        o.tls.certificateFile = path(certificate + QStringLiteral(".pem"));
        o.tls.keyFile = path(certificate + QStringLiteral(".key"));
    }
    o.connectTimeout = 2s;
    o.maxReconnects = 0;
    return o;
}

static NatsChannelOptions quick() {
    NatsChannelOptions o;
    o.requestTimeout = 500ms;
    o.openTimeout = 2s;
    o.pollInterval = 20ms;
    return o;
}

void tst_NatsSecurity::rightCredentialsWork() {
    NatsConnection connection(options(QStringLiteral("alice"), QStringLiteral("s3cret"),
                                      QStringLiteral("ca"), QStringLiteral("client")));
    connection.connectBlocking();
    QCOMPARE(connection.connectedUrl().scheme(), QStringLiteral("tls"));
    auto ch = NatsChannel<QString>::open(&connection, QStringLiteral("secret"), 10, quick());
    QCOMPARE(ch->putBlocking(QStringLiteral("one")), PutResult::Ok);
    QCOMPARE(ch->putBlocking(QStringLiteral("two")), PutResult::Ok);
    QCOMPARE(ch->putBlocking(QStringLiteral("three")), PutResult::Ok);
    QCOMPARE(*ch->getBlocking(QDeadlineTimer(5s)), QStringLiteral("one"));
    ch->refresh().waitForFinished();
    QCOMPARE(ch->size(), 2);
}

void tst_NatsSecurity::rejectedClients_data() {
    QTest::addColumn<QString>("url");
    QTest::addColumn<QString>("user");
    QTest::addColumn<QString>("password");
    QTest::addColumn<QString>("ca");
    QTest::addColumn<QString>("certificate");
    QTest::addColumn<int>("kind");
    QTest::addColumn<QString>("saying");
    const QString tls = QStringLiteral("tls");
    const int notAuthorized = int(NatsError::Kind::NotAuthorized),
              badTls = int(NatsError::Kind::Tls);
    QTest::newRow("no credentials") << tls << QString() << QString() << "ca"
                                    << "client" << notAuthorized << "Authorization Violation";
    QTest::newRow("wrong password") << tls << "alice"
                                    << "guess"
                                    << "ca"
                                    << "client" << notAuthorized << "Authorization Violation";
    QTest::newRow("server not trusted") << tls << "alice"
                                        << "s3cret"
                                        << "otherca"
                                        << "client" << badTls << "SSL handshake error";
    QTest::newRow("no client certificate") << tls << "alice"
                                           << "s3cret"
                                           << "ca" << QString() << badTls << "TLS";
    QTest::newRow("client certificate not trusted") << tls << "alice"
                                                    << "s3cret"
                                                    << "ca"
                                                    << "stranger" << badTls << "TLS";
    // nats.c follows the server into TLS, and then trusts only the system's authorities.
    QTest::newRow("plain nats URL, no CA")
        << "nats"
        << "alice"
        << "s3cret" << QString() << QString() << badTls << "SSL handshake error";
}

void tst_NatsSecurity::rejectedClients() {
    QFETCH(QString, url);
    QFETCH(QString, user);
    QFETCH(QString, password);
    QFETCH(QString, ca);
    QFETCH(QString, certificate);
    QFETCH(int, kind);
    QFETCH(QString, saying);
    NatsConnectionOptions o = options(user, password, ca, certificate);
    o.servers = {m_server->urlWithScheme(url)};
    if (url == QLatin1String("nats"))
        o.tls = {};
    NatsConnection connection(o);
    try {
        connection.connectBlocking();
        QFAIL("a client the server should refuse got in");
    } catch (const NatsError &e) {
        qInfo().noquote() << QTest::currentDataTag() << "->" << e.message();
        QCOMPARE(int(e.kind()), kind);
        QVERIFY2(e.message().contains(saying, Qt::CaseInsensitive), e.what());
    }
    QVERIFY(!connection.isConnected());
    // Without a connection there is no channel: every use fails, clearly, at once.
    try {
        NatsChannel<QString>::open(&connection, QStringLiteral("secret"), 10, quick());
        QFAIL("opened a channel without being let in");
    } catch (const NatsError &e) {
        QCOMPARE(e.kind(), NatsError::Kind::Connection);
    }
    QVERIFY_THROWS_EXCEPTION(NatsError,
                             NatsChannelBase::remove(&connection, QStringLiteral("secret")));
}

void tst_NatsSecurity::authenticatedWithoutPermissions() {
    // guest gets in (right certificate and password) but may publish nothing.
    NatsConnection connection(options(QStringLiteral("guest"), QStringLiteral("guest"),
                                      QStringLiteral("ca"), QStringLiteral("client")));
    connection.connectBlocking();
    for (const bool bind : {false, true}) {
        try {
            if (bind)
                NatsChannel<QString>::bind(&connection, QStringLiteral("secret"), quick());
            else
                NatsChannel<QString>::open(&connection, QStringLiteral("secret"), 10, quick());
            QFAIL("a client without permissions opened the channel");
        } catch (const NatsError &e) {
            qInfo().noquote() << "guest ->" << e.message();
            QCOMPARE(e.kind(), NatsError::Kind::NotAuthorized);
            QVERIFY2(e.message().contains(QStringLiteral("Permissions Violation")), e.what());
        }
    }
    try {
        NatsChannelBase::remove(&connection, QStringLiteral("secret"), 500ms);
        QFAIL("a client without permissions removed the channel");
    } catch (const NatsError &e) {
        QVERIFY2(e.kind() == NatsError::Kind::Timeout || e.kind() == NatsError::Kind::NotAuthorized,
                 e.what());
    }
}

void tst_NatsSecurity::nothingChangedForTheRightClient() {
    NatsConnection connection(options(QStringLiteral("alice"), QStringLiteral("s3cret"),
                                      QStringLiteral("ca"), QStringLiteral("client")));
    connection.connectBlocking();
    auto ch = NatsChannel<QString>::bind(&connection, QStringLiteral("secret"), quick());
    ch->refresh().waitForFinished();
    QCOMPARE(ch->size(), 2);
    QVERIFY(!ch->isClosed());
    QCOMPARE(*ch->getBlocking(QDeadlineTimer(5s)), QStringLiteral("two"));
    QVERIFY(ch->close());
    QCOMPARE(*ch->getBlocking(QDeadlineTimer(5s)), QStringLiteral("three"));
    QVERIFY(!ch->getBlocking(QDeadlineTimer(5s)));
    QVERIFY(ch->isFinished());
}

void tst_NatsSecurity::token() {
    NatsServer::Options so;
    so.extraConfig = QStringLiteral("authorization { token: \"t0ken\" }\n");
    NatsServer server(so);
    QString error;
    QVERIFY2(server.start(&error), qPrintable(error));
    NatsConnectionOptions o;
    o.servers = {server.url()};
    o.maxReconnects = 0;
    o.token = QStringLiteral("wrong");
    NatsConnection refused(o);
    QVERIFY_THROWS_EXCEPTION(NatsError, refused.connectBlocking());
    o.token = QStringLiteral("t0ken");
    NatsConnection accepted(o);
    accepted.connectBlocking();
    auto ch = NatsChannel<QByteArray>::open(&accepted, QStringLiteral("tokened"), 1, quick());
    QCOMPARE(ch->putBlocking("x"), PutResult::Ok);
    QCOMPARE(*ch->getBlocking(QDeadlineTimer(5s)), QByteArray("x"));
}

QTEST_MAIN(tst_NatsSecurity)
#include "tst_natssecurity.moc"
