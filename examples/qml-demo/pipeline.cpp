// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#include "pipeline.h"

#include <algorithm>
#include <chrono>

using namespace std::chrono;
using demo::Worker;
using QtChannel::PutResult;

namespace {
constexpr int FrameMs = 16;
constexpr qint64 HistoryEveryNs = 250'000'000; // a throughput point every 250 ms
constexpr int HistoryPoints = 120;             // 30 s of history
// How long a blocked call waits before it looks at its stop flag again.
constexpr int PollMs = 50;

qint64 nowNs() {
    return duration_cast<nanoseconds>(steady_clock::now().time_since_epoch()).count();
}

// An item tells who made it: value = sequence * 8 + producer.
int makeItem(int producer, qint64 sequence) {
    return int((sequence % (1 << 27)) * Pipeline::MaxWorkers + producer);
}
} // namespace

Pipeline::Pipeline(QObject *parent)
    : QObject(parent)
    , m_producerModel(new WorkerModel(this))
    , m_consumerModel(new WorkerModel(this)) {
    m_frame.setInterval(FrameMs);
    m_frame.setTimerType(Qt::PreciseTimer);
    connect(&m_frame, &QTimer::timeout, this, &Pipeline::sample);
    m_clock.start();
    newChannel();
    sample();
}

Pipeline::~Pipeline() {
    stopAll();
}

void Pipeline::newChannel() {
    QtChannel::QmlChannel *old = m_channel;
    m_channel = new QtChannel::QmlChannel(this);
    m_channel->setCapacity(m_capacity);
    Q_EMIT channelChanged();
    if (old)
        old->deleteLater(); // QML may still hold it until its bindings see channelChanged
}

// --- settings ----------------------------------------------------------------------------

void Pipeline::setCapacity(int capacity) {
    if (capacity == m_capacity || capacity < QtChannel::Unbounded)
        return;
    m_capacity = capacity;
    Q_EMIT capacityChanged();
    if (m_state == Idle)
        newChannel(); // a channel's capacity is fixed once it is used: a new one
}

void Pipeline::setProducerCount(int n) {
    n = std::clamp(n, 1, MaxWorkers);
    if (n == m_producerCount)
        return;
    m_producerCount = n;
    Q_EMIT settingsChanged();
    reconcile();
}

void Pipeline::setConsumerCount(int n) {
    n = std::clamp(n, 1, MaxWorkers);
    if (n == m_consumerCount)
        return;
    m_consumerCount = n;
    Q_EMIT settingsChanged();
    reconcile();
}

void Pipeline::setRate(double itemsPerSecond) {
    m_rate = std::clamp(itemsPerSecond, 0.1, 100000.0);
    m_wake.notify_all(); // a producer pausing for a slow rate picks up the new one
    Q_EMIT settingsChanged();
}

void Pipeline::setWorkMs(double ms) {
    m_workMs = std::clamp(ms, 0.0, 10000.0);
    Q_EMIT settingsChanged();
}

// --- lifecycle ---------------------------------------------------------------------------

void Pipeline::start() {
    if (m_state != Idle)
        return;
    m_channel->channel(); // first use: fixes the capacity
    setState(Running);
    m_lastSampleNs = nowNs();
    m_clock.restart();
    reconcile();
    m_frame.start();
}

void Pipeline::close() {
    if (m_state != Running)
        return;
    setState(Closing);
    for (Worker &w : m_producerSlots)
        w.stop = true;
    m_wake.notify_all();
    m_channel->close(); // producers waiting for room get PutResult::Closed
}

void Pipeline::reset() {
    stopAll();
    m_produced = 0;
    m_consumed = 0;
    m_producedSum = 0;
    m_consumedSum = 0;
    m_blockedNs = 0;
    m_producerNs = 0;
    m_history.clear();
    m_peak = 0;
    m_frames = 0;
    m_frameMsSum = 0;
    m_maxFrameMs = 0;
    m_throughput = 0;
    Q_EMIT historyChanged();
    newChannel();
    setState(Idle);
    sample();
}

void Pipeline::stopAll() {
    m_frame.stop();
    m_abort = true;
    {
        std::lock_guard lock(m_wakeMutex); // no worker is between its check and its wait
    }
    m_wake.notify_all();
    if (m_channel)
        m_channel->close();
    for (auto *slots : {&m_producerSlots, &m_consumerSlots}) {
        for (Worker &w : *slots) {
            if (w.thread.joinable())
                w.thread.join();
            w.stop = false;
            w.exited = false;
            w.state = Worker::Idle;
            w.item = -1;
            w.count = 0;
            w.blockedNs = 0;
        }
    }
    m_abort = false;
}

void Pipeline::setState(State state) {
    if (state == m_state)
        return;
    m_state = state;
    Q_EMIT stateChanged();
    if (state == Finished)
        Q_EMIT finished();
}

