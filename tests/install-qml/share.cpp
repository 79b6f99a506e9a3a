// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
// A C++ Channel<QVariant> handed to QML as a context property, driven from both sides.
#include <QtChannel/QmlChannel>

#include <QtCore/QCoreApplication>
#include <QtQml/QQmlComponent>
#include <QtQml/QQmlContext>
#include <QtQml/QQmlEngine>

#include <cstdio>
#include <memory>

int main(int argc, char *argv[]) {
    QCoreApplication app(argc, argv);
    auto jobs = std::make_shared<QtChannel::Channel<QVariant>>(8);
    jobs->tryPut(QVariant(QStringLiteral("from C++")));

    QQmlEngine engine;
    auto *shared = new QtChannel::QmlChannel(jobs, &engine);
    engine.rootContext()->setContextProperty(QStringLiteral("jobs"), shared);
    QQmlComponent component(&engine);
    component.setData("import QtQml\n"
                      "QtObject {\n"
                      "    property string got: jobs.tryGet()\n"
                      "    Component.onCompleted: jobs.tryPut('from QML')\n"
                      "}\n",
                      QUrl::fromLocalFile(QStringLiteral("/share.qml")));
    std::unique_ptr<QObject> root(component.create());
    if (!root) {
        std::fprintf(stderr, "%s\n", qPrintable(component.errorString()));
        return 1;
    }
    const QString got = root->property("got").toString();
    const QString back = jobs->tryGet().value_or(QVariant()).toString();
    std::printf("shared channel: QML got \"%s\", C++ got \"%s\"\n", qPrintable(got),
                qPrintable(back));
    return got == QStringLiteral("from C++") && back == QStringLiteral("from QML") ? 0 : 1;
}
