// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// The driver: runs every configuration round-robin in child processes and hands the runs to
// the report (report.h), which aggregates them, judges the targets (targets.h) and writes the
// results.

#include "driver.h"
#include "harness.h"
#include "report.h"

#include <QtCore/QCoreApplication>
#include <QtCore/QDateTime>
#include <QtCore/QFileInfo>
#include <QtCore/QProcess>
#include <QtCore/QRegularExpression>

#include <boost/version.hpp>
#include <sys/utsname.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

namespace Bench {

namespace {

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
    const std::string md = report.markdown();
    std::printf("\n%s\n", md.c_str());
    if (!report.write(md)) {
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
