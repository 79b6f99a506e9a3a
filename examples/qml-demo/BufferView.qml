// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// The items that are in the channel right now (channel.items), oldest on the right, next to
// the consumers. Bounded channels show their free slots; a rendezvous channel has none.

import QtQuick
import QtChannel
import QtChannelDemo

Rectangle {
    id: view
    required property Channel channel
    readonly property int capacity: channel ? channel.capacity : -1
    // Chips as big as the capacity allows: a small buffer shows few big items, an unbounded
    // one as many small ones as fit (channel.items.limit), with a count of the rest.
    readonly property int cell: capacity > 0
        ? Math.max(12, Math.min(56, Math.floor(area.width / Math.min(capacity, 32)))) : 18
    readonly property bool animated: capacity > 0 && capacity <= 32
    readonly property int rowHeight: capacity > 0 && capacity <= 32 ? 64 : 34
    readonly property int perRow: Math.max(1, Math.floor(area.width / cell))
    readonly property int shownLimit: perRow * Math.max(1, Math.floor(area.height / rowHeight))

    radius: 12
    color: Theme.panel
    border.color: channel && channel.full ? Theme.blocked
                : channel && channel.empty && channel.pendingGets > 0 ? Theme.waiting : Theme.border
    border.width: 2
    Behavior on border.color { ColorAnimation { duration: 150 } }

    Binding {
        target: view.channel ? view.channel.items : null
        property: "limit"
        value: view.shownLimit
        when: view.channel !== null
    }

    Column {
        id: header
        anchors.left: parent.left
        anchors.right: parent.right
        anchors.top: parent.top
        anchors.margins: 14
        spacing: 4
        Row {
            spacing: 10
            Text {
                text: "Channel"
                color: Theme.text
                font.family: Theme.font
                font.pixelSize: 18
                font.bold: true
            }
            Text {
                anchors.baseline: parent.children[0].baseline
                text: view.capacity < 0 ? "unbounded"
                    : view.capacity === 0 ? "rendezvous" : "capacity " + view.capacity
                color: Theme.dim
                font.family: Theme.font
                font.pixelSize: 13
            }
        }
        Text {
            text: !view.channel ? ""
                : (view.channel.finished ? "finished · " : view.channel.closed ? "closed · " : "")
                  + Theme.number(view.channel.size) + " buffered · "
                  + view.channel.pendingPuts + " puts waiting · "
                  + view.channel.pendingGets + " gets waiting"
            color: view.channel && view.channel.closed ? Theme.warning : Theme.dim
            font.family: Theme.mono
            font.pixelSize: 12
        }
    }

    Item {
        id: area
        anchors.top: header.bottom
        anchors.left: parent.left
        anchors.right: parent.right
        anchors.bottom: footer.top
        anchors.margins: 14
    }
    // The lane the items move along: as many rows as a bounded channel needs, centred; the
    // whole area for an unbounded one.
    Item {
        id: grid
        readonly property int rows: view.capacity > 0
            ? Math.ceil(Math.min(view.capacity, view.shownLimit) / view.perRow)
            : Math.max(1, Math.floor(area.height / view.rowHeight))
        x: area.x
        width: area.width
        height: view.capacity < 0 ? area.height : Math.min(area.height, rows * view.rowHeight)
        y: view.capacity < 0 ? area.y : area.y + (area.height - height) / 2

        // Free slots of a bounded channel, drawn where its items will sit.
        Repeater {
            model: view.capacity > 0 ? Math.min(view.capacity, view.shownLimit) : 0
            delegate: Rectangle {
                required property int index
                x: grid.width - (index % view.perRow + 1) * view.cell
                y: Math.floor(index / view.perRow) * view.rowHeight
                width: view.cell - 4
                height: view.rowHeight - 6
                radius: 5
                color: "transparent"
                border.color: Theme.border
                border.width: 1
            }
        }

        GridView {
            id: items
            anchors.fill: parent
            interactive: false
            cellWidth: view.cell
            cellHeight: view.rowHeight
            layoutDirection: Qt.RightToLeft
            model: view.channel ? view.channel.items : null
            delegate: Rectangle {
                required property var value
                width: view.cell - 4
                height: view.rowHeight - 6
                radius: 5
                color: Theme.itemColor(value)
                Text {
                    anchors.centerIn: parent
                    visible: parent.width >= 40
                    text: "#" + Math.floor(parent.value / 8)
                    color: "#11151c"
                    font.family: Theme.font
                    font.pixelSize: 11
                    font.bold: true
                }
            }
            // One row (capacity ≤ 32): new items slide in from the producers' side and the rest
            // move along. A big unbounded buffer jumps instead: animating hundreds of
            // displaced items every frame would only blur them.
            add: view.animated ? addTransition : null
            displaced: view.animated ? displacedTransition : null
            Transition {
                id: addTransition
                NumberAnimation { property: "x"; from: -view.cell; duration: 120; easing.type: Easing.OutCubic }
            }
            Transition {
                id: displacedTransition
                NumberAnimation { properties: "x,y"; duration: 110; easing.type: Easing.OutCubic }
            }
        }

        Text {
            anchors.centerIn: parent
            visible: view.capacity === 0
            horizontalAlignment: Text.AlignHCenter
            text: "rendezvous: no buffer\neach put waits until a get takes its item"
            color: Theme.dim
            font.family: Theme.font
            font.pixelSize: 14
        }
    }

    Row {
        id: footer
        anchors.left: parent.left
        anchors.right: parent.right
        anchors.bottom: parent.bottom
        anchors.margins: 14
        height: 18
        spacing: 16
        Text {
            text: "← newest"
            color: Theme.faint
            font.family: Theme.font
            font.pixelSize: 11
        }
        Text {
            visible: view.channel && view.channel.size > view.shownLimit
            text: view.channel ? "+ " + Theme.number(view.channel.size - view.shownLimit) + " more not shown" : ""
            color: Theme.warning
            font.family: Theme.font
            font.pixelSize: 11
        }
    }
    Text {
        anchors.right: parent.right
        anchors.bottom: parent.bottom
        anchors.margins: 14
        text: "oldest, next out →"
        color: Theme.faint
        font.family: Theme.font
        font.pixelSize: 11
    }
}
