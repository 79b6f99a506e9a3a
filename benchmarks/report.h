// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

// The report: the runs of every configuration, their min/median/max, QtChannel's speed-up
// against every peer of the same workload and the verdict on every target; written as the
// table (table.md) and as raw.csv, summary.csv, summary.json and chart-W*.dat (which
// benchmarks/chart.gp turns into chart.png).

#include "driver.h"
#include "harness.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace Bench {

struct Target;

std::string format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

// ---- one run --------------------------------------------------------------------------------

struct Run {
    std::string error; // empty when the run succeeded
    qint64 items = 0;
    qint64 sent = 0;
    qint64 received = 0;
    double seconds = 0;
    double cpuSeconds = 0;
    double allocations = 0;
    qint64 rssBeforeKb = 0;
    qint64 hwmKb = 0;

    bool ok() const { return error.empty(); }
    double nsPerItem() const { return seconds * 1e9 / double(items); }
    double cpuNsPerItem() const { return cpuSeconds * 1e9 / double(items); }
    double allocsPerItem() const { return allocations / double(items); }
    double rssDeltaMiB() const { return double(hwmKb - rssBeforeKb) / 1024.0; }
};

// ---- aggregation ----------------------------------------------------------------------------

struct Config {
    const Benchmark *b;
    qint64 size;
    std::vector<Run> runs;
};

struct Stats {
    int good = 0;
    int failed = 0;
    double min = 0, median = 0, max = 0; // ns per item
    double cpuMedian = 0;                // CPU ns per item
    double allocsMedian = 0;             // allocations per item
    double rssMaxMiB = 0;                // peak RSS growth
};

Stats statsOf(const Config &c);

// Times as the table prints them: three significant digits at most.
std::string ns(double v);

struct Verdict {
    bool measured = false;
    double value = 0;
    bool met = false;
};

struct Report {
    std::vector<Config> configs;
    std::map<std::pair<std::string, std::string>, Stats> stats;
    std::vector<std::string> workloads;
    std::map<std::string, std::string> machine;
    DriverOptions options;

    // The statistics of a configuration with at least one good run, else null.
    const Stats *find(const std::string &w, const std::string &impl) const;
    Verdict judge(const Target &t) const;
    // The tables, with the machine's facts first and the targets last.
    std::string markdown() const;
    // Writes table.md (`markdown`), raw.csv, summary.csv, summary.json and chart-W*.dat into
    // options.outDir. False if a file cannot be written.
    bool write(const std::string &markdown) const;
};

} // namespace Bench
