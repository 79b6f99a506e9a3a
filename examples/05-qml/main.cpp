// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// 05 — QML: a C++ worker thread feeds a channel, a QML view shows what arrives.
//
// C++ creates the channel and keeps putting into it from a thread; QML gets the same channel
// through a QmlChannel and binds to it: the list fills as items arrive (drained on
// itemAvailable), the status follows `finished`. No polling, no lock in sight.

#include <QtChannel/QmlChannel>

#include <QtGui/QGuiApplication>
#include <QtQml/QQmlApplicationEngine>

#include <thread>

int main(int argc, char *argv[]) {
    QGuiApplication app(argc, argv);
    auto lines = std::make_shared<QtChannel::Channel<QVariant>>(4); // shared by C++ and QML
    QtChannel::QmlChannel forQml(lines);

    QQmlApplicationEngine engine;
    engine.setInitialProperties({{QStringLiteral("lines"), QVariant::fromValue(&forQml)}});
    engine.loadData(R"(
        import QtQuick
        Window {
            required property QtObject lines
            width: 240; height: 320; visible: true
            ListView { id: view; anchors.fill: parent; model: ListModel { id: shown }
                       delegate: Text { text: value } }
            Connections {
                target: lines
                function onItemAvailable() {
                    for (let v = lines.tryGet(); v !== undefined; v = lines.tryGet())
                        shown.append({ value: v })
                }
                function onFinished() {
                    console.info("shown " + shown.count + " lines, finished: " + lines.finished)
                    Qt.quit()
                }
            }
        })");

    std::jthread worker([lines] {
        for (int i = 1; i <= 20; ++i)
            lines->putBlocking(QStringLiteral("line %1").arg(i)); // waits while 4 are unread
        lines->close();
    });
    return app.exec();
}
