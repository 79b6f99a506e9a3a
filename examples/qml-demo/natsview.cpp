// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#include "natsview.h"

#include <QtCore/QFutureWatcher>
#include <QtCore/QVariantMap>

#include <algorithm>

using QtChannel::NatsChannel;
using QtChannel::NatsChannelBase;

namespace natsdemo {

QDataStream &operator<<(QDataStream &out, const Report &report) {
    return out << report.role << report.id << report.count << report.total << report.digest
               << report.done << report.host << report.pid;
}

QDataStream &operator>>(QDataStream &in, Report &report) {
    return in >> report.role >> report.id >> report.count >> report.total >> report.digest >>
           report.done >> report.host >> report.pid;
}

quint64 itemHash(const QByteArray &item) {
    quint64 hash = 14695981039346656037ULL;
    for (const char c : item) {
        hash ^= quint8(c);
        hash *= 1099511628211ULL;
    }
    return hash;
}

QString progressName(const QString &name) {
    return name + QStringLiteral("-progress");
}

} // namespace natsdemo

namespace {
constexpr int SampleMs = 250;
constexpr int HistoryPoints = 120; // 30 s, as ThroughputChart draws it
constexpr int RateSamples = 4;     // the rate shown is over the last second

// Reports are kept by process: a key that sorts by role, then id.
QString keyOf(const natsdemo::Report &r) {
    return QStringLiteral("%1:%2:%3:%4")
        .arg(QChar::fromLatin1(char(r.role)))
        .arg(r.id, 6, 10, QLatin1Char('0'))
        .arg(r.host)
        .arg(r.pid);
}
} // namespace

NatsView::NatsView(QString url, QString channelName, qint64 capacity, int expectedProducers,
                   int expectedConsumers, QObject *parent)
    : QObject(parent)
    , m_url(std::move(url))
    , m_name(std::move(channelName))
    , m_capacity(capacity)
    , m_expectedProducers(expectedProducers)
    , m_expectedConsumers(expectedConsumers) {
    m_sampler.setInterval(SampleMs);
    connect(&m_sampler, &QTimer::timeout, this, &NatsView::sample);
}

// The channels go before the connection they were opened on (members are destroyed in
// reverse order); the forEach() over the reports stops with this object, its context.
NatsView::~NatsView() = default;

bool NatsView::start(QString *error) {
    try {
        QtChannel::NatsConnectionOptions options;
        options.servers = {QUrl(m_url)};
        options.name = QStringLiteral("qtchannel-demo view");
        m_connection = std::make_unique<QtChannel::NatsConnection>(options);
        m_connection->connectBlocking();
        // Opened with the same capacity as the producers: whoever comes first creates it.
        m_items = NatsChannel<QByteArray>::open(m_connection.get(), m_name, m_capacity);
        m_progress = NatsChannel<Report>::open(m_connection.get(), natsdemo::progressName(m_name),
                                               QtChannel::Unbounded);
    } catch (const std::exception &e) {
        *error = QString::fromUtf8(e.what());
        return false;
    }

    // Listening to these is what makes the channel poll the server's state.
    const auto update = [this] {
        m_peakSize = std::max<qint64>(m_peakSize, size());
        Q_EMIT changed();
    };
    connect(m_items.get(), &NatsChannelBase::sizeChanged, this, update);
    connect(m_items.get(), &NatsChannelBase::closed, this, update);
    connect(m_items.get(), &NatsChannelBase::finished, this, update);

    // The reports: this process is their only consumer. A watcher, not then(): on Qt 6.4.2 a
    // continuation attached while the engine thread finishes the future can run twice.
    auto *watcher = new QFutureWatcher<void>(this);
    connect(watcher, &QFutureWatcher<void>::finished, this, [this, watcher] {
        try {
            watcher->future().waitForFinished();
        } catch (const std::exception &e) {
            Q_EMIT failed(QStringLiteral("reading the progress reports failed: %1")
                              .arg(QString::fromUtf8(e.what())));
        }
    });
    watcher->setFuture(
        m_progress->forEach(this, [this](const Report &report) { onReport(report); }));

    m_clock.start();
    m_sampler.start();
    update();
    return true;
}

qint64 NatsView::size() const {
    return m_items ? m_items->size() : 0;
}

bool NatsView::isClosed() const {
    return m_items && m_items->isClosed();
}

bool NatsView::isFinished() const {
    return m_items && m_items->isFinished();
}

void NatsView::onReport(const Report &report) {
    Report &known = m_reports[keyOf(report)];
    // A process's last report is final; before it, a count only grows (reports may come out
    // of order when one is delivered again).
    if (!known.done && (report.done || report.count >= known.count))
        known = report;
    Q_EMIT changed();
}

void NatsView::sample() {
    m_peakSize = std::max<qint64>(m_peakSize, size());
    // Reports come every 100 ms from each process: a rate over the last second is smoother.
    m_consumedSamples.push_back(consumed());
    if (m_consumedSamples.size() > RateSamples + 1)
        m_consumedSamples.pop_front();
    const qint64 span = qint64(m_consumedSamples.size()) - 1;
    m_history.append(span == 0 ? 0.0
                               : double(m_consumedSamples.back() - m_consumedSamples.front()) *
                                     1000.0 / double(span * SampleMs));
    if (m_history.size() > HistoryPoints)
        m_history.removeFirst();
    if (isComplete())
        m_sampler.stop(); // the clock and the chart stop at the finish
    Q_EMIT sampled();
}

qint64 NatsView::sum(qint8 role, qint64 Report::*field) const {
    qint64 total = 0;
    for (const Report &r : m_reports)
        if (r.role == role)
            total += r.*field;
    return total;
}

quint64 NatsView::producedDigest() const {
    quint64 digest = 0;
    for (const Report &r : m_reports)
        if (r.role == Report::Producer)
            digest += r.digest; // modulo 2^64, in any order
    return digest;
}

quint64 NatsView::consumedDigest() const {
    quint64 digest = 0;
    for (const Report &r : m_reports)
        if (r.role == Report::Consumer)
            digest += r.digest;
    return digest;
}

QVariantList NatsView::list(qint8 role) const {
    QVariantList out;
    for (auto it = m_reports.cbegin(); it != m_reports.cend(); ++it) {
        const Report &r = it.value();
        if (r.role != role)
            continue;
        out.append(QVariantMap{{QStringLiteral("id"), r.id},
                               {QStringLiteral("host"), r.host},
                               {QStringLiteral("pid"), r.pid},
                               {QStringLiteral("count"), r.count},
                               {QStringLiteral("total"), r.total},
                               {QStringLiteral("done"), r.done}});
    }
    return out;
}

int NatsView::doneCount(qint8 role) const {
    return int(std::count_if(m_reports.cbegin(), m_reports.cend(),
                             [role](const Report &r) { return r.role == role && r.done; }));
}

bool NatsView::isComplete() const {
    if (!isFinished())
        return false;
    for (const Report &r : m_reports)
        if (!r.done)
            return false;
    // At least one producer and one consumer must have reported, whatever was expected: a view
    // that saw no report (another view took them) proves nothing.
    return doneCount(Report::Producer) >= std::max(m_expectedProducers, 1) &&
           doneCount(Report::Consumer) >= std::max(m_expectedConsumers, 1);
}

bool NatsView::nothingLost() const {
    return isComplete() && produced() == consumed() && producedDigest() == consumedDigest();
}
