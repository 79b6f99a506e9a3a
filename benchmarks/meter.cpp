// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#include "harness.h"

#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace Bench {

namespace {

// A "VmRSS:"-style field of /proc/self/status in kB, read without allocating.
qint64 statusKb(const char *field) {
    const int fd = ::open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char buf[4096];
    const ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    const char *at = std::strstr(buf, field);
    return at ? std::atoll(at + std::strlen(field)) : -1;
}

double cpuNow() {
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    const auto secs = [](const timeval &tv) {
        return double(tv.tv_sec) + double(tv.tv_usec) / 1e6;
    };
    return secs(ru.ru_utime) + secs(ru.ru_stime);
}

} // namespace

// The order keeps each probe out of the others: the clock is read innermost, and the
// allocation count does not see the /proc read.
void Meter::start() {
    if (m_rssBeforeKb < 0)
        m_rssBeforeKb = statusKb("VmRSS:");
    m_cpu0 = cpuNow();
    m_allocs0 = Bench::allocations();
    m_t0 = std::chrono::steady_clock::now();
}

void Meter::stop() {
    const auto t1 = std::chrono::steady_clock::now();
    const std::uint64_t allocs1 = Bench::allocations();
    const double cpu1 = cpuNow();
    m_seconds += std::chrono::duration<double>(t1 - m_t0).count();
    m_allocations += allocs1 - m_allocs0;
    m_cpuSeconds += cpu1 - m_cpu0;
    m_hwmKb = statusKb("VmHWM:");
}

void fail(const char *what) {
    std::fprintf(stderr, "qtchannel-bench: FAILED: %s\n", what);
    std::fflush(stderr);
    std::_Exit(3);
}

} // namespace Bench
