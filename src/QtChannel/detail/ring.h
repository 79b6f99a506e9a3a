// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

// Internal header: not part of the public API. Channel<T>'s inline fast paths need it.

#include <QtChannel/detail/lock.h>

#include <QtCore/qglobal.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <new>

namespace QtChannel::detail {

/*
 * The lock-free ring at the front of a channel: Vyukov's bounded multi-producer,
 * multi-consumer queue, with flags in its two indices that send the fast paths to the lock.
 *
 * The protocol is written once, here, for every path that touches the ring: the inline fast
 * paths of Channel<T> (claim a slot, construct or move the item, publish or release) and the
 * slow paths under the channel's lock (the same steps, ignoring the flags, waiting for fast
 * operations that claimed a slot and have not yet filled or emptied it). Cells have a runtime
 * stride, so the ring itself knows nothing of the item type.
 *
 * A cell is a sequence number followed by the item. A put with ticket t may fill it when
 * seq == 2t, a get with ticket t may empty it when seq == 2t + 1, and emptying it sets seq to
 * 2(t + size), the next lap's put. (Doubled so that a ring of one slot works: Vyukov's t / t + 1
 * cannot tell "full" from "empty for the next lap" with one slot.)
 *
 * The tail and the head count tickets in their low 62 bits. WaitBit in the head stops fast
 * gets (gets wait in line, items were given back before the ring, or the lock holds the head);
 * WaitBit in the tail stops fast puts (items or puts wait behind the ring); ClosedBit in the
 * tail stops every put once the channel is closed. A flag set with a read-modify-write of the
 * word a fast path swaps makes any later compare-and-swap of that path fail, so no fast
 * operation slips past a flag. `flags` mirrors the reasons, for the fast paths to read after
 * their compare-and-swap (see docs/design.md, "A lock-free ring first").
 */
class Ring {
public:
    static constexpr quint64 TicketMask = (quint64(1) << 62) - 1;
    static constexpr quint64 ClosedBit = quint64(1) << 62;
    static constexpr quint64 WaitBit = quint64(1) << 63;
    static constexpr qsizetype MaxSlots = 1024;

    // Why the fast paths must take the lock (bits of `flags`).
    enum Flag : quint32 {
        GetsWaiting = 1, // gets wait in line: a put hands its item to the first one
        Backlog = 2,     // items or puts wait behind the ring: a put queues behind them
        Closed = 4,      // closed: a get that empties the ring may finish the channel
        HeadHeld = 8,    // items before the ring, or the lock is taking from the head
    };

    enum class Step : quint8 { Ok, Full, Empty, Slow };

    // A ring of `slotCount` cells (0: no ring) for items of `itemSize` bytes aligned to
    // `itemAlign`.
    Ring(qsizetype slotCount, std::size_t itemSize, std::size_t itemAlign) noexcept
        : m_slots(slotCount)
        , m_mask(isPowerOfTwo(slotCount) ? quint64(slotCount - 1) : 0)
        , m_pow2(isPowerOfTwo(slotCount))
        , m_cellAlign(quint32(std::max(alignof(std::atomic<quint64>), itemAlign)))
        , m_itemOffset(quint32(roundUp(sizeof(std::atomic<quint64>), itemAlign)))
        , m_stride(quint32(roundUp(m_itemOffset + itemSize, m_cellAlign))) {}
    Ring(const Ring &) = delete;
    Ring &operator=(const Ring &) = delete;

    qsizetype slotCount() const noexcept { return m_slots; }
    bool exists() const noexcept { return m_slots > 0; }
    std::byte *cells() const noexcept { return m_cells.load(std::memory_order_acquire); }
    quint32 flags() const noexcept { return m_flags.load(std::memory_order_relaxed); }
    // The flags as a fast path reads them right after its compare-and-swap: a lock holder that
    // raised a flag before that swap is seen, one that raises it later sees the swap.
    quint32 flagsAfterClaim() const noexcept { return m_flags.load(std::memory_order_seq_cst); }

