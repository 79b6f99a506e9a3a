// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

#include <QtChannel/QmlChannel>

#include <QtCore/QAbstractListModel>
#include <QtCore/QElapsedTimer>
#include <QtCore/QObject>
#include <QtCore/QTimer>
#include <QtCore/QVariantList>
#include <QtQml/qqmlregistration.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

// The demo's pipeline: producer and consumer threads around one QtChannel::QmlChannel.
//
// The threads never signal the GUI. Each publishes its state in atomics; the GUI thread
// samples them once a frame (sample()) and publishes everything with one signal, so the
// screen costs the same at 8 × 8 threads moving thousands of items a second as at 1 × 1.

class WorkerModel;

namespace demo {
// One producer or consumer thread and what it publishes. Written by its thread, read by the
// GUI thread's sample(); `stop` is written by the GUI thread.
struct Worker {
    enum State { Idle, Producing, Blocked, Waiting, Working, Done };
    std::thread thread;              // started and joined by the GUI thread
    std::atomic<bool> stop{false};   // asked to leave (fewer workers, or closing)
    std::atomic<bool> exited{false}; // its loop is over: join() will not wait
    std::atomic<int> state{Idle};
    std::atomic<int> item{-1}; // the item in hand, -1 for none
    std::atomic<qint64> workStartNs{0};
    std::atomic<qint64> workNs{0};
    std::atomic<qint64> count{0};     // items put / items consumed by this worker
    std::atomic<qint64> blockedNs{0}; // producers: time waiting for room
    std::atomic<qint64> startedNs{0};
};
} // namespace demo

class Pipeline : public QObject {
    Q_OBJECT
    QML_ELEMENT
    QML_UNCREATABLE("created by the demo's main()")
    Q_PROPERTY(QtChannel::QmlChannel *channel READ channel NOTIFY channelChanged)
    Q_PROPERTY(State state READ state NOTIFY stateChanged)
    Q_PROPERTY(int capacity READ capacity WRITE setCapacity NOTIFY capacityChanged)
    Q_PROPERTY(int producerCount READ producerCount WRITE setProducerCount NOTIFY settingsChanged)
    Q_PROPERTY(int consumerCount READ consumerCount WRITE setConsumerCount NOTIFY settingsChanged)
    Q_PROPERTY(double rate READ rate WRITE setRate NOTIFY settingsChanged)
    Q_PROPERTY(double workMs READ workMs WRITE setWorkMs NOTIFY settingsChanged)
    Q_PROPERTY(WorkerModel *producers READ producers CONSTANT)
    Q_PROPERTY(WorkerModel *consumers READ consumers CONSTANT)
    // Figures, sampled once a frame.
    Q_PROPERTY(qint64 produced READ produced NOTIFY sampled)
    Q_PROPERTY(qint64 consumed READ consumed NOTIFY sampled)
    Q_PROPERTY(qint64 inFlight READ inFlight NOTIFY sampled)
    Q_PROPERTY(double blockedSeconds READ blockedSeconds NOTIFY sampled)
    Q_PROPERTY(double blockedShare READ blockedShare NOTIFY sampled)
    Q_PROPERTY(double throughput READ throughput NOTIFY sampled)
    Q_PROPERTY(double elapsedSeconds READ elapsedSeconds NOTIFY sampled)
    Q_PROPERTY(QVariantList history READ history NOTIFY historyChanged)
    Q_PROPERTY(double peakThroughput READ peakThroughput NOTIFY historyChanged)
    Q_PROPERTY(bool nothingLost READ nothingLost NOTIFY stateChanged)

public:
    enum State { Idle, Running, Closing, Finished };
    Q_ENUM(State)
    static constexpr int MaxWorkers = 8;

    explicit Pipeline(QObject *parent = nullptr);
    ~Pipeline() override;

    QtChannel::QmlChannel *channel() const { return m_channel; }
    State state() const { return m_state; }
    int capacity() const { return m_capacity; }
    void setCapacity(int capacity);
    int producerCount() const { return m_producerCount; }
    void setProducerCount(int n);
    int consumerCount() const { return m_consumerCount; }
    void setConsumerCount(int n);
    double rate() const { return m_rate.load(); }
    void setRate(double itemsPerSecond);
    double workMs() const { return m_workMs.load(); }
    void setWorkMs(double ms);
    WorkerModel *producers() const { return m_producerModel; }
    WorkerModel *consumers() const { return m_consumerModel; }

