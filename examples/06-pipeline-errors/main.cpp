// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// 06 - pipeline errors: a failure in the middle of a pipeline stops every stage cleanly, and
// the first error is reported once.
//
//   reader thread --lines--> 3 worker threads --results--> writer (forEach on the event loop)
//
// Two records are malformed. The worker that meets the first one closes `lines` with the
// error as its reason and drops the queued work with clear(): the reader's next put returns
// Closed, so it stops reading; the other workers find nothing more to take. The last worker to
// stop closes `results` with the reason of `lines`, so the error travels downstream: the
// writer writes what was parsed before it and its forEach() future then fails with the error.
// Only the closing call's reason counts, so a second failing worker changes nothing.

#include <QtChannel/Channel>

#include <QtCore/QCoreApplication>
#include <QtCore/QFutureWatcher>
#include <QtCore/QString>

#include <atomic>
#include <cstdio>
#include <stdexcept>
#include <thread>
#include <vector>

// What a worker fails with. Any exception type works as a close reason.
class ParseError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

int main(int argc, char *argv[]) {
    QCoreApplication app(argc, argv);
    QtChannel::Channel<QString> lines(8); // bounded: the reader waits for the workers
    QtChannel::Channel<int> results(8);

    // Every record handed to `lines` but never taken (here: removed by clear()) comes back
    // through the undelivered handler, in the thread that dropped it.
    std::atomic<int> dropped = 0;
    lines.setUndeliveredHandler([&dropped](QString &&) { ++dropped; });

    // Stage 1, the reader: the records "1" to "1000", two of them malformed.
    int read = 0;
    std::jthread reader([&] {
        for (int i = 1; i <= 1000; ++i) {
            QString record = QString::number(i);
            if (i == 170 || i == 172)
                record[i == 170 ? 2 : 0] = u'O'; // "17O" and "O72": typos

            if (lines.putBlocking(std::move(record)) == QtChannel::PutResult::Closed)
                return; // downstream failed: stop reading (the record is still ours)
            ++read;
        }
        lines.close(); // all read: a plain close, no reason
    });

    // Stage 2, the workers: parse each record; the first failure stops the pipeline.
    constexpr int Workers = 3;
    std::atomic<int> taken = 0, parsed = 0, failed = 0, running = Workers;
    std::vector<std::jthread> workers;
    for (int w = 0; w < Workers; ++w) {
        workers.emplace_back([&] {
            while (std::optional<QString> record = lines.getBlocking()) {
                ++taken;
                bool ok = false;
                const int value = record->toInt(&ok);
                if (!ok) {
                    ++failed;
                    const auto error = std::make_exception_ptr(
                        ParseError("record \"" + record->toStdString() + "\" is not a number"));
                    if (lines.close(error)) // true only for the first close
                        lines.clear();      // stop now: drop the queued work
                    break;
                }
                ++parsed;
                results.putBlocking(value); // `results` closes only after every worker stopped
            }
            // The last worker passes on how `lines` ended: its reason, or none (a plain close).
            if (--running == 0)
                results.close(lines.closeReason());
        });
    }

    // Stage 3, the writer: forEach() in the main thread takes what the workers parsed, until
    // `results` is finished; its future then fails with the close reason, if there is one.
    int written = 0;
    QFuture<void> writer = results.forEach(&app, [&written](int) { ++written; });

    // A QFutureWatcher tells this thread when the writer is done. (On Qt 6.4.2, then() on a
    // future that another thread may finish at that moment can crash: QTBUG-109230.)
    QString report;
    QFutureWatcher<void> watcher;
    QObject::connect(&watcher, &QFutureWatcherBase::finished, &app, [&] {
        try {
            writer.waitForFinished(); // rethrows the reason the pipeline failed with
            report = QStringLiteral("no error");
        } catch (const ParseError &e) {
            report = QString::fromStdString(e.what());
        }
        app.quit();
    });
    watcher.setFuture(writer);
    const int status = app.exec();

    reader.join();
    for (std::jthread &worker : workers)
        worker.join();

    // Every record the reader handed over was taken by a worker or dropped, exactly once;
    // every parsed value was written.
    const bool accounted = read == taken + dropped && parsed == written;
    std::printf("reader stopped after %d records; %d taken by the workers (%d parsed, %d "
                "failed), %d dropped; %d written\n",
                read, taken.load(), parsed.load(), failed.load(), dropped.load(), written);
    std::printf("pipeline failed: %s\n", qPrintable(report));
    std::printf("every record accounted for: %s\n", accounted ? "yes" : "NO");
    return status == 0 && accounted && read < 1000 ? 0 : 1;
}
