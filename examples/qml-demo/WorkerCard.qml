// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// One producer or consumer thread, as its state was sampled this frame.

import QtQuick
import QtChannelDemo

Rectangle {
    id: card
    required property int index
    required property int workerState
    required property int item
    required property double progress
    required property int count
    required property double blockedSeconds
    property bool producer: true
    property bool rendezvous: false

    // demo::Worker::State
    readonly property bool isBlocked: workerState === 2
    readonly property bool isWaiting: workerState === 3
    readonly property bool isWorking: workerState === 4
    readonly property bool isDone: workerState === 5
    readonly property color stateColor: isBlocked ? Theme.blocked
                                      : isWaiting ? Theme.waiting
                                      : isDone ? Theme.faint : Theme.accent
    readonly property string stateText: {
        switch (workerState) {
        case 1: return "producing";
        case 2: return rendezvous ? "blocked · no get waiting" : "blocked · channel full";
        case 3: return "waiting · channel empty";
        case 4: return "working";
        case 5: return producer ? "stopped" : "done";
        default: return "idle";
        }
    }

    implicitHeight: 46
    radius: 8
    color: isBlocked ? Qt.rgba(1, 0.36, 0.36, 0.13)
         : isWaiting ? Qt.rgba(0.35, 0.65, 1, 0.08) : Theme.panelRaised
    border.width: isBlocked || isWaiting ? 2 : 1
    border.color: isBlocked ? Theme.blocked : isWaiting ? Qt.rgba(0.35, 0.65, 1, 0.55) : Theme.border
    Behavior on color { ColorAnimation { duration: 120 } }

    // Consumers: how far along the current item is, as a fill behind the card's content.
    Rectangle {
        visible: !card.producer && card.isWorking
        anchors.left: parent.left
        anchors.top: parent.top
        anchors.bottom: parent.bottom
        anchors.margins: 1
        radius: card.radius
        width: (parent.width - 2) * card.progress
        color: Qt.rgba(0.25, 0.8, 0.32, 0.16)
    }

    // Badge: P1..P8 in the producer's own colour; consumers are neutral.
    Rectangle {
        id: badge
        x: 8
        anchors.verticalCenter: parent.verticalCenter
        width: 30
        height: 30
        radius: 15
        color: card.producer && card.index >= 0 ? Theme.producerColors[card.index % 8] : "#2b3547"
        border.color: card.producer ? "transparent" : card.stateColor
        border.width: 2
        Text {
            anchors.centerIn: parent
            text: (card.producer ? "P" : "C") + (card.index + 1)
            color: card.producer ? "#11151c" : Theme.text
            font.family: Theme.font
            font.pixelSize: 12
            font.bold: true
        }
    }

    Column {
        anchors.left: badge.right
        anchors.leftMargin: 10
        anchors.verticalCenter: parent.verticalCenter
        spacing: 2
        Text {
            text: card.stateText
            color: card.isBlocked ? Theme.blocked : card.isWaiting ? Theme.waiting : Theme.text
            font.family: Theme.font
            font.pixelSize: 13
            font.bold: card.isBlocked || card.isWaiting
        }
        Text {
            text: card.producer
                  ? Theme.number(card.count) + " put" + (card.blockedSeconds >= 0.05
                        ? " · blocked " + card.blockedSeconds.toFixed(1) + " s" : "")
                  : Theme.number(card.count) + " consumed"
                        + (card.isWorking ? " · " + Theme.itemLabel(card.item) : "")
            color: Theme.dim
            font.family: Theme.font
            font.pixelSize: 11
        }
    }

    // The item in hand: a producer holding one it cannot put, a consumer working on one.
    Rectangle {
        id: chip
        visible: card.item >= 0 && (card.isBlocked || card.isWorking)
        anchors.verticalCenter: parent.verticalCenter
        anchors.right: parent.right
        anchors.rightMargin: card.producer ? -7 : 12
        width: 16
        height: 26
        radius: 4
        color: Theme.itemColor(card.item)
        border.color: card.isBlocked ? Theme.blocked : "transparent"
        border.width: 2
        SequentialAnimation on opacity {
            running: card.isBlocked
            loops: Animation.Infinite
            alwaysRunToEnd: true
            NumberAnimation { to: 0.35; duration: 380 }
            NumberAnimation { to: 1; duration: 380 }
        }
    }

}
