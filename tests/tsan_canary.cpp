// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// A planted data race, to prove that tests/tsan.supp does not hide races in QtChannel's own
// code. Built and run only under ThreadSanitizer, where CTest expects it to fail.

#include <QtChannel/Channel>

#include <thread>

int main() {
    QtChannel::Channel<int> ch(1);
    int unguarded = 0; // written by both threads without synchronisation: the planted race
    std::thread consumer([&] {
        while (std::optional<int> v = ch.getBlocking())
            unguarded += *v;
    });
    for (int i = 0; i < 1000; ++i) {
        ch.putBlocking(i);
        unguarded -= 1;
    }
    ch.close();
    consumer.join();
    return 0;
}
