// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

// Internal header: not part of the public API.

#include <QtCore/qglobal.h>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace QtChannel::detail {

/*
 * A FIFO of T in one growable circular array: O(1) push and pop, and no allocation once it
 * has grown to the channel's working size (std::deque allocates a block every few items as it
 * moves through memory). T need not be default-constructible or copyable.
 *
 * Exception safety: push() and growth give the strong guarantee (growth copies when T's move
 * may throw, like std::vector); frontRef()/popFront() never throw.
 * Not thread-safe: the channel guards it with its lock.
 */
template <typename T> class RingBuffer {
public:
    RingBuffer() noexcept = default;
    RingBuffer(const RingBuffer &) = delete;
    RingBuffer &operator=(const RingBuffer &) = delete;
    RingBuffer(RingBuffer &&other) noexcept { swap(other); }
    RingBuffer &operator=(RingBuffer &&other) noexcept {
        RingBuffer(std::move(other)).swap(*this);
        return *this;
    }
    ~RingBuffer() {
        clear();
        deallocate(m_data, m_allocated);
    }

    void swap(RingBuffer &other) noexcept {
        std::swap(m_data, other.m_data);
        std::swap(m_allocated, other.m_allocated);
        std::swap(m_head, other.m_head);
        std::swap(m_size, other.m_size);
    }

    qsizetype size() const noexcept { return m_size; }
    bool isEmpty() const noexcept { return m_size == 0; }
    qsizetype allocated() const noexcept { return m_allocated; }

    // Appends a T constructed from `value`. `limit` caps the growth (the channel's capacity).
    template <typename U> void push(U &&value, qsizetype limit) {
        if (m_size == m_allocated)
            grow(limit);
        ::new (static_cast<void *>(slot(m_size))) T(std::forward<U>(value));
        ++m_size;
    }

    T &front() noexcept { return *slot(0); }

    void popFront() noexcept {
        slot(0)->~T();
        m_head = m_head + 1 == m_allocated ? 0 : m_head + 1;
        if (--m_size == 0)
            m_head = 0; // keeps an emptied buffer's next pushes contiguous
    }

    void clear() noexcept {
        while (m_size)
            popFront();
    }

    // Oldest first.
    template <typename F> void forEach(F &&f) const {
        for (qsizetype i = 0; i < m_size; ++i)
            f(*slot(i));
    }

private:
    T *slot(qsizetype i) const noexcept {
        qsizetype index = m_head + i;
        if (index >= m_allocated)
            index -= m_allocated;
        return m_data + index;
    }

    static T *allocate(qsizetype n) {
        return static_cast<T *>(
            ::operator new(sizeof(T) * size_t(n), std::align_val_t(alignof(T))));
    }
    static void deallocate(T *p, qsizetype) noexcept {
        if (p)
            ::operator delete(p, std::align_val_t(alignof(T)));
    }

    void grow(qsizetype limit) {
        static constexpr qsizetype MinAllocation = 16;
        qsizetype n = std::max(MinAllocation, m_allocated * 2);
        if (limit > 0 && n > limit)
            n = std::max(limit, m_allocated + 1);
        T *data = allocate(n);
        qsizetype constructed = 0;
        try {
            for (; constructed < m_size; ++constructed)
                ::new (static_cast<void *>(data + constructed))
                    T(std::move_if_noexcept(*slot(constructed)));
        } catch (...) {
            for (qsizetype i = 0; i < constructed; ++i)
                data[i].~T();
            deallocate(data, n);
            throw;
        }
        const qsizetype size = m_size;
        clear();
        deallocate(m_data, m_allocated);
        m_data = data;
        m_allocated = n;
        m_head = 0;
        m_size = size;
    }

    T *m_data = nullptr;
    qsizetype m_allocated = 0;
    qsizetype m_head = 0;
    qsizetype m_size = 0;
};

} // namespace QtChannel::detail
