// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

// The bytes the process has allocated and not freed: from the sanitizer's allocator when one
// is linked in, from glibc's malloc otherwise. For "memory does not grow" checks.

#include <QtCore/QByteArray>

#include <cstddef>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
// From the sanitizer runtime (gcc ships no header for it; clang's is allocator_interface.h).
extern "C" std::size_t __sanitizer_get_current_allocated_bytes();
#else
#include <malloc.h>
#endif

namespace Rel {

inline std::size_t heapInUse() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    return __sanitizer_get_current_allocated_bytes();
#else
    return mallinfo2().uordblks;
#endif
}

// QTCHANNEL_STRESS_SCALE (a factor, default 1) scales the loops of the reliability suites,
// e.g. down for valgrind (scripts/memcheck.sh) or up for longer local runs. Without it,
// sanitizer builds use the given defaults.
inline double loadScale(double underTsan = 0.1, double underAsan = 0.1) {
    const QByteArray env = qgetenv("QTCHANNEL_STRESS_SCALE");
    bool ok = false;
    const double v = env.toDouble(&ok);
    if (ok && v > 0)
        return v;
    Q_UNUSED(underTsan);
    Q_UNUSED(underAsan);
#if defined(__SANITIZE_THREAD__)
    return underTsan;
#elif defined(__SANITIZE_ADDRESS__)
    return underAsan;
#else
    return 1;
#endif
}

} // namespace Rel
