// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// The driver: runs every configuration round-robin in child processes, aggregates
// min/median/max, computes QtChannel's speed-up against every peer of the same workload and
// the targets of issue 4, prints the table and writes raw.csv, summary.csv, summary.json,
// table.md and chart-W*.dat (which benchmarks/chart.gp turns into chart.png).

#include "driver.h"
#include "harness.h"

#include <QtCore/QCoreApplication>
#include <QtCore/QDateTime>
#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QProcess>
#include <QtCore/QRegularExpression>

#include <boost/version.hpp>
#include <sys/utsname.h>

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <thread>

namespace Bench {

namespace {

std::string format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char *fmt, ...) {
    char buf[1024];
    va_list args;
    va_start(args, fmt);
    std::vsnprintf(buf, sizeof buf, fmt, args);
    va_end(args);
    return buf;
}

QString qs(const std::string &s) {
    return QString::fromStdString(s);
}

std::string readFirstLine(const char *path, const char *prefix) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        if (!prefix)
            return line;
        if (line.rfind(prefix, 0) == 0) {
            const auto colon = line.find(':');
            return colon == std::string::npos ? line : line.substr(colon + 2);
        }
    }
    return "?";
}

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

std::string resultLine(const Sample &s, const Meter &m) {
    return format("RESULT items=%lld sent=%lld received=%lld seconds=%.9f cpu=%.6f allocs=%llu "
                  "rss_before_kb=%lld hwm_kb=%lld",
                  static_cast<long long>(s.items), static_cast<long long>(s.sent),
                  static_cast<long long>(s.received), m.seconds(), m.cpuSeconds(),
                  static_cast<unsigned long long>(m.allocations()),
                  static_cast<long long>(m.rssBeforeKb()), static_cast<long long>(m.hwmKb()));
}

Run parseResult(const QByteArray &output) {
    Run r;
    for (const QByteArray &line : output.split('\n')) {
        if (!line.startsWith("RESULT "))
            continue;
        std::map<std::string, std::string> kv;
        for (const QByteArray &field : line.mid(7).trimmed().split(' ')) {
            const qsizetype eq = field.indexOf('=');
            if (eq > 0)
                kv[field.left(eq).toStdString()] = field.mid(eq + 1).toStdString();
        }
        const auto num = [&](const char *k) { return kv.count(k) ? std::atof(kv[k].c_str()) : -1; };
        const auto integer = [&](const char *k) {
            return kv.count(k) ? std::atoll(kv[k].c_str()) : -1LL;
        };
        r.items = integer("items");
        r.sent = integer("sent");
        r.received = integer("received");
        r.seconds = num("seconds");
        r.cpuSeconds = num("cpu");
        r.allocations = num("allocs");
        r.rssBeforeKb = integer("rss_before_kb");
        r.hwmKb = integer("hwm_kb");
        if (r.items <= 0 || r.seconds <= 0)
            r.error = "malformed RESULT line";
        else if (r.sent != r.received)
            r.error = format("sum mismatch: sent %lld, received %lld",
                             static_cast<long long>(r.sent), static_cast<long long>(r.received));
        return r;
    }
    r.error = "no RESULT line";
    return r;
}

Run runChild(const QString &program, const QStringList &args, int timeoutSeconds) {
    QProcess p;
    p.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    p.start(program, args);
    Run r;
    if (!p.waitForStarted(30000)) {
        r.error = "could not start " + program.toStdString();
        return r;
    }
    if (!p.waitForFinished(timeoutSeconds * 1000)) {
        p.kill();
        p.waitForFinished(10000);
        r.error = format("timed out after %d s", timeoutSeconds);
        return r;
    }
    const QByteArray out = p.readAllStandardOutput();
    if (p.exitStatus() != QProcess::NormalExit) {
        r.error = "crashed";
        return r;
    }
    if (p.exitCode() != 0) {
        r.error = p.exitCode() == 3 ? "check failed (see stderr)"
                                    : format("exit status %d", p.exitCode());
        return r;
    }
    return parseResult(out);
}

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

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

