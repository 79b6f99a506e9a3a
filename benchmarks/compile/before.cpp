// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// The API both cores have, on Channel<int> and Channel<QString>.

#include "common.h"

int main() {
    return useEverything<int>(1) + useEverything<QString>(QStringLiteral("a"));
}
