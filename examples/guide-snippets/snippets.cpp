// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// The code snippets of docs/guide.md that are not part of a numbered example, compiled (not
// run) with the examples' warnings, so that the guide cannot drift from the API. Each function
// body is one snippet, as the guide prints it; the names around them (Job, run(), done(), ...)
// are stand-ins.

#include <QtChannel/Channel>

#include <QtCore/QCoreApplication>
#include <QtCore/QFutureWatcher>
#include <QtCore/QList>
#include <QtCore/QObject>
#include <QtCore/QString>
#include <QtCore/QtDebug>

#include <coroutine>
#include <exception>
#include <optional>
#include <utility>

namespace GuideSnippets {

struct Job {
    int id = 0;
};
struct Row {
    int id = 0;
};
struct Database {
    void insert(const QList<Row> &) {}
};
struct Sample {
    double value = 0;
};
struct Plot {
    void append(const QList<Sample> &) {}
};

// "The idea: closed and drained is finished"
void theIdea(QCoreApplication &app, const Job &job) {
    QtChannel::Channel<Job> jobs(64); // capacity: Unbounded (default), 0 (rendezvous), or n
    QObject::connect(&jobs, &QtChannel::ChannelBase::finished, &app,
                     [] { qInfo("all jobs done"); }); // closed and drained
    jobs.tryPut(job);                                 // ... from any thread, in any style below
    jobs.close();                                     // when the producers are done
}

class Consumer : public QObject {
public:
    void run(const Job &) {}
    void done() {}

    // "The event-loop consumer: forEach()"
    void forEachSnippet() {
        QFuture<void> done = channel.forEach(this, [this](Job job) { run(std::move(job)); });
        Q_UNUSED(done);
    }

    // "Signals and non-waiting calls"
    void signalsSnippet() {
        connect(&channel, &QtChannel::ChannelBase::itemAvailable, this, [this] {
            while (std::optional<Job> job = channel.tryGet())
                run(*job);
        });
    }

    // "Futures": a QFutureWatcher for a future that another thread finishes.
    void watcherSnippet() {
        auto *watcher = new QFutureWatcher<Job>(this);
        connect(watcher, &QFutureWatcherBase::finished, this, [this, watcher] {
            try {
                run(watcher->result());
            } catch (const QtChannel::ChannelClosed &) {
                done();
            }
            watcher->deleteLater();
        });
        watcher->setFuture(channel.get());
    }

    // "Futures": a loop over futures that cannot recurse.
    void next() {
        channel.get()
            .then(this,
                  [this](Job job) {
                      run(std::move(job));
                      // Queued: Qt 6.4 runs the continuation of a finished future inside then(),
                      // so calling next() here would recurse once per buffered item.
                      QMetaObject::invokeMethod(this, &Consumer::next, Qt::QueuedConnection);
                  })
            .onFailed(this, [this](const QtChannel::ChannelClosed &) { done(); });
    }

    QtChannel::Channel<Job> channel;
};

// "Blocking calls for worker threads"
void blockingSnippet(QtChannel::Channel<Job> &jobs, Consumer &consumer) {
    while (std::optional<Job> job = jobs.getBlocking()) // std::nullopt once finished
        consumer.run(*job);
}

// "Batches"
void batchesSnippet(QtChannel::Channel<Row> &pending, Database &database) {
    QList<Row> rows;
    while (!(rows = pending.getManyBlocking(64)).isEmpty()) // up to 64; empty once finished
        database.insert(rows);
}

// "Batches": draining on the event loop.
void batchDrainSnippet(QObject &window, QtChannel::Channel<Sample> &channel, Plot &plot) {
    QObject::connect(&channel, &QtChannel::ChannelBase::itemAvailable, &window, [&] {
        QList<Sample> batch;
        do {
            batch = channel.tryGetMany(64);
            plot.append(batch);
        } while (batch.size() == 64); // a short batch armed itemAvailable()
    });
}

// "Overflow policies and the undelivered handler"
void conflatedSnippet(int reading) {
    QtChannel::Channel<int> latest(1, QtChannel::Overflow::DropOldest);
    latest.tryPut(reading); // sensor thread: never Full, never waits
    if (std::optional<int> r = latest.tryGet())
        Q_UNUSED(*r); // display timer: show(*r)
}

// "Select": the worker loop.
void selectSnippet(QtChannel::Channel<int> &jobs, QtChannel::Channel<QString> &stop) {
    auto run = [](int) {};
    auto log = [](const QString &) {};
    auto idle = [] {};
    for (bool running = true; running;) {
        QtChannel::Select select; // a Select runs once: one per iteration
        select.onGet(jobs, [&](int job) { run(job); });
        select.onGet(stop, [&](const QString &why) {
            log(why);
            running = false;
        });
        if (select.runBlocking(QDeadlineTimer(100)) == -1) { // 100 ms without a job or a stop
            if (jobs.isFinished() && stop.isFinished())
                break; // every arm is dead
            idle();
        }
    }
}

// "Coroutines: receive() and send()", in a minimal coroutine type.
struct Task {
    struct promise_type {
        Task get_return_object() noexcept { return {}; }
        std::suspend_never initial_suspend() noexcept { return {}; }
        std::suspend_never final_suspend() noexcept { return {}; }
        void return_void() noexcept {}
        void unhandled_exception() noexcept { std::terminate(); }
    };
};

Task coroutineSnippet(QtChannel::Channel<Job> &jobs, Consumer &consumer) {
    auto run = [&consumer](Job job) { consumer.run(job); };
    while (std::optional<Job> job = co_await jobs.receive()) // std::nullopt once finished
        run(std::move(*job));
}

// "Select": what a select costs; the ready part of an event-loop consumer.
struct ReadySelect {
    QtChannel::Channel<int> &m_a;
    QtChannel::Channel<int> &m_b;
    int fromA = 0;
    int fromB = 0;

    void next() {
        for (;;) {
            QtChannel::Select now;
            now.onGet(m_a, [this](int) { ++fromA; });
            now.onGet(m_b, [this](int) { ++fromB; });
            if (now.tryRun() == -1)
                break; // nothing ready (or every arm dead): wait with run(context) as above
        }
        // ... the run(context) turn above, which queues next() again when it finishes
    }
};

// "Coroutines": select in a coroutine.
Task selectCoroutineSnippet(QtChannel::Channel<Job> &jobs, QtChannel::Channel<QString> &stop,
                            Consumer &consumer) {
    auto run = [&consumer](Job job) { consumer.run(job); };
    for (bool running = true; running;) {
        QtChannel::Select select;
        select.onGet(jobs, [&run](Job job) { run(job); });
        select.onGet(stop, [&](const QString &) { running = false; });
        if (co_await select.until(QDeadlineTimer(100)) == -1)
            running = !(jobs.isFinished() && stop.isFinished()); // idle, or every arm dead
    }
}

} // namespace GuideSnippets
