// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// libFuzzer target: the input bytes are decoded into a capacity and an operation sequence
// (Rel::decodeOps), which runs on the real channel and on the reference model exactly as in
// tst_model, every observable compared after every step. Built with clang under
// AddressSanitizer + UndefinedBehaviorSanitizer by .ci/reliability.sh; see docs/reliability.md.

#include "shrink.h"

#include <QtCore/QCoreApplication>

#include <cstdio>
#include <cstdlib>

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
    // forEach needs an event loop; signals and futures need nothing else.
    static int argc = 1;
    static char name[] = "fuzz_channel";
    static char *argv[] = {name, nullptr};
    static QCoreApplication app(argc, argv);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const auto [capacity, ops] = Rel::decodeOps(data, size, /*maxOps=*/512);
    const Rel::RunResult r = Rel::runSequence(capacity, ops, /*waitMs=*/1);
    if (!r.error.empty()) {
        const std::vector<Rel::Op> minimal = Rel::shrink(capacity, ops, 1);
        std::fprintf(stderr, "QtChannel model mismatch: %s\nminimal reproduction:\n%s",
                     r.error.c_str(), Rel::describe(capacity, minimal, 1).c_str());
        std::abort();
    }
    return 0;
}
