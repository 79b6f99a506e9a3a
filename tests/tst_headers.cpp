// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// The public headers as a user's code sees them: without the project's strict Qt definitions
// (so with Qt's `slots`, `signals`, `emit` and `foreach` macros defined) and with every
// warning on. A name that clashes with one of those macros fails the build here.

#ifdef QT_NO_KEYWORDS
#error "this file must be compiled with Qt's keywords"
#endif

#include <QtChannel/Channel>

#include <QtCore/QCoreApplication>

int main(int argc, char *argv[]) {
    QCoreApplication app(argc, argv);
    QtChannel::Channel<int> ch(2);
    ch.tryPut(1);
    const std::optional<int> item = ch.tryGet();
    return item == 1 ? 0 : 1;
}
