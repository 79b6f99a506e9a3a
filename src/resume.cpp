// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#include "QtChannel/detail/resume.h"

#include <QtCore/QCoreApplication>
#include <QtCore/QEvent>
#include <QtCore/QObject>

namespace QtChannel::detail {

namespace {
QEvent::Type resumeEventType() {
    static const auto type = QEvent::Type(QEvent::registerEventType());
    return type;
}

// Entries resumed per event before the queue yields to the thread's other events.
constexpr int ResumesPerEvent = 1024;
} // namespace

// Lives in the awaiting thread and drains its queue when the posted event arrives.
class ResumeReceiver final : public QObject {
public:
    explicit ResumeReceiver(std::weak_ptr<ResumeQueue> queue)
        : m_queue(std::move(queue)) {}

    bool event(QEvent *e) override {
        if (e->type() != resumeEventType())
            return QObject::event(e);
        if (const std::shared_ptr<ResumeQueue> queue = m_queue.lock())
            queue->drain();
        return true;
    }

private:
    std::weak_ptr<ResumeQueue> m_queue;
};

// The calling thread's queue; at the thread's end, its receiver goes and the queue (if
// awaiters still hold it) stops posting.
struct ThreadQueue {
    ~ThreadQueue() {
        if (!queue)
            return;
        QObject *receiver;
        {
            std::lock_guard lock(queue->m_mutex);
            receiver = std::exchange(queue->m_receiver, nullptr);
        }
        delete receiver;
    }
    std::shared_ptr<ResumeQueue> queue;
};

std::shared_ptr<ResumeQueue> ResumeQueue::forThisThread() {
    thread_local ThreadQueue holder;
    if (!holder.queue) {
        auto queue = std::make_shared<ResumeQueue>();
        queue->m_receiver = new ResumeReceiver(queue);
        holder.queue = std::move(queue);
    }
    return holder.queue;
}

ResumeQueue::~ResumeQueue() = default;

void ResumeQueue::push(Entry *entry, std::atomic<bool> *handedOver) noexcept {
    QObject *postTo = nullptr;
    {
        std::lock_guard lock(m_mutex);
        if (handedOver)
            handedOver->store(true, std::memory_order_release);
        entry->queued = true;
        entry->next = nullptr;
        entry->prev = m_last;
        (m_last ? m_last->next : m_first) = entry;
        m_last = entry;
        if (!m_posted && m_receiver) {
            m_posted = true;
            postTo = m_receiver;
        }
        // Posting under the mutex: the receiver cannot be deleted meanwhile (ThreadQueue).
        if (postTo)
            QCoreApplication::postEvent(postTo, new QEvent(resumeEventType()));
    }
}

void ResumeQueue::remove(Entry *entry) noexcept {
    std::lock_guard lock(m_mutex);
    if (!entry->queued)
        return;
    (entry->prev ? entry->prev->next : m_first) = entry->next;
    (entry->next ? entry->next->prev : m_last) = entry->prev;
    entry->prev = entry->next = nullptr;
    entry->queued = false;
}

void ResumeQueue::drain() {
    for (int n = 0; n < ResumesPerEvent; ++n) {
        std::coroutine_handle<> handle;
        {
            std::lock_guard lock(m_mutex);
            Entry *entry = m_first;
            if (!entry) {
                m_posted = false; // the next push posts again
                return;
            }
            m_first = entry->next;
            (m_first ? m_first->prev : m_last) = nullptr;
            entry->prev = entry->next = nullptr;
            entry->queued = false;
            handle = entry->handle;
        }
        handle.resume(); // may destroy other awaiters of this thread: they remove themselves
    }
    // Many at once: let the thread's other events in, then go on.
    std::lock_guard lock(m_mutex);
    if (m_receiver)
        QCoreApplication::postEvent(m_receiver, new QEvent(resumeEventType()));
    else
        m_posted = false;
}

} // namespace QtChannel::detail
