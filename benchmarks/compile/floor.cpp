// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// The floor of the compile cost: the Qt headers a channel user includes anyway, and one
// QFuture<int> and QFuture<QString> used, without QtChannel.

#include <QtCore/QDeadlineTimer>
#include <QtCore/QFuture>
#include <QtCore/QList>
#include <QtCore/QObject>
#include <QtCore/QPromise>
#include <QtCore/QString>

template <typename T> int use(T value) {
    QPromise<T> promise;
    QFuture<T> future = promise.future();
    promise.start();
    promise.addResult(value);
    promise.finish();
    QObject context;
    future.then(&context, [](T) {}).waitForFinished();
    return future.result() == value;
}

int main() {
    return use<int>(1) + use<QString>(QStringLiteral("a"));
}
