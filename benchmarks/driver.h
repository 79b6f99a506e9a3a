// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

#include <string>

namespace Bench {

struct DriverOptions {
    bool smoke = false;       // the CI sizes, correctness only
    int repetitions = 5;      // rounds of the round-robin
    double scale = 1.0;       // multiplies every size (after --smoke)
    std::string filter;       // regular expression on "W1/qtchannel"
    std::string outDir = "."; // where the results go
    std::string goProgram;    // the Go peer; empty: next to this program
    int timeoutSeconds = 600; // per run
};

// Runs every configuration `repetitions` times round-robin, each run in a child process,
// prints the table and writes the results. Returns the process exit status: non-zero if any
// run failed (a sum mismatch, a crash or a timeout).
int runAll(const DriverOptions &options);

// Runs one configuration in this process and prints its RESULT line. Exit status 3 on a sum
// mismatch.
int runOne(const std::string &workload, const std::string &impl, long long size);

} // namespace Bench
