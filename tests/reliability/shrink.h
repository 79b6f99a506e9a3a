// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

// Running a whole sequence through the harness, and shrinking a failing one to a minimal
// reproduction (delta debugging), printed step by step.

#include "harness.h"

#include <sstream>
#include <string>
#include <vector>

namespace Rel {

// Runs one sequence; returns "" or a description of the first difference, with the step.
struct RunResult {
    std::string error;
    int failedStep = -1;
    quint64 comparisons = 0;
    int notWaited = 0;
    std::vector<std::string> trace; // what each step did, with the values it saw
};

inline RunResult runSequence(qsizetype capacity, const std::vector<Op> &ops, int waitMs = 2) {
    RunResult result;
    Harness h(capacity, waitMs);
    for (size_t i = 0; i < ops.size(); ++i) {
        std::string error = h.step(ops[i]);
        result.trace.push_back(h.lastStep());
        if (!error.empty()) {
            result.error = "step " + std::to_string(i) + " " + h.lastStep() + ": " + error;
            result.failedStep = int(i);
            return result;
        }
    }
    std::string error = h.destroy();
    if (!error.empty()) {
        result.error = "at destruction: " + error;
        result.failedStep = int(ops.size());
    }
    result.comparisons = h.comparisons();
    result.notWaited = h.notWaited();
    return result;
}

// Shrinks a failing sequence: removes chunks, then single operations, as long as it still
// fails (delta debugging). Operations address futures by index modulo their count, so every
// subsequence is valid.
inline std::vector<Op> shrink(qsizetype capacity, std::vector<Op> ops, int waitMs = 2) {
    if (ops.size() > size_t(runSequence(capacity, ops, waitMs).failedStep + 1))
        ops.resize(size_t(runSequence(capacity, ops, waitMs).failedStep + 1));
    for (size_t chunk = std::max<size_t>(1, ops.size() / 2);; chunk /= 2) {
        bool removed = true;
        while (removed) {
            removed = false;
            for (size_t at = 0; at < ops.size();) {
                std::vector<Op> candidate = ops;
                candidate.erase(candidate.begin() + qsizetype(at),
                                candidate.begin() + qsizetype(std::min(ops.size(), at + chunk)));
                if (!runSequence(capacity, candidate, waitMs).error.empty()) {
                    ops = std::move(candidate);
                    removed = true;
                } else {
                    at += chunk;
                }
            }
        }
        if (chunk == 1)
            break;
    }
    return ops;
}

// A failing sequence as its steps, each with what it returned, for the report.
inline std::string describe(qsizetype capacity, const std::vector<Op> &ops, int waitMs = 2) {
    const RunResult r = runSequence(capacity, ops, waitMs);
    std::ostringstream out;
    out << "  Channel<Tracked> ch(" << capacity << ");\n";
    for (const std::string &line : r.trace)
        out << "  " << line << "\n";
    out << "  => " << r.error << "\n";
    return out.str();
}

} // namespace Rel
