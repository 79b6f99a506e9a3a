// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

// Internal header: not part of the public API.

#include <QtCore/qglobal.h>

#include <cstddef>
#include <memory>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

namespace QtChannel::detail {

/*
 * What the untyped core needs to know about an item type: its size and alignment, whether it
 * may use the lock-free ring, and three operations. Channel<T> hands ChannelBase one static
 * table per T; everything below the fast paths moves items through it.
 */
struct ItemOps {
    std::size_t size;
    std::size_t align;
    // Items move through the lock-free ring only if moving them cannot throw: a transfer
    // that has claimed a slot cannot be undone.
    bool viaRing;
    // Constructs a T at `to` from the T at `from`, moving when that cannot throw and copying
    // otherwise when T is copyable (std::move_if_noexcept). If it throws, `from` is unchanged
    // (for a type whose move may throw and that cannot be copied: as unchanged as T's move
    // leaves it).
    void (*construct)(void *to, void *from);
    void (*destroy)(void *item) noexcept;
    // Copy-constructs; null when T is not copyable.
    void (*copy)(void *to, const void *from);
};

template <typename T> struct ItemOpsOf {
    static void construct(void *to, void *from) {
        ::new (to) T(std::move_if_noexcept(*std::launder(static_cast<T *>(from))));
    }
    static void destroy(void *item) noexcept { std::launder(static_cast<T *>(item))->~T(); }
    static void copy(void *to, const void *from) requires std::is_copy_constructible_v<T> {
        ::new (to) T(*std::launder(static_cast<const T *>(from)));
    }
    static constexpr auto copyOrNull() noexcept {
        if constexpr (std::is_copy_constructible_v<T>)
            return &copy;
        else
            return static_cast<void (*)(void *, const void *)>(nullptr);
    }
    static constexpr ItemOps ops = {
        sizeof(T),
        alignof(T),
        std::is_nothrow_move_constructible_v<T> &&std::is_nothrow_destructible_v<T>,
        &construct,
        &destroy,
        copyOrNull(),
    };
};

} // namespace QtChannel::detail
