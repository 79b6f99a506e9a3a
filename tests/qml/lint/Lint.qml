// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
// Read by qmllint against the built module (tests/qml/CMakeLists.txt): every property,
// method and signal of the module's types, so that a type qmllint does not know (qint64 is
// "qlonglong" to it) fails the build's tests rather than a user's lint run.
import QtQml
import QtChannel

QtObject {
    id: root
    property Channel channel: Channel {
        capacity: 4
        onItemAvailable: root.seen += 1
        onSpaceAvailable: root.seen += 1
        onClosed: root.seen += 1
        onFinished: root.seen += 1
    }
    property int seen: 0
    property int capacity: channel.capacity
    property int size: channel.size
    property bool empty: channel.empty
    property bool full: channel.full
    property bool closed: channel.closed
    property bool finished: channel.finished
    property real putHere: channel.itemsPutHere
    property real takenHere: channel.itemsTakenHere
    property int pendingPuts: channel.pendingPuts
    property int pendingGets: channel.pendingGets
    property ChannelItems items: channel.items
    property int rows: channel.items.count
    property int limit: channel.items.limit

    function use(): void {
        channel.tryPut(1);
        channel.put(2, function (ok) {});
        channel.get(function (value, ok) {});
        const first = channel.tryGet();
        const row = channel.items.get(0);
        channel.close();
    }
}
