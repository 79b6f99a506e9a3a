// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

// Internal header: not part of the public API.

#include <QtChannel/qtchannel_export.h>

#include <QtCore/qglobal.h>

#include <atomic>
#include <coroutine>
#include <memory>
#include <mutex>

QT_BEGIN_NAMESPACE
class QObject;
QT_END_NAMESPACE

namespace QtChannel::detail {

/*
 * Where a suspended coroutine's resumption waits: one queue per thread that awaits, drained by
 * that thread's event loop. A channel's thread that serves an awaiter never resumes it inline:
 * it appends the awaiter here, and the first append after the queue was drained posts one
 * event to the awaiting thread. So a run of awaiters made ready together costs one event, and
 * every coroutine resumes in the thread that awaited.
 *
 * Entries are resumed one at a time, each taken out under the mutex right before it resumes,
 * so a resumed coroutine may destroy other suspended coroutines of this thread (their
 * awaiters remove their own entries). Reference-counted: an awaiter keeps its queue alive, and
 * the queue outlives its thread if an awaiter does (its entries are then never resumed).
 */
class QTCHANNEL_EXPORT ResumeQueue {
public:
    // An awaiter's place in the queue, in the awaiter.
    struct Entry {
        std::coroutine_handle<> handle;
        Entry *prev = nullptr;
        Entry *next = nullptr;
        bool queued = false; // guarded by the queue's mutex
    };

    // The calling thread's queue, made on first use (with its event receiver in this thread).
    static std::shared_ptr<ResumeQueue> forThisThread();

    // Any thread: the entry's coroutine is ready to resume in the queue's thread. `handedOver`
    // is set under the queue's mutex, as the caller's last access to the entry's awaiter:
    // after it, the awaiter's owner may take the entry out (remove()) and go.
    void push(Entry *entry, std::atomic<bool> *handedOver = nullptr) noexcept;
    // The queue's thread: takes the entry out if it is still queued (the awaiter goes).
    void remove(Entry *entry) noexcept;

    ResumeQueue() = default;
    ResumeQueue(const ResumeQueue &) = delete;
    ResumeQueue &operator=(const ResumeQueue &) = delete;
    ~ResumeQueue();

private:
    friend class ResumeReceiver;
    friend struct ThreadQueue;
    void drain();

    std::mutex m_mutex;
    Entry *m_first = nullptr;      // guarded by m_mutex
    Entry *m_last = nullptr;       // guarded by m_mutex
    bool m_posted = false;         // guarded by m_mutex: an event is on its way
    QObject *m_receiver = nullptr; // guarded by m_mutex; null once the thread is gone
};

} // namespace QtChannel::detail