    qint64 produced() const { return m_shownProduced; }
    qint64 consumed() const { return m_shownConsumed; }
    qint64 inFlight() const { return std::max<qint64>(0, m_shownProduced - m_shownConsumed); }
    double blockedSeconds() const { return m_blockedSeconds; }
    double blockedShare() const { return m_blockedShare; }
    double throughput() const { return m_throughput; }
    double elapsedSeconds() const { return m_elapsedSeconds; }
    QVariantList history() const { return m_history; }
    double peakThroughput() const { return m_peak; }
    bool nothingLost() const;
    qint64 producedChecksum() const { return m_producedSum.load(); }
    //! GUI-thread frame ticks while running: how regular the UI's 16 ms sampling stayed.
    double meanFrameMs() const { return m_frames > 0 ? m_frameMsSum / double(m_frames) : 0; }
    double maxFrameMs() const { return m_maxFrameMs; }
    qint64 frames() const { return m_frames; }
    qint64 consumedChecksum() const { return m_consumedSum.load(); }

    //! Starts the producer and consumer threads on a new channel.
    Q_INVOKABLE void start();
    //! Closes the channel: producers stop, consumers drain, then the state is Finished.
    Q_INVOKABLE void close();
    //! Stops everything at once (nothing is drained) and goes back to Idle.
    Q_INVOKABLE void reset();

Q_SIGNALS:
    void channelChanged();
    void stateChanged();
    void capacityChanged();
    void settingsChanged();
    void sampled();
    void historyChanged();
    void finished();

private:
    void produce(int index);
    void consume(int index);
    // Waits until `deadline` or until `interrupt()` holds; true if the deadline came first.
    template <typename Pred>
    bool pauseUntil(std::chrono::steady_clock::time_point deadline, Pred interrupt);
    void reconcile();
    void sample();
    void setState(State state);
    void stopAll();
    void newChannel();

    QtChannel::QmlChannel *m_channel = nullptr;
    State m_state = Idle;
    int m_capacity = 32;
    int m_producerCount = 4;
    int m_consumerCount = 3;
    std::atomic<double> m_rate{40.0};
    std::atomic<double> m_workMs{60.0};

    std::array<demo::Worker, MaxWorkers> m_producerSlots;
    std::array<demo::Worker, MaxWorkers> m_consumerSlots;
    std::atomic<bool> m_abort{false};
    std::mutex m_wakeMutex;
    std::condition_variable m_wake;

    // Totals over every worker, also those already gone.
    std::atomic<qint64> m_produced{0};
    std::atomic<qint64> m_consumed{0};
    std::atomic<qint64> m_producedSum{0};
    std::atomic<qint64> m_consumedSum{0};
    std::atomic<qint64> m_blockedNs{0};
    std::atomic<qint64> m_producerNs{0}; // producer time of workers that have left

    // GUI thread.
    WorkerModel *m_producerModel;
    WorkerModel *m_consumerModel;
    QTimer m_frame;
    QElapsedTimer m_clock;
    qint64 m_lastSampleNs = 0;
    qint64 m_lastSampleConsumed = 0;
    qint64 m_shownProduced = 0;
    qint64 m_shownConsumed = 0;
    double m_blockedSeconds = 0;
    double m_blockedShare = 0;
    double m_throughput = 0;
    double m_elapsedSeconds = 0;
    double m_peak = 0;
    QVariantList m_history;
    qint64 m_lastFrameNs = 0;
    qint64 m_frames = 0;
    double m_frameMsSum = 0;
    double m_maxFrameMs = 0;
};

// The producers or consumers as a model for a Repeater: one row per worker slot in use, all
// rows refreshed with one dataChanged() per frame.
class WorkerModel : public QAbstractListModel {
    Q_OBJECT
    QML_ELEMENT
    QML_UNCREATABLE("owned by Pipeline")

public:
    enum Role { StateRole = Qt::UserRole + 1, ItemRole, ProgressRole, CountRole, BlockedRole };

    struct Row {
        int state = demo::Worker::Idle;
        int item = -1;
        double progress = 0;
        qint64 count = 0;
        double blockedSeconds = 0;
    };

    using QAbstractListModel::QAbstractListModel;
    int rowCount(const QModelIndex &parent = QModelIndex()) const override;
    QVariant data(const QModelIndex &index, int role) const override;
    QHash<int, QByteArray> roleNames() const override;
    void setRows(QList<Row> rows);

private:
    QList<Row> m_rows;
};
