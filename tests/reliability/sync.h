// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

// Synchronisation helpers that ThreadSanitizer can see.

#include <QtCore/QMetaObject>
#include <QtCore/QObject>

#include <future>

namespace Rel {

/*
 * Deletes `object` in its own thread, whose event loop must be running, and returns once it
 * is gone. The hand-back goes through a std::promise, which ThreadSanitizer understands, so
 * everything that thread did before (its event handlers, the object's destructor
 * disconnecting from a channel) happens-before what the caller does next, such as destroying
 * the channel. QThread::wait() alone would not do: its join is inside Qt, invisible to TSan.
 */
inline void deleteInItsThread(QObject *object) {
    std::promise<void> done;
    QMetaObject::invokeMethod(
        object,
        [object, &done] {
            delete object;
            done.set_value();
        },
        Qt::QueuedConnection);
    done.get_future().wait();
}

} // namespace Rel