Stats statsOf(const Config &c) {
    Stats s;
    std::vector<double> ns, cpu, allocs;
    for (const Run &r : c.runs) {
        if (!r.ok()) {
            ++s.failed;
            continue;
        }
        ++s.good;
        ns.push_back(r.nsPerItem());
        cpu.push_back(r.cpuNsPerItem());
        allocs.push_back(r.allocsPerItem());
        s.rssMaxMiB = std::max(s.rssMaxMiB, r.rssDeltaMiB());
    }
    if (s.good) {
        s.min = *std::min_element(ns.begin(), ns.end());
        s.max = *std::max_element(ns.begin(), ns.end());
        s.median = median(ns);
        s.cpuMedian = median(cpu);
        s.allocsMedian = median(allocs);
    }
    return s;
}

std::string ns(double v) {
    if (v < 10)
        return format("%.2f", v);
    if (v < 100)
        return format("%.1f", v);
    return format("%.0f", v);
}

std::string allocs(double v) {
    if (v == 0)
        return "0";
    if (v < 0.01)
        return format("%.4f", v);
    return format("%.2f", v);
}

// ---- targets of issue 4 ---------------------------------------------------------------------

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

const std::vector<Target> &targets() {
    static const std::vector<Target> all = {
        {"W1: QtChannel at least as fast as Go",
         "W1",
         Kind::SpeedupAtLeast,
         {"qtchannel", "go"},
         1.0},
        {"W1: QtChannel >= 2.5x faster than std::mutex + condvar deque",
         "W1",
         Kind::SpeedupAtLeast,
         {"qtchannel", "std-cv"},
         2.5},
        {"W2: QtChannel at least as fast as Go",
         "W2",
         Kind::SpeedupAtLeast,
         {"qtchannel", "go"},
         1.0},
        {"W2: QtChannel >= 2.5x faster than std::mutex + condvar deque",
         "W2",
         Kind::SpeedupAtLeast,
         {"qtchannel", "std-cv"},
         2.5},
        {"W3: capacity 1 no slower than the futex ping-pong floor",
         "W3",
         Kind::SpeedupAtLeast,
         {"qtchannel", "futex-floor"},
         1.0},
        {"W3: rendezvous no slower than the futex ping-pong floor",
         "W3",
         Kind::SpeedupAtLeast,
         {"qtchannel-rendezvous", "futex-floor"},
         1.0},
        {"W4: itemAvailable+tryGet within 1.2x of the coalesced deque",
         "W4",
         Kind::SpeedupAtLeast,
         {"qtchannel-drain", "coalesced"},
         1 / 1.2},
        {"W4: forEach within 1.2x of the coalesced deque",
         "W4",
         Kind::SpeedupAtLeast,
         {"qtchannel-foreach", "coalesced"},
         1 / 1.2},
        {"W4: itemAvailable+tryGet >= 25x faster than a queued signal per item",
         "W4",
         Kind::SpeedupAtLeast,
         {"qtchannel-drain", "queued-signal"},
         25},
        {"W4: forEach >= 25x faster than a queued signal per item",
         "W4",
         Kind::SpeedupAtLeast,
         {"qtchannel-foreach", "queued-signal"},
         25},
        {"W4: itemAvailable+tryGet peak memory bounded (<= 2 MiB growth)",
         "W4",
         Kind::RssAtMost,
         {"qtchannel-drain"},
         2},
        {"W4: forEach peak memory bounded (<= 2 MiB growth)",
         "W4",
         Kind::RssAtMost,
         {"qtchannel-foreach"},
         2},
        {"W5: futures at most 1x the Asio coroutine channel",
         "W5",
         Kind::SpeedupAtLeast,
         {"qtchannel-futures", "asio-coro"},
         1.0},
        {"W5: non-waiting within 1.5x of Asio try_send/try_receive",
         "W5",
         Kind::SpeedupAtLeast,
         {"qtchannel-nonwaiting", "asio-try"},
         1 / 1.5},
        {"W6: per-item cost flat (20%) from 1 to 10,000 pending gets",
         "W6",
         Kind::FlatWithin,
         {"arrive-1", "arrive-100", "arrive-10000"},
         1.2},
        {"W6: close() linear: per-waiter cost flat (20%) from 100 to 10,000",
         "W6",
         Kind::FlatWithin,
         {"close-100", "close-10000"},
         1.2},
        {"Allocations: none per item, W5 tryPut/tryGet",
         "W5",
         Kind::AllocsAtMost,
         {"qtchannel-nonwaiting"},
         0.01},
        {"Allocations: none per item, W4 itemAvailable+tryGet",
         "W4",
         Kind::AllocsAtMost,
         {"qtchannel-drain"},
         0.01},
        {"Allocations: none per item, W1 putBlocking/getBlocking",
         "W1",
         Kind::AllocsAtMost,
         {"qtchannel"},
         0.01},
        {"Allocations: at most 1 per pending get() future beyond Qt's own (created + served)",
         "W6",
         Kind::AllocsAtMost,
         {"pending-100", "arrive-100"},
         1,
         {"floor-create", "floor-settle"}},
    };
    return all;
}

