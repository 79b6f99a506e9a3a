// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
// `import QtChannel` from an installed module, as a QML-only application would.
#include <QtCore/QCoreApplication>
#include <QtQml/QQmlComponent>
#include <QtQml/QQmlEngine>

#include <cstdio>
#include <memory>

int main(int argc, char *argv[]) {
    QCoreApplication app(argc, argv);
    QQmlEngine engine;
    // Where the package said the module is (QtChannel_QML_IMPORT_PATH), as QML_IMPORT_PATH
    // would say it.
    engine.addImportPath(QStringLiteral(QML_IMPORT_DIR));
    QQmlComponent component(&engine);
    component.setData(
        "import QtQml\n"
        "import QtChannel\n"
        "QtObject {\n"
        "    property Channel channel: Channel { capacity: 2 }\n"
        "    function run() {\n"
        "        channel.tryPut('a'); channel.tryPut('b');\n"
        "        const full = !channel.tryPut('c');\n"
        "        channel.close();\n"
        "        return [channel.tryGet(), channel.tryGet(), full, channel.finished].join(' ');\n"
        "    }\n"
        "}\n",
        QUrl::fromLocalFile(QStringLiteral("/consumer.qml")));
    std::unique_ptr<QObject> root(component.create());
    if (!root) {
        std::fprintf(stderr, "%s\n", qPrintable(component.errorString()));
        return 1;
    }
    QVariant result;
    QMetaObject::invokeMethod(root.get(), "run", Q_RETURN_ARG(QVariant, result));
    std::printf("import QtChannel: %s\n", qPrintable(result.toString()));
    return result.toString() == QStringLiteral("a b true true") ? 0 : 1;
}
