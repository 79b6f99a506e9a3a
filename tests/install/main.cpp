// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// Built against an installed QtChannel (find_package) or a checkout (add_subdirectory).

#include <QtChannel/Channel>

#include <cstdio>

int main() {
    QtChannel::Channel<int> ch(2);
    ch.tryPut(40);
    ch.put(2);
    ch.close();
    int sum = 0;
    while (std::optional<int> v = ch.tryGet())
        sum += *v;
    std::printf("sum %d, finished %s\n", sum, ch.isFinished() ? "yes" : "no");
    return sum == 42 && ch.isFinished() ? 0 : 1;
}