struct Verdict {
    bool measured = false;
    double value = 0;
    bool met = false;
};

// ---- output ---------------------------------------------------------------------------------

std::string title(const std::string &workload) {
    static const std::map<std::string, std::string> titles = {
        {"W1", "W1 spsc: 1 producer thread -> 1 consumer thread, capacity 1024, blocking calls"},
        {"W2", "W2 mpmc: 2 producers, 2 consumers, capacity 1024"},
        {"W3", "W3 pingpong: 2 threads, 2 channels of capacity 1 (or rendezvous), echo"},
        {"W4", "W4 eventloop: std::thread producer -> consumer on the main thread's event loop"},
        {"W5", "W5 singlethread: producer and consumer on one thread's event loop, capacity 1024"},
        {"W6", "W6 waiters: 10,000 pending get() futures at a time, K per channel"},
    };
    const auto it = titles.find(workload);
    return it == titles.end() ? workload : it->second;
}

std::string thousands(qint64 v) {
    const std::string digits = std::to_string(v);
    std::string s;
    for (size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0)
            s += ',';
        s += digits[i];
    }
    return s;
}

struct Report {
    std::vector<Config> configs;
    std::map<std::pair<std::string, std::string>, Stats> stats;
    std::vector<std::string> workloads;
    std::map<std::string, std::string> machine;
    std::vector<std::pair<std::string, std::string>> machineOrder;
    DriverOptions options;

    const Stats *find(const std::string &w, const std::string &impl) const {
        const auto it = stats.find({w, impl});
        return it == stats.end() || it->second.good == 0 ? nullptr : &it->second;
    }

    Verdict judge(const Target &t) const {
        Verdict v;
        std::vector<const Stats *> s;
        for (const std::string &impl : t.impls) {
            const Stats *found = find(t.workload, impl);
            if (!found)
                return v;
            s.push_back(found);
        }
        v.measured = true;
        switch (t.kind) {
        case Kind::SpeedupAtLeast:
            v.value = s[1]->median / s[0]->median;
            v.met = v.value >= t.bound;
            break;
        case Kind::FlatWithin: {
            double lo = s[0]->median, hi = s[0]->median;
            for (const Stats *x : s) {
                lo = std::min(lo, x->median);
                hi = std::max(hi, x->median);
            }
            v.value = hi / lo;
            v.met = v.value <= t.bound;
            break;
        }
        case Kind::AllocsAtMost:
            for (const Stats *x : s)
                v.value += x->allocsMedian;
            for (const std::string &impl : t.floors) {
                const Stats *floor = find(t.workload, impl);
                if (!floor)
                    return Verdict();
                v.value -= floor->allocsMedian;
            }
            v.met = v.value <= t.bound;
            break;
        case Kind::RssAtMost:
            v.value = s[0]->rssMaxMiB;
            v.met = v.value <= t.bound;
            break;
        }
        return v;
    }