    static constexpr quint64 ticketOf(quint64 word) noexcept { return word & TicketMask; }
    quint64 tailTicket() const noexcept { return ticketOf(m_tail.load(std::memory_order_relaxed)); }
    std::byte *cellAt(std::byte *cells, quint64 ticket) const noexcept {
        const quint64 slot = m_pow2 ? (ticket & m_mask) : (ticket % quint64(m_slots));
        return cells + slot * m_stride;
    }
    // The cells of consecutive tickets, from `ticket` on: a batch walks them with an add and a
    // compare per cell instead of a division and a multiplication.
    class Cursor {
    public:
        Cursor(const Ring &ring, std::byte *cells, quint64 ticket) noexcept
            : m_cell(ring.cellAt(cells, ticket))
            , m_first(cells)
            , m_end(cells + std::size_t(ring.m_slots) * ring.m_stride)
            , m_stride(ring.m_stride) {}
        std::byte *cell() const noexcept { return m_cell; }
        void next() noexcept {
            m_cell += m_stride;
            if (m_cell == m_end)
                m_cell = m_first;
        }

    private:
        std::byte *m_cell;
        std::byte *const m_first;
        std::byte *const m_end;
        const quint32 m_stride;
    };
    static std::atomic<quint64> &seqOf(std::byte *cell) noexcept {
        return *reinterpret_cast<std::atomic<quint64> *>(cell);
    }
    void *itemOf(std::byte *cell) const noexcept { return cell + m_itemOffset; }

    // Items in the ring, counting puts that claimed a slot and have not yet filled it. The tail
    // is read first: tail - head never exceeds the slots at any instant, and the head only
    // grows, so an older tail minus a newer head stays within it too.
    qsizetype count() const noexcept {
        const quint64 tail = ticketOf(m_tail.load(std::memory_order_seq_cst));
        const quint64 head = ticketOf(m_head.load(std::memory_order_seq_cst));
        return tail > head ? qsizetype(tail - head) : 0;
    }

    // --- puts ------------------------------------------------------------------------------
    // Claims the slot of the next put. Fast (Locked = false): Slow when a flag says the lock
    // must decide. Under the lock (Locked = true): the flags are the lock's own business, and a
    // slot that a fast get claimed and is still emptying is waited for. Full: no free slot.
    // On Ok, the caller constructs the item at itemOf(cell), then calls publish().
    template <bool Locked>
    Step claimPut(std::byte *cells, quint64 &ticket, std::byte *&cell) noexcept {
        quint64 t = m_tail.load(Locked ? std::memory_order_seq_cst : std::memory_order_relaxed);
        for (Backoff backoff;;) {
            if constexpr (!Locked) {
                if (t & (WaitBit | ClosedBit))
                    return Step::Slow;
            } else if (ticketOf(t) - ticketOf(m_head.load(std::memory_order_seq_cst)) >=
                       quint64(m_slots)) {
                return Step::Full;
            }
            std::byte *c = cellAt(cells, ticketOf(t));
            const qint64 diff = qint64(seqOf(c).load(std::memory_order_acquire) - 2 * ticketOf(t));
            if (diff == 0) {
                if (m_tail.compare_exchange_weak(t, t + 1, std::memory_order_seq_cst,
                                                 std::memory_order_relaxed)) {
                    ticket = ticketOf(t);
                    cell = c;
                    return Step::Ok;
                }
            } else if (diff < 0) {
                if constexpr (!Locked)
                    return Step::Full; // the slot still holds the previous lap's item
                backoff.pause();       // a get claimed that item and is moving it out
                t = m_tail.load(std::memory_order_seq_cst);
            } else {
                t = m_tail.load(std::memory_order_relaxed);
            }
        }
    }
    static void publish(std::byte *cell, quint64 ticket) noexcept {
        seqOf(cell).store(2 * ticket + 1, std::memory_order_release);
    }

