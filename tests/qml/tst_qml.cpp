// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// The runner of the QML tests (tests/qml/tst_*.qml). Each test file gets a fresh engine with a
// context property `cppSide`: C++ that shares a Channel<QVariant> with QML and drives it from
// its own threads, as an application would.

#include <QtChannel/QmlChannel>

#include <QtCore/QMutex>
#include <QtCore/QMutexLocker>
#include <QtQml/QQmlComponent>
#include <QtQml/QQmlContext>
#include <QtQml/QQmlEngine>
#include <QtQuickTest/quicktest.h>

#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

using QtChannel::Channel;
using QtChannel::QmlChannel;

class CppSide : public QObject {
    Q_OBJECT
public:
    explicit CppSide(QQmlEngine *engine)
        : QObject(engine)
        , m_engine(engine) {}
    ~CppSide() override { join(); }

    // A channel created in C++, handed to QML wrapped in a QmlChannel (C++-owned).
    Q_INVOKABLE QtChannel::QmlChannel *makeShared(int capacity) {
        join();
        m_channel = std::make_shared<Channel<QVariant>>(capacity);
        {
            QMutexLocker locker(&m_mutex);
            m_consumed.clear();
        }
        m_wrapper = new QmlChannel(m_channel, this);
        return m_wrapper;
    }
    // The same with an overflow policy (QmlChannel::OverflowPolicy's values).
    Q_INVOKABLE QtChannel::QmlChannel *makeSharedWithOverflow(int capacity, int overflow) {
        join();
        m_channel = std::make_shared<Channel<QVariant>>(capacity,
                                                        static_cast<QtChannel::Overflow>(overflow));
        m_wrapper = new QmlChannel(m_channel, this);
        return m_wrapper;
    }
    // Destroys the wrapper while C++ keeps the channel.
    Q_INVOKABLE void deleteWrapper() {
        delete m_wrapper;
        m_wrapper = nullptr;
    }
    // A new wrapper over the same C++ channel.
    Q_INVOKABLE QtChannel::QmlChannel *wrapAgain() {
        m_wrapper = new QmlChannel(m_channel, this);
        return m_wrapper;
    }

    // Direct, uncounted calls on the C++ channel.
    Q_INVOKABLE bool cppTryPut(const QVariant &v) {
        return m_channel->tryPut(v) == QtChannel::PutResult::Ok;
    }
    Q_INVOKABLE QVariant cppTryGet() { return m_channel->tryGet().value_or(QVariant()); }
    Q_INVOKABLE bool cppClose() { return m_channel->close(); }
    Q_INVOKABLE int cppSize() const { return int(m_channel->size()); }
    // Closes the C++ channel with a std::runtime_error.
    Q_INVOKABLE bool cppCloseWithError(const QString &what) {
        return m_channel->close(std::make_exception_ptr(std::runtime_error(what.toStdString())));
    }
    // The reason as C++ sees it: the QmlCloseReason's message, or another exception's what().
    Q_INVOKABLE QString cppCloseReason() const {
        const std::exception_ptr reason = m_channel->closeReason();
        if (!reason)
            return QStringLiteral("none");
        try {
            std::rethrow_exception(reason);
        } catch (const QtChannel::QmlCloseReason &e) {
            return e.message();
        } catch (...) {
            return QStringLiteral("not a QmlCloseReason");
        }
    }
    // The join() future: "pending", "finished", or "failed: <reason>".
    Q_INVOKABLE QString cppJoinResult() const {
        QFuture<void> join = m_channel->join();
        if (!join.isFinished())
            return QStringLiteral("pending");
        try {
            join.waitForFinished();
        } catch (...) {
            return QStringLiteral("failed: ") + QmlChannel::reasonText(std::current_exception());
        }
        return QStringLiteral("finished");
    }

    // A C++ thread putting 0..count-1 with putBlocking(), then closing if asked.
    Q_INVOKABLE void startProducer(int count, bool closeWhenDone) {
        m_threads.emplace_back([ch = m_channel, count, closeWhenDone] {
            for (int i = 0; i < count; ++i)
                ch->putBlocking(QVariant(i));
            if (closeWhenDone)
                ch->close();
        });
    }
    // A C++ thread taking with getBlocking() until the channel is finished.
    Q_INVOKABLE void startConsumer() {
        m_threads.emplace_back([this, ch = m_channel] {
            while (std::optional<QVariant> v = ch->getBlocking()) {
                QMutexLocker locker(&m_mutex);
                m_consumed.append(*v);
            }
        });
    }
    Q_INVOKABLE QVariantList consumed() const {
        QMutexLocker locker(&m_mutex);
        return m_consumed;
    }
    Q_INVOKABLE void join() {
        for (std::thread &t : m_threads)
            t.join();
        m_threads.clear();
    }

    // What an application does with a required property: the component declares
    // `required property Channel channel` and C++ passes the wrapper when creating it.
    Q_INVOKABLE QObject *createWithRequired(const QString &qml, QtChannel::QmlChannel *channel) {
        QQmlComponent component(m_engine);
        component.setData(qml.toUtf8(), QUrl(QStringLiteral("qrc:/required.qml")));
        QObject *o = component.createWithInitialProperties(
            {{QStringLiteral("channel"), QVariant::fromValue(channel)}});
        if (!o)
            qWarning("%s", qPrintable(component.errorString()));
        else
            o->setParent(this);
        return o;
    }

private:
    QQmlEngine *m_engine;
    std::shared_ptr<Channel<QVariant>> m_channel;
    QmlChannel *m_wrapper = nullptr;
    std::vector<std::thread> m_threads;
    mutable QMutex m_mutex;
    QVariantList m_consumed; // guarded by m_mutex
};

class Setup : public QObject {
    Q_OBJECT
public Q_SLOTS:
    void qmlEngineAvailable(QQmlEngine *engine) {
        engine->rootContext()->setContextProperty(QStringLiteral("cppSide"), new CppSide(engine));
    }
};

QUICK_TEST_MAIN_WITH_SETUP(qtchannel_qml, Setup)

#include "tst_qml.moc"
