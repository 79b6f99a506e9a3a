// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// 09 - latest value: a fast producer, a consumer at screen rate, and a channel that keeps only
// the newest item.
//
// A sensor thread produces readings as fast as it can; a display refreshes at about 60 Hz and
// only ever wants the latest reading. Channel<T>(1, Overflow::DropOldest) is a conflated
// channel: a put never waits (it evicts the stale reading), memory stays at one item, and the
// consumer always finds the newest value. droppedCount() says how many readings nobody saw.

#include <QtChannel/Channel>

#include <QtCore/QCoreApplication>
#include <QtCore/QTimer>

#include <cstdio>
#include <thread>

int main(int argc, char *argv[]) {
    QCoreApplication app(argc, argv);
    QtChannel::Channel<int> latest(1, QtChannel::Overflow::DropOldest);

    // The sensor: a million readings, never waiting for the display.
    constexpr int Readings = 1'000'000;
    bool neverRefused = true; // written by the sensor, read after it is joined
    std::jthread sensor([&] {
        for (int reading = 1; reading <= Readings; ++reading) {
            // With a drop policy, tryPut() is Ok unless the channel is closed: never Full.
            if (latest.tryPut(reading) != QtChannel::PutResult::Ok)
                neverRefused = false;
        }
        latest.close(); // the last reading stays in the channel until it is taken
    });

    // The display: a frame every 16 ms takes whatever is newest.
    int frames = 0, shown = 0, lastShown = 0;
    QTimer frameTimer;
    frameTimer.setInterval(16);
    QObject::connect(&frameTimer, &QTimer::timeout, &app, [&] {
        ++frames;
        if (std::optional<int> reading = latest.tryGet()) {
            ++shown;
            lastShown = *reading;
            if (shown % 15 == 1) // about four lines a second
                std::printf("frame %d: reading %d (%lld stale readings dropped so far)\n", frames,
                            *reading, static_cast<long long>(latest.droppedCount()));
        } else if (latest.isFinished()) {
            frameTimer.stop();
            app.quit(); // the sensor is done and its last reading was shown
        }
    });
    frameTimer.start();
    const int status = app.exec();
    sensor.join();

    // Every reading was either shown or dropped, exactly once, and the last one was shown.
    const qint64 dropped = latest.droppedCount();
    const bool ok =
        status == 0 && neverRefused && lastShown == Readings && shown + dropped == Readings;
    std::printf("showed %d of %d readings in %d frames, dropped %lld, the last one shown: %s\n",
                shown, Readings, frames, static_cast<long long>(dropped),
                lastShown == Readings ? "yes" : "NO");
    std::printf("every reading shown or dropped, exactly once: %s\n",
                shown + dropped == Readings ? "yes" : "NO");
    return ok ? 0 : 1;
}
