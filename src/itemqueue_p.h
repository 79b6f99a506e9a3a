// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

//
//  W A R N I N G
//  -------------
//
// This file is not part of the QtChannel API. It exists purely as an implementation detail.
// This header file may change from version to version without notice, or even be removed.
//

#include "QtChannel/detail/itemops.h"

#include <QtCore/qglobal.h>

#include <algorithm>
#include <cstddef>
#include <new>
#include <utility>

namespace QtChannel::detail {

/*
 * A FIFO of items of one type, known only through its ItemOps, in one growable circular array:
 * O(1) push at either end and pop at the front, and no allocation once it has grown to the
 * channel's working size. The channel keeps two: the items given back before the ring, and
 * the items behind it.
 *
 * Exception safety: pushes and growth give the strong guarantee (growth copies when the
 * type's move may throw, as std::vector does); pops never throw.
 * Not thread-safe: the channel guards it with its lock.
 */
class ItemQueue {
public:
    explicit ItemQueue(const ItemOps &ops) noexcept
        : m_ops(&ops) {}
    ItemQueue(const ItemQueue &) = delete;
    ItemQueue &operator=(const ItemQueue &) = delete;
    ~ItemQueue() {
        clear();
        release(m_data);
    }

    void swap(ItemQueue &other) noexcept {
        std::swap(m_ops, other.m_ops);
        std::swap(m_data, other.m_data);
        std::swap(m_allocated, other.m_allocated);
        std::swap(m_head, other.m_head);
        std::swap(m_size, other.m_size);
    }

    qsizetype size() const noexcept { return m_size; }
    bool isEmpty() const noexcept { return m_size == 0; }
    void *front() const noexcept { return at(0); }
    void *at(qsizetype i) const noexcept { return m_data + index(i) * m_ops->size; }

    // Appends an item constructed from `from` (ItemOps::construct). `limit` caps the growth
    // (the channel's capacity; 0: none).
    void pushBack(void *from, qsizetype limit = 0) {
        if (m_size == m_allocated)
            grow(limit);
        m_ops->construct(at(m_size), from);
        ++m_size;
    }
    // Prepends an item constructed from `from`.
    void pushFront(void *from) {
        if (m_size == m_allocated)
            grow(0);
        const qsizetype head = m_head == 0 ? m_allocated - 1 : m_head - 1;
        m_ops->construct(m_data + head * m_ops->size, from);
        m_head = head;
        ++m_size;
    }
    // Destroys the front item.
    void popFront() noexcept {
        m_ops->destroy(front());
        m_head = m_head + 1 == m_allocated ? 0 : m_head + 1;
        if (--m_size == 0)
            m_head = 0; // keeps an emptied queue's next pushes contiguous
    }
    void clear() noexcept {
        while (m_size)
            popFront();
    }

private:
    qsizetype index(qsizetype i) const noexcept {
        const qsizetype n = m_head + i;
        return n >= m_allocated ? n - m_allocated : n;
    }
    std::byte *allocate(qsizetype n) const {
        return static_cast<std::byte *>(
            ::operator new(std::size_t(n) * m_ops->size, std::align_val_t(m_ops->align)));
    }
    void release(std::byte *p) const noexcept {
        if (p)
            ::operator delete(p, std::align_val_t(m_ops->align));
    }

    void grow(qsizetype limit) {
        static constexpr qsizetype MinAllocation = 16;
        qsizetype n = std::max(MinAllocation, m_allocated * 2);
        if (limit > 0 && n > limit)
            n = std::max(limit, m_allocated + 1);
        std::byte *data = allocate(n);
        qsizetype constructed = 0;
        try {
            for (; constructed < m_size; ++constructed)
                m_ops->construct(data + constructed * m_ops->size, at(constructed));
        } catch (...) {
            for (qsizetype i = 0; i < constructed; ++i)
                m_ops->destroy(data + i * m_ops->size);
            release(data);
            throw;
        }
        const qsizetype size = m_size;
        clear();
        release(m_data);
        m_data = data;
        m_allocated = n;
        m_head = 0;
        m_size = size;
    }

    const ItemOps *m_ops;
    std::byte *m_data = nullptr;
    qsizetype m_allocated = 0;
    qsizetype m_head = 0;
    qsizetype m_size = 0;
};

} // namespace QtChannel::detail