    // Claims up to `max` consecutive free slots for puts with one compare-and-swap, fast path
    // only. Returns how many (0 when a flag says Slow or the ring is full; `slow` tells which);
    // the caller fills tickets [ticket, ticket + n) and publishes each.
    qsizetype claimPuts(std::byte *cells, qsizetype max, quint64 &ticket, bool &slow) noexcept {
        quint64 t = m_tail.load(std::memory_order_relaxed);
        for (;;) {
            if (t & (WaitBit | ClosedBit)) {
                slow = true;
                return 0;
            }
            qsizetype n = 0;
            for (Cursor c(*this, cells, ticketOf(t)); n < max; ++n, c.next()) {
                const quint64 tn = ticketOf(t) + quint64(n);
                if (seqOf(c.cell()).load(std::memory_order_acquire) != 2 * tn)
                    break;
            }
            if (n == 0) {
                slow = false;
                return 0;
            }
            if (m_tail.compare_exchange_weak(t, t + quint64(n), std::memory_order_seq_cst,
                                             std::memory_order_relaxed)) {
                ticket = ticketOf(t);
                return n;
            }
        }
    }

    // --- gets ------------------------------------------------------------------------------
    // Claims the slot of the next get, fast path only. Slow: the head is held (gets wait, or
    // items were given back before the ring). On Ok, the caller moves the item out of
    // itemOf(cell), destroys it, then calls release().
    Step claimGet(std::byte *cells, quint64 &ticket, std::byte *&cell) noexcept {
        quint64 h = m_head.load(std::memory_order_relaxed);
        for (;;) {
            if (h & WaitBit)
                return Step::Slow;
            std::byte *c = cellAt(cells, h);
            const qint64 diff = qint64(seqOf(c).load(std::memory_order_acquire) - (2 * h + 1));
            if (diff == 0) {
                if (m_head.compare_exchange_weak(h, h + 1, std::memory_order_seq_cst,
                                                 std::memory_order_relaxed)) {
                    ticket = h;
                    cell = c;
                    return Step::Ok;
                }
            } else if (diff < 0) {
                return Step::Empty; // nothing there, or a put is still filling it
            } else {
                h = m_head.load(std::memory_order_relaxed);
            }
        }
    }
    // Claims up to `max` consecutive filled slots with one compare-and-swap, fast path only.
    qsizetype claimGets(std::byte *cells, qsizetype max, quint64 &ticket, bool &slow) noexcept {
        quint64 h = m_head.load(std::memory_order_relaxed);
        for (;;) {
            if (h & WaitBit) {
                slow = true;
                return 0;
            }
            qsizetype n = 0;
            for (Cursor c(*this, cells, h); n < max; ++n, c.next()) {
                const quint64 hn = h + quint64(n);
                if (seqOf(c.cell()).load(std::memory_order_acquire) != 2 * hn + 1)
                    break;
            }
            if (n == 0) {
                slow = false;
                return 0;
            }
            if (m_head.compare_exchange_weak(h, h + quint64(n), std::memory_order_seq_cst,
                                             std::memory_order_relaxed)) {
                ticket = h;
                return n;
            }
        }
    }
    void release(std::byte *cell, quint64 ticket) const noexcept {
        seqOf(cell).store(2 * (ticket + quint64(m_slots)), std::memory_order_release);
    }

    // --- the head under the lock -------------------------------------------------------------
    // While the head is held (WaitBit set), only the lock holder moves it, so it can look at
    // the oldest item before it commits to taking it: peekLocked() waits for a put that
    // claimed the head slot to fill it and returns the cell (null when the ring is empty);
    // popLocked() then advances the head past it (the caller has moved the item out and
    // destroyed it) and frees the slot.
    std::byte *peekLocked(std::byte *cells) const noexcept {
        if (!cells)
            return nullptr;
        const quint64 h = ticketOf(m_head.load(std::memory_order_seq_cst));
        if (ticketOf(m_tail.load(std::memory_order_seq_cst)) <= h)
            return nullptr;
        std::byte *c = cellAt(cells, h);
        for (Backoff backoff; seqOf(c).load(std::memory_order_acquire) != 2 * h + 1;)
            backoff.pause(); // a put claimed the slot before the head was held
        return c;
    }
    void popLocked(std::byte *cell) noexcept {
        const quint64 h = ticketOf(m_head.fetch_add(1, std::memory_order_seq_cst));
        release(cell, h);
    }
    // The filled cells from the head on, oldest first (the head held, nothing in flight).
    template <typename F> void forEachLocked(std::byte *cells, F &&f) const {
        if (!cells)
            return;
        const quint64 tail = ticketOf(m_tail.load(std::memory_order_seq_cst));
        for (quint64 t = ticketOf(m_head.load(std::memory_order_seq_cst)); t < tail; ++t) {
            std::byte *c = cellAt(cells, t);
            for (Backoff backoff; seqOf(c).load(std::memory_order_acquire) != 2 * t + 1;)
                backoff.pause();
            f(itemOf(c));
        }
    }