bool Pipeline::nothingLost() const {
    return m_state == Finished && m_produced.load() == m_consumed.load() &&
           m_producedSum.load() == m_consumedSum.load();
}

// Starts the workers that should run and asks the others to leave; joins those that left.
// Runs in the GUI thread, on every change and once a frame, and never waits for a thread
// that is still working.
void Pipeline::reconcile() {
    if (m_state == Idle || m_state == Finished)
        return;
    // Once the channel is finished nothing is left to take: a consumer that left then is not
    // started again (restarting it every frame kept the run from ever seeing all threads gone).
    const bool finished = m_channel->isFinished();
    const auto fit = [this, finished](std::array<Worker, MaxWorkers> &slots, int wanted,
                                      bool producer) {
        for (int i = 0; i < MaxWorkers; ++i) {
            Worker &w = slots[size_t(i)];
            const bool want =
                i < wanted && !(producer && m_state != Running) && !(!producer && finished);
            if (w.thread.joinable() && w.exited)
                w.thread.join(); // it left; its card shows it stopped until it is wanted again
            if (want && !w.thread.joinable()) {
                w.stop = false;
                w.exited = false;
                w.startedNs = nowNs();
                w.thread = producer ? std::thread(&Pipeline::produce, this, i)
                                    : std::thread(&Pipeline::consume, this, i);
            } else if (!want && w.thread.joinable()) {
                w.stop = true;
            } else if (want) {
                w.stop = false; // wanted again before it left
            }
        }
    };
    fit(m_producerSlots, m_producerCount, true);
    fit(m_consumerSlots, m_consumerCount, false);
    m_wake.notify_all();
}

template <typename Pred>
bool Pipeline::pauseUntil(steady_clock::time_point deadline, Pred interrupt) {
    std::unique_lock lock(m_wakeMutex);
    return !m_wake.wait_until(lock, deadline, interrupt);
}

// --- the threads -------------------------------------------------------------------------

void Pipeline::produce(int index) {
    Worker &w = m_producerSlots[size_t(index)];
    qint64 sequence = 0;
    auto next = steady_clock::now();
    while (!w.stop && !m_abort) {
        // Make the next item at the configured rate (interruptible: rate changes, stop).
        w.state = Worker::Producing;
        w.item = -1;
        const auto interval = duration_cast<steady_clock::duration>(duration<double>(1.0 / m_rate));
        next = std::max(next + interval, steady_clock::now() - interval);
        if (!pauseUntil(next, [&] { return w.stop || m_abort; }))
            break;
        const int item = makeItem(index, sequence);
        w.item = item;

        // Put it: at once if there is room, else blocked until there is (backpressure).
        PutResult result = m_channel->putBlocking(QVariant(item), QDeadlineTimer(0));
        if (result == PutResult::Full) {
            w.state = Worker::Blocked;
            const qint64 since = nowNs();
            do {
                result = m_channel->putBlocking(QVariant(item), QDeadlineTimer(PollMs));
            } while (result == PutResult::Full && !w.stop && !m_abort);
            const qint64 blocked = nowNs() - since;
            w.blockedNs += blocked;
            m_blockedNs += blocked;
        }
        if (result != PutResult::Ok)
            break; // closed, or asked to stop: this item was never produced
        ++sequence;
        w.count.fetch_add(1);
        m_producedSum.fetch_add(item);
        m_produced.fetch_add(1);
    }
    w.item = -1;
    w.state = Worker::Done;
    m_producerNs += nowNs() - w.startedNs;
    w.exited = true;
}

void Pipeline::consume(int index) {
    Worker &w = m_consumerSlots[size_t(index)];
    QtChannel::Channel<QVariant> *channel = m_channel->channel().get();
    while (!m_abort && !w.stop) {
        w.state = Worker::Waiting;
        w.item = -1;
        std::optional<QVariant> item = m_channel->getBlocking(QDeadlineTimer(PollMs));
        if (!item) {
            if (channel->isFinished())
                break; // closed and drained: nothing will ever come
            continue;
        }
        const int value = item->toInt();
        w.item = value;
        w.state = Worker::Working;
        const auto work = duration<double, std::milli>(m_workMs.load());
        w.workStartNs = nowNs();
        w.workNs = duration_cast<nanoseconds>(work).count();
        // A taken item is always finished, even when this consumer is asked to leave.
        if (work.count() > 0 &&
            !pauseUntil(steady_clock::now() + duration_cast<steady_clock::duration>(work),
                        [this] { return m_abort.load(); }))
            break;
        w.count.fetch_add(1);
        m_consumedSum.fetch_add(value);
        m_consumed.fetch_add(1);
    }
    w.item = -1;
    w.state = Worker::Done;
    w.exited = true;
}

// --- sampling, once a frame --------------------------------------------------------------

