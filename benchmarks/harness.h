// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

// The benchmark harness: what one run measures, and the list of every configuration.
//
// One configuration (a workload driven by one implementation) runs once per child process,
// so each run starts from a fresh heap and its peak memory is its own. The driver
// (driver.cpp) starts the children round-robin, several times, and aggregates.

#include <QtCore/QtGlobal>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace Bench {

// Heap allocations made so far by every thread of the process: calls of every operator new,
// malloc, calloc and realloc (alloccount.cpp). Qt's containers allocate with malloc, the rest
// with operator new, so both are counted.
std::uint64_t allocations() noexcept;

// What a run hands back: the denominator of its per-item costs and the two checksums.
struct Sample {
    qint64 items = 0;    // items, round trips or waiters: what "per item" means for this run
    qint64 sent = 0;     // sum of the values that were put
    qint64 received = 0; // sum of the values that were taken
};

/*
 * Measures the timed part of a run: wall time, process CPU time (all threads), heap
 * allocations and memory. start()/stop() pairs accumulate, so a run may time several
 * phases and leave its set-up out. Memory is the resident-set high-water mark (VmHWM) at the
 * last stop() minus the resident set (VmRSS) at the first start().
 */
class Meter {
public:
    void start();
    void stop();

    double seconds() const { return m_seconds; }
    double cpuSeconds() const { return m_cpuSeconds; }
    std::uint64_t allocations() const { return m_allocations; }
    qint64 rssBeforeKb() const { return m_rssBeforeKb; }
    qint64 hwmKb() const { return m_hwmKb; }

private:
    std::chrono::steady_clock::time_point m_t0;
    double m_cpu0 = 0;
    std::uint64_t m_allocs0 = 0;
    double m_seconds = 0;
    double m_cpuSeconds = 0;
    std::uint64_t m_allocations = 0;
    qint64 m_rssBeforeKb = -1;
    qint64 m_hwmKb = 0;
};

using Workload = Sample (*)(qint64 size, Meter &meter);

struct Benchmark {
    std::string workload; // "W1" ... "W6"
    std::string impl;     // short id, unique within the workload: "qtchannel", "std-cv", ...
    std::string label;    // what the table says
    bool subject;         // a QtChannel configuration (the others are peers)
    qint64 size;          // the full size of the workload
    qint64 smokeSize;     // the size of the CI smoke run
    std::string unit;     // "item", "round trip", "waiter"
    Workload run;         // null for an external program (Go)
    std::vector<std::string> external; // program arguments after the program, before the size
};

// Every in-process configuration, in table order (workloads.cpp).
const std::vector<Benchmark> &benchmarks();

// A failed check inside a workload: prints the message and exits the child with status 3.
[[noreturn]] void fail(const char *what);

inline void check(bool ok, const char *what) {
    if (!ok)
        fail(what);
}

// The sum of 1..n.
constexpr qint64 triangle(qint64 n) {
    return n * (n + 1) / 2;
}

} // namespace Bench
