// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// qtchannel-bench: the benchmarks of docs/benchmarks.md. Usually started by scripts/bench.sh.
//
//   qtchannel-bench [all] [--smoke] [--reps N] [--scale X] [--filter REGEX] [--out DIR]
//                   [--go PROGRAM] [--timeout SECONDS]
//       every configuration, round-robin, each run in a child process; prints the table
//   qtchannel-bench list
//   qtchannel-bench run WORKLOAD IMPL [SIZE]
//       one run in this process; prints a RESULT line (what the driver reads)

#include "driver.h"
#include "harness.h"

#include <QtCore/QCoreApplication>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

int usage() {
    std::fprintf(stderr,
                 "usage: qtchannel-bench [all] [--smoke] [--reps N] [--scale X] [--filter REGEX]\n"
                 "                       [--out DIR] [--go PROGRAM] [--timeout SECONDS]\n"
                 "       qtchannel-bench list\n"
                 "       qtchannel-bench run WORKLOAD IMPL [SIZE]\n");
    return 2;
}

} // namespace

int main(int argc, char **argv) {
    QCoreApplication app(argc, argv); // W4 and W5 need its event loop, the driver QProcess

    const char *command = argc > 1 && argv[1][0] != '-' ? argv[1] : "all";
    if (std::strcmp(command, "list") == 0) {
        for (const Bench::Benchmark &b : Bench::benchmarks())
            std::printf("%s/%s\t%lld\t%s\n", b.workload.c_str(), b.impl.c_str(),
                        static_cast<long long>(b.size), b.label.c_str());
        return 0;
    }
    if (std::strcmp(command, "run") == 0) {
        if (argc < 4)
            return usage();
        return Bench::runOne(argv[2], argv[3], argc > 4 ? std::atoll(argv[4]) : 0);
    }
    if (std::strcmp(command, "all") != 0)
        return usage();

    Bench::DriverOptions options;
    bool repsGiven = false;
    for (int i = command == argv[1] ? 2 : 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "qtchannel-bench: %s needs a value\n", arg.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (arg == "--smoke") {
            options.smoke = true;
        } else if (arg == "--reps") {
            options.repetitions = std::atoi(value().c_str());
            repsGiven = true;
        } else if (arg == "--scale") {
            options.scale = std::atof(value().c_str());
        } else if (arg == "--filter") {
            options.filter = value();
        } else if (arg == "--out") {
            options.outDir = value();
        } else if (arg == "--go") {
            options.goProgram = value();
        } else if (arg == "--timeout") {
            options.timeoutSeconds = std::atoi(value().c_str());
        } else {
            return usage();
        }
    }
    if (options.smoke && !repsGiven)
        options.repetitions = 1;
    if (options.repetitions < 1 || options.scale <= 0)
        return usage();
    return Bench::runAll(options);
}