void Pipeline::sample() {
    reconcile();
    const qint64 now = nowNs();
    if (m_state == Running && m_lastFrameNs > 0) {
        const double ms = double(now - m_lastFrameNs) / 1e6;
        ++m_frames;
        m_frameMsSum += ms;
        m_maxFrameMs = std::max(m_maxFrameMs, ms);
    }
    m_lastFrameNs = m_state == Running ? now : 0;
    // Consumed first: an item is counted as produced just after it is accepted, so reading
    // in this order never shows more consumed than produced.
    m_shownConsumed = m_consumed.load();
    m_shownProduced = m_produced.load();

    const auto rows = [now](std::array<Worker, MaxWorkers> &slots, int count) {
        QList<WorkerModel::Row> out;
        for (int i = 0; i < count; ++i) {
            const Worker &w = slots[size_t(i)];
            WorkerModel::Row row;
            row.state = w.state;
            row.item = w.item;
            row.count = w.count;
            row.blockedSeconds = double(w.blockedNs) / 1e9;
            const qint64 span = w.workNs;
            if (row.state == Worker::Working && span > 0)
                row.progress = std::clamp(double(now - w.workStartNs) / double(span), 0.0, 1.0);
            out.append(row);
        }
        return out;
    };
    m_producerModel->setRows(rows(m_producerSlots, m_producerCount));
    m_consumerModel->setRows(rows(m_consumerSlots, m_consumerCount));

    qint64 producerNs = m_producerNs;
    for (const Worker &w : m_producerSlots) {
        if (w.thread.joinable() && !w.exited)
            producerNs += now - w.startedNs;
    }
    m_blockedSeconds = double(m_blockedNs) / 1e9;
    m_blockedShare = producerNs > 0 ? std::min(1.0, double(m_blockedNs) / double(producerNs)) : 0;
    if (m_state == Running || m_state == Closing)
        m_elapsedSeconds = double(m_clock.elapsed()) / 1000.0;

    if (m_state != Idle && now - m_lastSampleNs >= HistoryEveryNs) {
        m_throughput =
            double(m_shownConsumed - m_lastSampleConsumed) * 1e9 / double(now - m_lastSampleNs);
        m_lastSampleNs = now;
        m_lastSampleConsumed = m_shownConsumed;
        m_history.append(m_throughput);
        if (m_history.size() > HistoryPoints)
            m_history.removeFirst();
        m_peak = std::max(m_peak, m_throughput);
        Q_EMIT historyChanged();
    }

    if (m_state == Closing) {
        bool allGone = m_channel->isFinished();
        for (auto *slots : {&m_producerSlots, &m_consumerSlots}) {
            for (const Worker &w : *slots)
                allGone = allGone && (!w.thread.joinable() || w.exited);
        }
        if (allGone) {
            for (auto *slots : {&m_producerSlots, &m_consumerSlots}) {
                for (Worker &w : *slots) {
                    if (w.thread.joinable())
                        w.thread.join();
                }
            }
            m_frame.stop();
            m_shownConsumed = m_consumed.load();
            m_shownProduced = m_produced.load();
            m_throughput = 0;
            Q_EMIT sampled();
            setState(Finished);
            return;
        }
    }
    Q_EMIT sampled();
}

// --- WorkerModel -------------------------------------------------------------------------

int WorkerModel::rowCount(const QModelIndex &parent) const {
    return parent.isValid() ? 0 : int(m_rows.size());
}

QVariant WorkerModel::data(const QModelIndex &index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return QVariant();
    const Row &row = m_rows.at(index.row());
    switch (role) {
    case StateRole:
        return row.state;
    case ItemRole:
        return row.item;
    case ProgressRole:
        return row.progress;
    case CountRole:
        return row.count;
    case BlockedRole:
        return row.blockedSeconds;
    default:
        return QVariant();
    }
}

QHash<int, QByteArray> WorkerModel::roleNames() const {
    return {{StateRole, QByteArrayLiteral("workerState")},
            {ItemRole, QByteArrayLiteral("item")},
            {ProgressRole, QByteArrayLiteral("progress")},
            {CountRole, QByteArrayLiteral("count")},
            {BlockedRole, QByteArrayLiteral("blockedSeconds")}};
}

void WorkerModel::setRows(QList<Row> rows) {
    const int old = int(m_rows.size());
    const int now = int(rows.size());
    if (now < old) {
        beginRemoveRows(QModelIndex(), now, old - 1);
        m_rows.resize(now);
        endRemoveRows();
    }
    for (int i = 0; i < std::min(old, now); ++i)
        m_rows[i] = rows[i];
    if (now > old) {
        beginInsertRows(QModelIndex(), old, now - 1);
        m_rows.append(rows.mid(old));
        endInsertRows();
    }
    if (std::min(old, now) > 0)
        Q_EMIT dataChanged(index(0), index(std::min(old, now) - 1));
}
