// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

// The demo's distributed mode (qtchannel-demo --nats URL --role ...): what every role shares
// (the progress reports and the set digest), and NatsView, the state of the channel as the
// view process sees it, for NatsView.qml.

#include <QtChannel/NatsChannel>

#include <QtCore/QDataStream>
#include <QtCore/QElapsedTimer>
#include <QtCore/QMap>
#include <QtCore/QObject>
#include <QtCore/QTimer>
#include <QtCore/QVariantList>
#include <QtQml/qqmlregistration.h>

#include <deque>
#include <memory>

namespace natsdemo {

// What a producer or consumer process tells the view, through a second channel named
// "<channel>-progress": its running count and set digest, every 100 ms and once at the end.
struct Report {
    enum Role : qint8 { Producer = 'P', Consumer = 'C' };
    qint8 role = Producer;
    qint32 id = 0;
    qint64 count = 0;   // items put (accepted by the server) / taken
    qint64 total = 0;   // producers: items it will put
    quint64 digest = 0; // sum of itemHash() over those items
    bool done = false;  // its last report
    QString host;
    qint64 pid = 0;
};

QDataStream &operator<<(QDataStream &out, const Report &report);
QDataStream &operator>>(QDataStream &in, Report &report);

// FNV-1a, 64 bits: the same in every process and on every machine (qHash is seeded per process).
quint64 itemHash(const QByteArray &item);

// The progress channel that goes with the items channel `name`.
QString progressName(const QString &name);

} // namespace natsdemo

// The view's model: the items channel's state (polled by NatsChannel while anybody listens)
// and the processes' latest reports. Lives in the GUI thread; the channels' signals and the
// reports' forEach() arrive there from its event loop.
class NatsView : public QObject {
    Q_OBJECT
    QML_ELEMENT
    QML_UNCREATABLE("created by the demo's main()")
    Q_PROPERTY(QString url READ url CONSTANT)
    Q_PROPERTY(QString channelName READ channelName CONSTANT)
    Q_PROPERTY(qint64 capacity READ capacity CONSTANT)
    Q_PROPERTY(int expectedProducers READ expectedProducers CONSTANT)
    Q_PROPERTY(int expectedConsumers READ expectedConsumers CONSTANT)
    Q_PROPERTY(qint64 size READ size NOTIFY changed)
    Q_PROPERTY(qint64 peakSize READ peakSize NOTIFY changed)
    Q_PROPERTY(bool closed READ isClosed NOTIFY changed)
    Q_PROPERTY(bool finished READ isFinished NOTIFY changed)
    Q_PROPERTY(qint64 produced READ produced NOTIFY changed)
    Q_PROPERTY(qint64 consumed READ consumed NOTIFY changed)
    Q_PROPERTY(qint64 planned READ planned NOTIFY changed)
    //! [{id, host, pid, count, total, done}], by id
    Q_PROPERTY(QVariantList producers READ producers NOTIFY changed)
    Q_PROPERTY(QVariantList consumers READ consumers NOTIFY changed)
    //! Finished, and the last report of every producer and consumer is in.
    Q_PROPERTY(bool complete READ isComplete NOTIFY changed)
    //! Complete, and produced = consumed in count and digest.
    Q_PROPERTY(bool nothingLost READ nothingLost NOTIFY changed)
    Q_PROPERTY(double elapsedSeconds READ elapsedSeconds NOTIFY sampled)
    //! Items consumed per second, as reported, every 250 ms (ThroughputChart's points).
    Q_PROPERTY(QVariantList history READ history NOTIFY sampled)

public:
    using Report = natsdemo::Report;

    NatsView(QString url, QString channelName, qint64 capacity, int expectedProducers,
             int expectedConsumers, QObject *parent = nullptr);
    ~NatsView() override;

    // Connects and opens both channels; false with `error` when that fails.
    bool start(QString *error);

    QString url() const { return m_url; }
    QString channelName() const { return m_name; }
    qint64 capacity() const { return m_capacity; }
    int expectedProducers() const { return m_expectedProducers; }
    int expectedConsumers() const { return m_expectedConsumers; }
    qint64 size() const;
    qint64 peakSize() const { return m_peakSize; }
    bool isClosed() const;
    bool isFinished() const;
    qint64 produced() const { return sum(Report::Producer, &Report::count); }
    qint64 consumed() const { return sum(Report::Consumer, &Report::count); }
    qint64 planned() const { return sum(Report::Producer, &Report::total); }
    quint64 producedDigest() const;
    quint64 consumedDigest() const;
    QVariantList producers() const { return list(Report::Producer); }
    QVariantList consumers() const { return list(Report::Consumer); }
    bool isComplete() const;
    bool nothingLost() const;
    double elapsedSeconds() const { return double(m_clock.elapsed()) / 1000.0; }
    QVariantList history() const { return m_history; }

Q_SIGNALS:
    void changed();
    void sampled();
    //! The error that stopped the view (connection lost, progress unreadable).
    void failed(const QString &message);

private:
    void onReport(const Report &report);
    void sample();
    qint64 sum(qint8 role, qint64 Report::*field) const;
    QVariantList list(qint8 role) const;
    int doneCount(qint8 role) const;

    QString m_url;
    QString m_name;
    qint64 m_capacity;
    int m_expectedProducers;
    int m_expectedConsumers;
    std::unique_ptr<QtChannel::NatsConnection> m_connection;
    std::unique_ptr<QtChannel::NatsChannel<QByteArray>> m_items;
    std::unique_ptr<QtChannel::NatsChannel<Report>> m_progress;
    // The latest report of each process, by role, id, host and pid (keyOf()). A report never
    // lowers a count: reports of one process may arrive out of order after a redelivery.
    QMap<QString, Report> m_reports;
    qint64 m_peakSize = 0;
    QElapsedTimer m_clock;
    QTimer m_sampler;
    QVariantList m_history;
    std::deque<qint64> m_consumedSamples; // consumed(), at the last samples
};