    // --- flags, under the lock -----------------------------------------------------------------
    // Raising a flag comes before the lock holder's last look at the ring, so a fast operation
    // either sees the flag or is seen; lowerLocked() clears what is no longer true.
    void raiseLocked(Flag flag) noexcept {
        const quint32 flags = m_flags.load(std::memory_order_relaxed);
        if (flags & flag)
            return;
        m_flags.fetch_or(flag, std::memory_order_seq_cst);
        if ((flag & (GetsWaiting | HeadHeld)) && !(flags & (GetsWaiting | HeadHeld)))
            m_head.fetch_or(WaitBit, std::memory_order_seq_cst);
        if (flag & Backlog)
            m_tail.fetch_or(WaitBit, std::memory_order_seq_cst);
    }
    // Stops fast gets (unless waiting gets already do), so the lock may look at the head.
    void holdHeadLocked() noexcept {
        if (!(m_flags.load(std::memory_order_relaxed) & (GetsWaiting | HeadHeld)))
            raiseLocked(HeadHeld);
    }
    void closeLocked() noexcept {
        m_flags.fetch_or(Closed, std::memory_order_seq_cst);
        m_tail.fetch_or(ClosedBit, std::memory_order_seq_cst); // no fast put claims a slot now
    }
    // Clears the flags in `clear` (and the index bits no remaining flag needs).
    void lowerLocked(quint32 clear) noexcept {
        const quint32 flags = m_flags.load(std::memory_order_relaxed);
        clear &= flags;
        if (!clear)
            return;
        const quint32 left = flags & ~clear;
        if ((clear & (GetsWaiting | HeadHeld)) && !(left & (GetsWaiting | HeadHeld)))
            m_head.fetch_and(~WaitBit, std::memory_order_seq_cst);
        if ((clear & Backlog) && !(left & Backlog))
            m_tail.fetch_and(~WaitBit, std::memory_order_seq_cst);
        m_flags.fetch_and(~clear, std::memory_order_seq_cst);
    }

    // The cells, allocated by the lock holder on first use, never freed before the channel.
    std::byte *ensureCellsLocked() {
        std::byte *cells = m_cells.load(std::memory_order_relaxed);
        if (!cells) {
            cells = static_cast<std::byte *>(
                ::operator new(std::size_t(m_slots) * m_stride, std::align_val_t(m_cellAlign)));
            for (qsizetype i = 0; i < m_slots; ++i)
                ::new (cells + i * m_stride) std::atomic<quint64>(2 * quint64(i));
            m_cells.store(cells, std::memory_order_release);
        }
        return cells;
    }
    // The channel's destructor, once every item is gone.
    void freeCells() noexcept {
        if (std::byte *cells = m_cells.exchange(nullptr))
            ::operator delete(cells, std::align_val_t(m_cellAlign));
    }

private:
    static constexpr bool isPowerOfTwo(qsizetype n) noexcept { return n > 0 && !(n & (n - 1)); }
    static constexpr std::size_t roundUp(std::size_t n, std::size_t to) noexcept {
        return (n + to - 1) / to * to;
    }

    // Producers' line.
    alignas(64) std::atomic<quint64> m_tail{0};
    // Consumers' line.
    alignas(64) std::atomic<quint64> m_head{0};
    // Read-mostly line: the ring's shape and the flags.
    alignas(64) std::atomic<std::byte *> m_cells{nullptr};
    const qsizetype m_slots;
    const quint64 m_mask;
    const bool m_pow2;
    const quint32 m_cellAlign;
    const quint32 m_itemOffset;
    const quint32 m_stride;
    std::atomic<quint32> m_flags{0};
};

} // namespace QtChannel::detail
