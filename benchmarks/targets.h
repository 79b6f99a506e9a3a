// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

// The targets the table judges: each a bound on a ratio of medians of the same run, on the
// spread of a family of rows, or on allocations or memory. targets.cpp lists them.

#include <string>
#include <vector>

namespace Bench {

enum class Kind {
    SpeedupAtLeast, // peer median / subject median >= bound; impls = {subject, peer}
    FlatWithin,     // max median / min median <= bound
    AllocsAtMost,   // sum of the impls' median allocations per item <= bound
    RssAtMost,      // the impl's peak RSS growth in MiB <= bound
};

struct Target {
    std::string text;
    std::string workload;
    Kind kind;
    std::vector<std::string> impls;
    double bound;
    std::vector<std::string> floors = {}; // AllocsAtMost: what Qt itself allocates, subtracted
};

// Every target, in the order the table lists them.
const std::vector<Target> &targets();

} // namespace Bench