    std::string markdown() const {
        std::ostringstream md;
        md << "Machine: " << machine.at("cpu") << ", " << machine.at("cores") << " cores, Linux "
           << machine.at("kernel") << "; " << machine.at("compiler") << ", Qt " << machine.at("qt")
           << ", Boost " << machine.at("boost") << ", " << machine.at("go") << ". "
           << machine.at("date") << "; load average " << machine.at("load_before") << " before, "
           << machine.at("load_after") << " after.\n";
        md << (options.smoke ? "Smoke run (tiny sizes, correctness only): the times mean nothing.\n"
                             : "")
           << "Each configuration ran " << options.repetitions
           << (options.repetitions == 1 ? " time" : " times")
           << ", round-robin, each run in a fresh process. Times are wall-clock ns per "
              "item (W3: per round trip; W6: per waiter or item); CPU is the process's CPU time "
              "per item (all threads); allocs are heap allocations per item; peak RSS is the "
              "resident-set high-water mark minus the resident set before the run. "
              "**Bold** rows are QtChannel.\n";
        for (const std::string &w : workloads) {
            md << "\n### " << title(w) << "\n\n";
            md << "| implementation | size | median | min | max | CPU | allocs | peak RSS MiB |\n";
            md << "|---|---:|---:|---:|---:|---:|---:|---:|\n";
            std::vector<const Config *> subjects, peers;
            for (const Config &c : configs) {
                if (c.b->workload != w)
                    continue;
                (c.b->subject ? subjects : peers).push_back(&c);
                const Stats &s = stats.at({w, c.b->impl});
                const std::string name = c.b->subject ? "**" + c.b->label + "**" : c.b->label;
                if (s.good == 0) {
                    md << "| " << name << " (`" << c.b->impl << "`) | " << thousands(c.size)
                       << " | FAILED | | | | | |\n";
                    continue;
                }
                md << "| " << name << " (`" << c.b->impl << "`) | " << thousands(c.size) << " | "
                   << ns(s.median) << " | " << ns(s.min) << " | " << ns(s.max) << " | "
                   << ns(s.cpuMedian) << " | " << allocs(s.allocsMedian) << " | "
                   << format("%.1f", s.rssMaxMiB) << (s.failed ? " (some runs FAILED)" : "")
                   << " |\n";
            }
            if (subjects.empty() || peers.empty())
                continue;
            md << "\nQtChannel's speed-up (peer median / QtChannel median; above 1 QtChannel is "
                  "faster):\n\n| QtChannel \\ peer |";
            for (const Config *p : peers)
                md << " `" << p->b->impl << "` |";
            md << "\n|---|";
            for (size_t i = 0; i < peers.size(); ++i)
                md << "---:|";
            md << "\n";
            for (const Config *sub : subjects) {
                md << "| `" << sub->b->impl << "` |";
                const Stats *a = find(w, sub->b->impl);
                for (const Config *p : peers) {
                    const Stats *b = find(w, p->b->impl);
                    md << " " << (a && b ? format("%.2f", b->median / a->median) : "-") << " |";
                }
                md << "\n";
            }
        }
        md << "\n### Targets of issue 4\n\n| target | measured | bound | verdict |\n"
              "|---|---:|---:|---|\n";
        for (const Target &t : targets()) {
            const Verdict v = judge(t);
            std::string value, bound;
            switch (t.kind) {
            case Kind::SpeedupAtLeast:
                value = format("%.2fx", v.value);
                bound = format(">= %.2fx", t.bound);
                break;
            case Kind::FlatWithin:
                value = format("%.2f", v.value);
                bound = format("<= %.2f", t.bound);
                break;
            case Kind::AllocsAtMost:
                value = allocs(v.value);
                bound = format("<= %s", allocs(t.bound).c_str());
                break;
            case Kind::RssAtMost:
                value = format("%.1f MiB", v.value);
                bound = format("<= %.0f MiB", t.bound);
                break;
            }
            md << "| " << t.text << " | " << (v.measured ? value : "-") << " | " << bound << " | "
               << (!v.measured     ? "not measured"
                   : options.smoke ? "(smoke)"
                   : v.met         ? "met"
                                   : "**missed**")
               << " |\n";
        }
        return md.str();
    }
};

bool writeFile(const QString &path, const std::string &text) {
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate))
        return false;
    f.write(text.data(), qint64(text.size()));
    return true;
}

std::string loadAverage() {
    const std::string line = readFirstLine("/proc/loadavg", nullptr);
    std::istringstream in(line);
    std::string a, b, c;
    in >> a >> b >> c;
    return a + " " + b + " " + c;
}

} // namespace

// ---- the two entry points -------------------------------------------------------------------

