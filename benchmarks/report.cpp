// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

#include "report.h"
#include "targets.h"

#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QString>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <sstream>

namespace Bench {

std::string format(const char *fmt, ...) {
    char buf[1024];
    va_list args;
    va_start(args, fmt);
    std::vsnprintf(buf, sizeof buf, fmt, args);
    va_end(args);
    return buf;
}

namespace {

QString qs(const std::string &s) {
    return QString::fromStdString(s);
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string allocs(double v) {
    if (v == 0)
        return "0";
    if (v < 0.01)
        return format("%.4f", v);
    return format("%.2f", v);
}

std::string title(const std::string &workload) {
    static const std::map<std::string, std::string> titles = {
        {"W1", "W1 spsc: 1 producer thread -> 1 consumer thread, capacity 1024, blocking calls"},
        {"W2", "W2 mpmc: 2 producers, 2 consumers, capacity 1024"},
        {"W3", "W3 pingpong: 2 threads, 2 channels of capacity 1 (or rendezvous), echo"},
        {"W4", "W4 eventloop: std::thread producer -> consumer on the main thread's event loop"},
        {"W5", "W5 singlethread: producer and consumer on one thread's event loop, capacity 1024"},
        {"W6", "W6 waiters: 10,000 pending get() futures at a time, K per channel"},
        {"W7", "W7 select fan-in: 2 producer threads, 2 channels of capacity 1024, 1 consumer "
               "selecting over both"},
        {"W7b", "W7b select fan-in on the event loop: 2 producer threads, 1 consumer on the main "
                "thread's event loop"},
        {"W7c", "W7c select stop: a worker waits for a job or a stop command"},
        {"W9", "W9 conflated: a producer thread at full speed, a slow consumer on the event "
               "loop, only the latest value counts"},
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

bool writeFile(const QString &path, const std::string &text) {
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate))
        return false;
    f.write(text.data(), qint64(text.size()));
    return true;
}

} // namespace

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

const Stats *Report::find(const std::string &w, const std::string &impl) const {
    const auto it = stats.find({w, impl});
    return it == stats.end() || it->second.good == 0 ? nullptr : &it->second;
}

Verdict Report::judge(const Target &t) const {
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

std::string Report::markdown() const {
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
               << format("%.1f", s.rssMaxMiB) << (s.failed ? " (some runs FAILED)" : "") << " |\n";
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
    md << "\n### Targets\n\n| target | measured | bound | verdict |\n"
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

bool Report::write(const std::string &md) const {
    const QString out = qs(options.outDir);
    QDir().mkpath(out);
    std::ostringstream raw;
    raw << "workload,impl,subject,rep,size,items,seconds,ns_per_item,cpu_ns_per_item,"
           "allocs_per_item,rss_before_kb,hwm_kb,status\n";
    std::ostringstream summary;
    summary << "workload,impl,subject,label,unit,size,runs,failed,median_ns,min_ns,max_ns,"
               "cpu_ns_median,allocs_per_item_median,peak_rss_growth_mib\n";
    QJsonArray results;
    for (const Config &c : configs) {
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
        const Stats &s = stats.at({c.b->workload, c.b->impl});
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
    for (const std::string &w : workloads) {
        for (const Config &a : configs) {
            if (a.b->workload != w || !a.b->subject)
                continue;
            for (const Config &b : configs) {
                if (b.b->workload != w || b.b->subject)
                    continue;
                const Stats *sa = find(w, a.b->impl);
                const Stats *sb = find(w, b.b->impl);
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
        const Verdict v = judge(t);
        QJsonObject o;
        o[QStringLiteral("target")] = qs(t.text);
        o[QStringLiteral("measured")] = v.measured;
        o[QStringLiteral("value")] = v.value;
        o[QStringLiteral("bound")] = t.bound;
        o[QStringLiteral("met")] = v.measured && v.met;
        verdicts.append(o);
    }
    QJsonObject facts;
    for (const auto &[k, v] : machine)
        facts[qs(k)] = qs(v);
    QJsonObject root;
    root[QStringLiteral("machine")] = facts;
    root[QStringLiteral("repetitions")] = options.repetitions;
    root[QStringLiteral("results")] = results;
    root[QStringLiteral("speedups")] = ratios;
    root[QStringLiteral("targets")] = verdicts;

    // chart-W1.dat ... chart-W5.dat: impl, median, min, max, subject; chart-W6.dat: one row
    // per K. The first line of each is the panel's title; benchmarks/chart.gp draws them.
    std::vector<std::pair<QString, std::string>> charts;
    static const std::map<std::string, std::string> shortNames = {
        {"W1", "spsc"},          {"W2", "mpmc"},
        {"W3", "pingpong"},      {"W4", "eventloop"},
        {"W5", "singlethread"},  {"W6", "waiters"},
        {"W7", "select fan-in"}, {"W7b", "select event loop"},
        {"W7c", "select stop"},  {"W9", "conflated"}};
    for (const std::string &w : workloads) {
        std::ostringstream chart;
        if (w != "W6") {
            const Config *first = nullptr;
            for (const Config &c : configs) {
                if (c.b->workload == w && !first)
                    first = &c;
            }
            chart << "# " << w << ' ' << shortNames.at(w) << ", " << thousands(first->size)
                  << ": ns per " << first->b->unit << "\n";
            for (const Config &c : configs) {
                const Stats *s = find(w, c.b->impl);
                if (c.b->workload == w && s)
                    chart << '"' << c.b->impl << "\" "
                          << format("%.4f %.4f %.4f", s->median, s->min, s->max) << ' '
                          << int(c.b->subject) << '\n';
            }
        } else {
            const auto med = [&](const std::string &impl) {
                const Stats *s = find("W6", impl);
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
    return written;
}

} // namespace Bench
