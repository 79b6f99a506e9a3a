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

// QTCHANNEL_STRESS_SCALE (a factor, default 1; 0.3 under TSan, 0.1 under ASan) scales the loops of the
// reliability suites, e.g. for valgrind (scripts/memcheck.sh) or longer local runs.
inline double loadScale() {
    const QByteArray env = qgetenv("QTCHANNEL_STRESS_SCALE");
    bool ok = false;
    const double v = env.toDouble(&ok);
    if (ok && v > 0)
        return v;
#if defined(__SANITIZE_THREAD__)
    return 0.3;
#elif defined(__SANITIZE_ADDRESS__)
    return 0.1;
#else
    return 1;
#endif
}

} // namespace Rel
