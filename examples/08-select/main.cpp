// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// 08 - select: a worker that waits for a job, or a stop command, or a deadline, whichever
// comes first. Go's
//
//     for {
//         select {
//         case job := <-jobs:                   run(job)
//         case why := <-stop:                   return
//         case <-time.After(100 * time.Millisecond): idle()
//         }
//     }
//
// is a loop that builds one QtChannel::Select per iteration and runs it with a deadline.
// Exactly one arm fires each time: its channel gives up one item, the other channel none.
// Part 1 runs it in a worker thread with runBlocking(); part 2 runs the same kind of loop on
// an event loop with run(context, deadline).

#include <QtChannel/Channel>

#include <QtCore/QCoreApplication>
#include <QtCore/QDeadlineTimer>
#include <QtCore/QString>

#include <cstdio>
#include <memory>
#include <thread>

// Part 2: a select loop on an event loop, over two channels, until both are finished.
class SelectLoop {
public:
    SelectLoop(QtChannel::Channel<int> &a, QtChannel::Channel<int> &b, QObject *context)
        : m_a(a)
        , m_b(b)
        , m_context(context) {}

    void next() {
        // The Select must live until its run() has finished: the continuation keeps it.
        auto select = std::make_shared<QtChannel::Select>();
        select->onGet(m_a, [this](int) { ++fromA; });
        select->onGet(m_b, [this](int) { ++fromB; });
        // The handler runs in m_context's thread, then the future finishes there (with -1 if
        // the deadline passed first), so then() with the same context is safe on Qt 6.4.2.
        select->run(m_context, QDeadlineTimer(100))
            .then(m_context,
                  [this, select](int fired) {
                      if (fired == -1)
                          ++idle;
                      // Queued, not next(): a select with a ready arm finishes inside run(),
                      // and Qt 6.4 then runs this continuation inside then(), so a direct
                      // call would recurse once per item.
                      QMetaObject::invokeMethod(
                          m_context, [this] { next(); }, Qt::QueuedConnection);
                  })
            .onFailed(m_context, [](const QtChannel::ChannelClosed &) {
                // Every arm is dead: both channels are finished.
                QCoreApplication::quit();
            });
    }

    int fromA = 0, fromB = 0, idle = 0;

private:
    QtChannel::Channel<int> &m_a;
    QtChannel::Channel<int> &m_b;
    QObject *m_context;
};

static bool eventLoopSelect(QCoreApplication &app) {
    QtChannel::Channel<int> a, b;
    for (int i = 0; i < 100; ++i) {
        a.tryPut(i);
        b.tryPut(i);
    }
    a.close();
    b.close();
    SelectLoop loop(a, b, &app);
    QMetaObject::invokeMethod(
        &app, [&loop] { loop.next(); }, Qt::QueuedConnection);
    app.exec();
    std::printf("event loop: took %d items from a and %d from b, then both were finished\n",
                loop.fromA, loop.fromB);
    return loop.fromA == 100 && loop.fromB == 100;
}

int main(int argc, char *argv[]) {
    QCoreApplication app(argc, argv);

    QtChannel::Channel<int> jobs;        // work to do
    QtChannel::Channel<QString> stop(1); // one command: stop, and why
    QtChannel::Channel<QString> status;  // what the worker tells the main thread

    // Five jobs wait before the worker starts.
    for (int job = 1; job <= 5; ++job)
        jobs.tryPut(job);

    int done = 0, sum = 0;
    QString stoppedBecause;
    std::jthread worker([&] {
        bool toldIdle = false;
        for (bool running = true; running;) {
            QtChannel::Select select; // a Select runs once: one per iteration
            select.onGet(jobs, [&](int job) {
                ++done;
                sum += job * job;
            });
            select.onGet(stop, [&](QString why) {
                stoppedBecause = std::move(why);
                running = false;
            });
            // Waits for whichever arm can fire first, for at most 100 ms (Go's time.After).
            const int fired = select.runBlocking(QDeadlineTimer(100));
            if (fired == -1) {
                // The deadline passed with no job and no stop (an arm on a finished channel
                // can never fire: if every arm were dead, -1 would mean that instead).
                if (jobs.isFinished() && stop.isFinished())
                    break;
                if (!toldIdle) {
                    status.tryPut(QStringLiteral("idle after %1 jobs").arg(done));
                    toldIdle = true;
                }
            }
        }
    });

    // The main thread waits until the worker has been idle for a whole deadline, then stops
    // it. (No sleep: the worker says so.)
    const std::optional<QString> report = status.getBlocking();
    std::printf("worker: %s\n", qPrintable(report.value_or(QString())));
    stop.tryPut(QStringLiteral("shutdown requested"));
    worker.join();

    std::printf("worker: stopped (%s) after %d jobs, sum of squares %d\n",
                qPrintable(stoppedBecause), done, sum);
    const bool workerOk = done == 5 && sum == 55;

    const bool loopOk = eventLoopSelect(app);
    return workerOk && loopOk ? 0 : 1;
}
