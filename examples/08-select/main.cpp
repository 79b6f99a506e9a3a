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

#include <QtChannel/Channel>

#include <QtCore/QDeadlineTimer>
#include <QtCore/QString>

#include <cstdio>
#include <thread>

int main() {
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
    return done == 5 && sum == 55 ? 0 : 1;
}