int runOne(const std::string &workload, const std::string &impl, long long size) {
    for (const Benchmark &b : benchmarks()) {
        if (b.workload != workload || b.impl != impl)
            continue;
        if (!b.run) {
            std::fprintf(stderr, "qtchannel-bench: %s/%s is an external program\n",
                         workload.c_str(), impl.c_str());
            return 2;
        }
        // glibc's pthread mutexes skip their atomic instructions until a process creates its
        // first thread, which would hand the single-threaded runs (W5, W6) of mutex-based
        // peers a shortcut that no real Qt application (thread pool, QML, D-Bus threads) has.
        // One thread started and joined turns it off for every run alike.
        std::thread([] {}).join();
        Meter meter;
        Sample s = b.run(size > 0 ? size : b.size, meter);
        // The CI canary: proves that a wrong sum fails the run (and the whole benchmark).
        if (qEnvironmentVariableIsSet("QTCHANNEL_BENCH_PLANT_MISMATCH"))
            s.received += 1;
        std::printf("%s\n", resultLine(s, meter).c_str());
        std::fflush(stdout);
        if (s.sent != s.received) {
            std::fprintf(stderr, "qtchannel-bench: %s/%s: SUM MISMATCH: sent %lld, received %lld\n",
                         workload.c_str(), impl.c_str(), static_cast<long long>(s.sent),
                         static_cast<long long>(s.received));
            return 3;
        }
        return 0;
    }
    std::fprintf(stderr, "qtchannel-bench: no configuration %s/%s (see: qtchannel-bench list)\n",
                 workload.c_str(), impl.c_str());
    return 2;
}

