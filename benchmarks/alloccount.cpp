// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// A counting allocator for the benchmark binary: every global operator new and delete is
// replaced, and so are malloc, calloc, realloc and free (glibc lets a program replace them;
// Qt's containers call malloc directly). Each forwards to glibc's allocator and counts the
// allocation. Counting must not disturb what it counts: every thread increments its own
// cache line with a plain load and store (no locked instruction), and allocations() sums the
// lines. A run reads the sum only while its other threads are not running or do not matter.

#include "harness.h"

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

extern "C" {
void *__libc_malloc(std::size_t size) noexcept;
void *__libc_calloc(std::size_t n, std::size_t size) noexcept;
void *__libc_realloc(void *p, std::size_t size) noexcept;
void *__libc_memalign(std::size_t alignment, std::size_t size) noexcept;
void __libc_free(void *p) noexcept;
}

namespace {

constexpr int Slots = 64;

struct alignas(64) Slot {
    std::atomic<std::uint64_t> count{0};
};

Slot g_slots[Slots];
std::atomic<int> g_nextSlot{0};
thread_local int t_slot = -1; // constant-initialised: no allocation, safe inside malloc

inline void countOne() noexcept {
    int slot = t_slot;
    if (slot < 0) {
        slot = g_nextSlot.fetch_add(1, std::memory_order_relaxed);
        if (slot >= Slots - 1)
            slot = Slots - 1; // threads beyond the 63rd share the last line
        t_slot = slot;
    }
    std::atomic<std::uint64_t> &c = g_slots[slot].count;
    if (slot == Slots - 1)
        c.fetch_add(1, std::memory_order_relaxed);
    else
        c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

void *allocate(std::size_t size) {
    countOne();
    if (void *p = __libc_malloc(size ? size : 1))
        return p;
    throw std::bad_alloc();
}

void *allocateAligned(std::size_t size, std::align_val_t alignment) {
    countOne();
    if (void *p = __libc_memalign(static_cast<std::size_t>(alignment), size ? size : 1))
        return p;
    throw std::bad_alloc();
}

} // namespace

std::uint64_t Bench::allocations() noexcept {
    std::uint64_t total = 0;
    for (const Slot &s : g_slots)
        total += s.count.load(std::memory_order_relaxed);
    return total;
}

extern "C" {
void *malloc(std::size_t size) noexcept {
    countOne();
    return __libc_malloc(size);
}
void *calloc(std::size_t n, std::size_t size) noexcept {
    countOne();
    return __libc_calloc(n, size);
}
void *realloc(void *p, std::size_t size) noexcept {
    countOne();
    return __libc_realloc(p, size);
}
void free(void *p) noexcept {
    __libc_free(p);
}
}

void *operator new(std::size_t size) {
    return allocate(size);
}
void *operator new[](std::size_t size) {
    return allocate(size);
}
void *operator new(std::size_t size, const std::nothrow_t &) noexcept {
    countOne();
    return __libc_malloc(size ? size : 1);
}
void *operator new[](std::size_t size, const std::nothrow_t &) noexcept {
    countOne();
    return __libc_malloc(size ? size : 1);
}
void *operator new(std::size_t size, std::align_val_t alignment) {
    return allocateAligned(size, alignment);
}
void *operator new[](std::size_t size, std::align_val_t alignment) {
    return allocateAligned(size, alignment);
}
void *operator new(std::size_t size, std::align_val_t alignment, const std::nothrow_t &) noexcept {
    countOne();
    return __libc_memalign(static_cast<std::size_t>(alignment), size ? size : 1);
}
void *operator new[](std::size_t size, std::align_val_t alignment,
                     const std::nothrow_t &) noexcept {
    countOne();
    return __libc_memalign(static_cast<std::size_t>(alignment), size ? size : 1);
}

void operator delete(void *p) noexcept {
    __libc_free(p);
}
void operator delete[](void *p) noexcept {
    __libc_free(p);
}
void operator delete(void *p, std::size_t) noexcept {
    __libc_free(p);
}
void operator delete[](void *p, std::size_t) noexcept {
    __libc_free(p);
}
void operator delete(void *p, std::align_val_t) noexcept {
    __libc_free(p);
}
void operator delete[](void *p, std::align_val_t) noexcept {
    __libc_free(p);
}
void operator delete(void *p, std::size_t, std::align_val_t) noexcept {
    __libc_free(p);
}
void operator delete[](void *p, std::size_t, std::align_val_t) noexcept {
    __libc_free(p);
}
void operator delete(void *p, const std::nothrow_t &) noexcept {
    __libc_free(p);
}
void operator delete[](void *p, const std::nothrow_t &) noexcept {
    __libc_free(p);
}
void operator delete(void *p, std::align_val_t, const std::nothrow_t &) noexcept {
    __libc_free(p);
}
void operator delete[](void *p, std::align_val_t, const std::nothrow_t &) noexcept {
    __libc_free(p);
}