int runAll(const DriverOptions &options) {
    const QString self = QCoreApplication::applicationFilePath();
    QString goProgram = qs(options.goProgram);
    if (goProgram.isEmpty())
        goProgram = QCoreApplication::applicationDirPath() + QStringLiteral("/qtchannel-bench-go");
    const bool haveGo = QFileInfo(goProgram).isExecutable();

    Report report;
    report.options = options;
    const QRegularExpression filter(qs(options.filter));
    if (!filter.isValid()) {
        std::fprintf(stderr, "qtchannel-bench: bad --filter\n");
        return 2;
    }
    for (const Benchmark &b : benchmarks()) {
        if (!filter.match(qs(b.workload + "/" + b.impl)).hasMatch())
            continue;
        if (!b.run && !haveGo) {
            std::fprintf(stderr, "qtchannel-bench: skipping %s/%s: no Go program at %s\n",
                         b.workload.c_str(), b.impl.c_str(), goProgram.toLocal8Bit().constData());
            continue;
        }
        const qint64 base = options.smoke ? b.smokeSize : b.size;
        report.configs.push_back(
            {&b, std::max<qint64>(1, qint64(std::llround(double(base) * options.scale))), {}});
        if (report.workloads.empty() || report.workloads.back() != b.workload)
            report.workloads.push_back(b.workload);
    }
    if (report.configs.empty()) {
        std::fprintf(stderr, "qtchannel-bench: nothing matches the filter\n");
        return 2;
    }

    // Machine facts, for the table's header.
    auto &m = report.machine;
    m["date"] = QDateTime::currentDateTimeUtc().toString(Qt::ISODate).toStdString();
    m["cpu"] = readFirstLine("/proc/cpuinfo", "model name");
    m["cores"] = std::to_string(std::thread::hardware_concurrency());
    utsname u{};
    ::uname(&u);
    m["kernel"] = u.release;
    m["compiler"] = std::string("g++ ") + __VERSION__;
#if !defined(__GNUC__) || defined(__clang__)
    m["compiler"] = std::string("clang ") + __clang_version__;
#endif
    m["qt"] = qVersion();
    m["boost"] = BOOST_LIB_VERSION;
    m["go"] = "no Go";
    if (haveGo) {
        QProcess go;
        go.start(goProgram, {QStringLiteral("version")});
        if (go.waitForFinished(30000))
            m["go"] = QString::fromLocal8Bit(go.readAllStandardOutput()).trimmed().toStdString();
    }
    m["load_before"] = loadAverage();
    m["mode"] = options.smoke ? "smoke" : "full";

    // Round-robin: every configuration once per round, so slow drifts in the machine's load
    // spread over all of them.
    int failures = 0;
    const int total = options.repetitions * int(report.configs.size());
    int done = 0;
    for (int rep = 0; rep < options.repetitions; ++rep) {
        for (Config &c : report.configs) {
            QString program = self;
            QStringList args;
            if (c.b->run) {
                args << QStringLiteral("run") << qs(c.b->workload) << qs(c.b->impl);
            } else {
                program = goProgram;
                for (const std::string &a : c.b->external)
                    args << qs(a);
            }
            args << QString::number(c.size);
            Run r = runChild(program, args, options.timeoutSeconds);
            ++done;
            if (r.ok()) {
                std::fprintf(stderr, "[%3d/%d] %s/%-24s %10s ns/%s\n", done, total,
                             c.b->workload.c_str(), c.b->impl.c_str(), ns(r.nsPerItem()).c_str(),
                             c.b->unit.c_str());
            } else {
                ++failures;
                std::fprintf(stderr, "[%3d/%d] %s/%-24s FAILED: %s\n", done, total,
                             c.b->workload.c_str(), c.b->impl.c_str(), r.error.c_str());
            }
            c.runs.push_back(std::move(r));
        }
    }
    m["load_after"] = loadAverage();

    for (const Config &c : report.configs)
        report.stats[{c.b->workload, c.b->impl}] = statsOf(c);

    // Outputs.
    const QString out = qs(options.outDir);
    QDir().mkpath(out);
    const std::string md = report.markdown();
    std::printf("\n%s\n", md.c_str());

    std::ostringstream raw;
    raw << "workload,impl,subject,rep,size,items,seconds,ns_per_item,cpu_ns_per_item,"
           "allocs_per_item,rss_before_kb,hwm_kb,status\n";
    std::ostringstream summary;
    summary << "workload,impl,subject,label,unit,size,runs,failed,median_ns,min_ns,max_ns,"
               "cpu_ns_median,allocs_per_item_median,peak_rss_growth_mib\n";
    QJsonArray results;
    for (const Config &c : report.configs) {
        for (size_t i = 0; i < c.runs.size(); ++i) {
            const Run &r = c.runs[i];
            raw << c.b->workload << ',' << c.b->impl << ',' << int(c.b->subject) << ',' << i + 1
                << ',' << c.size << ',' << r.items << ',' << format("%.9f", r.seconds) << ','
                << (r.ok() ? format("%.3f,%.3f,%.5f", r.nsPerItem(), r.cpuNsPerItem(),
                                    r.allocsPerItem())
                           : std::string(",,"))
                << ',' << r.rssBeforeKb << ',' << r.hwmKb << ','
                << (r.ok() ? std::string("ok") : '"' + r.error + '"') << '\n';
        }
        const Stats &s = report.stats.at({c.b->workload, c.b->impl});
        summary << c.b->workload << ',' << c.b->impl << ',' << int(c.b->subject) << ",\""
                << c.b->label << "\"," << c.b->unit << ',' << c.size << ',' << s.good + s.failed
                << ',' << s.failed << ','
                << format("%.3f,%.3f,%.3f,%.3f,%.5f,%.2f", s.median, s.min, s.max, s.cpuMedian,
                          s.allocsMedian, s.rssMaxMiB)
                << '\n';
        QJsonObject o;
        o[QStringLiteral("workload")] = qs(c.b->workload);
        o[QStringLiteral("impl")] = qs(c.b->impl);
        o[QStringLiteral("label")] = qs(c.b->label);
        o[QStringLiteral("subject")] = c.b->subject;
        o[QStringLiteral("unit")] = qs(c.b->unit);
        o[QStringLiteral("size")] = double(c.size);
        o[QStringLiteral("runs")] = s.good + s.failed;
        o[QStringLiteral("failed")] = s.failed;
        o[QStringLiteral("median_ns")] = s.median;
        o[QStringLiteral("min_ns")] = s.min;
        o[QStringLiteral("max_ns")] = s.max;
        o[QStringLiteral("cpu_ns_median")] = s.cpuMedian;
        o[QStringLiteral("allocs_per_item_median")] = s.allocsMedian;
        o[QStringLiteral("peak_rss_growth_mib")] = s.rssMaxMiB;
        QJsonArray all;
        for (const Run &r : c.runs)
            all.append(r.ok() ? QJsonValue(r.nsPerItem()) : QJsonValue(qs(r.error)));
        o[QStringLiteral("ns_per_run")] = all;
        results.append(o);
    }
    QJsonArray ratios;
    for (const std::string &w : report.workloads) {
        for (const Config &a : report.configs) {
            if (a.b->workload != w || !a.b->subject)
                continue;
            for (const Config &b : report.configs) {
                if (b.b->workload != w || b.b->subject)
                    continue;
                const Stats *sa = report.find(w, a.b->impl);
                const Stats *sb = report.find(w, b.b->impl);
                if (!sa || !sb)
                    continue;
                QJsonObject r;
                r[QStringLiteral("workload")] = qs(w);
                r[QStringLiteral("qtchannel")] = qs(a.b->impl);
                r[QStringLiteral("peer")] = qs(b.b->impl);
                r[QStringLiteral("speedup")] = sb->median / sa->median;
                ratios.append(r);
            }
        }
    }
    QJsonArray verdicts;
    for (const Target &t : targets()) {
        const Verdict v = report.judge(t);
        QJsonObject o;
        o[QStringLiteral("target")] = qs(t.text);
        o[QStringLiteral("measured")] = v.measured;
        o[QStringLiteral("value")] = v.value;
        o[QStringLiteral("bound")] = t.bound;
        o[QStringLiteral("met")] = v.measured && v.met;
        verdicts.append(o);
    }
    QJsonObject machine;
    for (const auto &[k, v] : report.machine)
        machine[qs(k)] = qs(v);
    QJsonObject root;
    root[QStringLiteral("machine")] = machine;
    root[QStringLiteral("repetitions")] = options.repetitions;
    root[QStringLiteral("results")] = results;
    root[QStringLiteral("speedups")] = ratios;
    root[QStringLiteral("targets")] = verdicts;

    // chart-W1.dat ... chart-W5.dat: impl, median, min, max, subject; chart-W6.dat: one row
    // per K. The first line of each is the panel's title; benchmarks/chart.gp draws them.
    std::vector<std::pair<QString, std::string>> charts;
    static const std::map<std::string, std::string> shortNames = {
        {"W1", "spsc"},      {"W2", "mpmc"},         {"W3", "pingpong"},
        {"W4", "eventloop"}, {"W5", "singlethread"}, {"W6", "waiters"}};
    for (const std::string &w : report.workloads) {
        std::ostringstream chart;
        if (w != "W6") {
            const Config *first = nullptr;
            for (const Config &c : report.configs) {
                if (c.b->workload == w && !first)
                    first = &c;
            }
            chart << "# " << w << ' ' << shortNames.at(w) << ", " << thousands(first->size)
                  << ": ns per " << first->b->unit << "\n";
            for (const Config &c : report.configs) {
                const Stats *s = report.find(w, c.b->impl);
                if (c.b->workload == w && s)
                    chart << '"' << c.b->impl << "\" "
                          << format("%.4f %.4f %.4f", s->median, s->min, s->max) << ' '
                          << int(c.b->subject) << '\n';
            }
        } else {
            const auto med = [&](const std::string &impl) {
                const Stats *s = report.find("W6", impl);
                return s ? format("%.4f", s->median) : std::string("NaN");
            };
            chart << "# W6 waiters: ns per waiter or item, by pending gets per channel (K)\n";
            for (const char *k : {"1", "100", "10000"}) {
                chart << k << ' ' << med(std::string("pending-") + k) << ' '
                      << med(std::string("arrive-") + k) << ' ' << med(std::string("close-") + k)
                      << ' ' << med("floor-create") << ' ' << med("floor-settle") << '\n';
            }
        }
        charts.emplace_back(out + QStringLiteral("/chart-") + qs(w) + QStringLiteral(".dat"),
                            chart.str());
    }
    bool written = true;
    for (const auto &[path, text] : charts)
        written = written && writeFile(path, text);

    written = written && writeFile(out + QStringLiteral("/table.md"), md) &&
              writeFile(out + QStringLiteral("/raw.csv"), raw.str()) &&
              writeFile(out + QStringLiteral("/summary.csv"), summary.str());
    QFile json(out + QStringLiteral("/summary.json"));
    written = written && json.open(QIODevice::WriteOnly | QIODevice::Truncate) &&
              json.write(QJsonDocument(root).toJson()) > 0;
    if (!written) {
        std::fprintf(stderr, "qtchannel-bench: cannot write the results to %s\n",
                     options.outDir.c_str());
        return 1;
    }
    std::fprintf(stderr, "qtchannel-bench: results in %s\n", options.outDir.c_str());
    if (failures) {
        std::fprintf(stderr, "qtchannel-bench: %d run(s) FAILED\n", failures);
        return 1;
    }
    return 0;
}

} // namespace Bench
