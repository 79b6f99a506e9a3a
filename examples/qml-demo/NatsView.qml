// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// qtchannel-demo --nats URL --role view: one NatsChannel shared by producer and consumer
// processes, as this process sees it. `view` (NatsView, natsview.h) holds the channel's polled
// state and the processes' progress reports.

import QtQuick
import QtQuick.Layouts
import QtChannelDemo

Window {
    id: window
    required property NatsView view
    property bool headless: false

    width: 1180
    height: 760
    visible: true
    title: "QtChannel demo across processes: " + view.channelName + " on " + view.url
    color: Theme.background

    readonly property bool bounded: view.capacity > 0
    readonly property string stateText: view.complete ? "FINISHED"
                                      : view.finished ? "FINISHED · WAITING FOR REPORTS"
                                      : view.closed ? "CLOSED · DRAINING"
                                      : view.produced > 0 ? "RUNNING · " + view.elapsedSeconds.toFixed(1) + " s"
                                      : "WAITING FOR PRODUCERS"
    readonly property color stateColor: view.complete ? (view.nothingLost ? Theme.accent : Theme.blocked)
                                      : view.closed ? Theme.warning : Theme.text

    ColumnLayout {
        anchors.fill: parent
        anchors.margins: 22
        spacing: 16

        // --- header
        RowLayout {
            Layout.fillWidth: true
            spacing: 14
            Rectangle {
                width: 40
                height: 40
                radius: 10
                color: Theme.accent
                Text {
                    anchors.centerIn: parent
                    text: "⇶"
                    color: "#0d1117"
                    font.pixelSize: 24
                    font.bold: true
                }
            }
            Column {
                Layout.fillWidth: true
                Text {
                    text: "QtChannel across processes"
                    color: Theme.text
                    font.family: Theme.font
                    font.pixelSize: 24
                    font.bold: true
                }
                Text {
                    text: "producer processes → NatsChannel \"" + view.channelName + "\" on " + view.url
                          + " (NATS JetStream) → consumer processes"
                    color: Theme.dim
                    font.family: Theme.font
                    font.pixelSize: 13
                }
            }
            Rectangle {
                Layout.preferredHeight: 30
                Layout.preferredWidth: stateLabel.implicitWidth + 28
                radius: 15
                color: Theme.panelRaised
                border.color: window.stateColor
                Text {
                    id: stateLabel
                    anchors.centerIn: parent
                    text: window.stateText
                    color: window.stateColor
                    font.family: Theme.font
                    font.pixelSize: 13
                    font.bold: true
                }
            }
        }

        // --- the stage: producer processes → the channel → consumer processes
        RowLayout {
            Layout.fillWidth: true
            Layout.fillHeight: true
            spacing: 0

            Pane {
                title: "Producers"
                subtitle: view.producers.length + " processes" + (view.expectedProducers > 0 ? " of " + view.expectedProducers : "")
                Layout.preferredWidth: 330
                Layout.fillHeight: true
                Column {
                    width: parent.width
                    spacing: 6
                    Repeater {
                        model: view.producers
                        delegate: ProcessCard {
                            width: parent.width
                            producer: true
                        }
                    }
                }
            }

            Arrow {}

            Panel {
                Layout.fillWidth: true
                Layout.fillHeight: true
                ColumnLayout {
                    anchors.fill: parent
                    anchors.margins: 16
                    spacing: 10
                    RowLayout {
                        Text {
                            text: "The channel"
                            color: Theme.text
                            font.family: Theme.font
                            font.pixelSize: 16
                            font.bold: true
                        }
                        Text {
                            text: window.bounded ? "capacity " + view.capacity : "unbounded"
                            color: Theme.dim
                            font.family: Theme.font
                            font.pixelSize: 12
                        }
                        Item { Layout.fillWidth: true }
                        Flag { label: "closed"; on: view.closed; onColor: Theme.warning }
                        Flag { label: "finished"; on: view.finished; onColor: Theme.accent }
                    }
                    // The fill: items in the stream, put and not yet taken.
                    Rectangle {
                        Layout.fillWidth: true
                        Layout.preferredHeight: 54
                        radius: 8
                        color: Theme.panelRaised
                        border.color: window.bounded && view.size >= view.capacity ? Theme.blocked : Theme.border
                        border.width: window.bounded && view.size >= view.capacity ? 2 : 1
                        Rectangle {
                            anchors.left: parent.left
                            anchors.top: parent.top
                            anchors.bottom: parent.bottom
                            anchors.margins: 3
                            radius: 6
                            width: (parent.width - 6) * (window.bounded ? Math.min(1, view.size / view.capacity)
                                                                         : Math.min(1, view.size / Math.max(1, view.peakSize)))
                            color: window.bounded && view.size >= view.capacity ? Theme.blocked : Theme.accent
                            opacity: 0.7
                            Behavior on width { NumberAnimation { duration: 90 } }
                        }
                        Text {
                            anchors.centerIn: parent
                            text: Theme.number(view.size) + (window.bounded ? " / " + Theme.number(view.capacity) : "") + " items in the channel"
                            color: Theme.text
                            font.family: Theme.mono
                            font.pixelSize: 15
                            font.bold: true
                        }
                    }
                    Text {
                        Layout.fillWidth: true
                        elide: Text.ElideRight
                        text: window.bounded && view.peakSize >= view.capacity
                              ? "full at times: producers waited for room"
                              : "peak " + Theme.number(view.peakSize) + " items"
                        color: window.bounded && view.peakSize >= view.capacity ? Theme.warning : Theme.dim
                        font.family: Theme.font
                        font.pixelSize: 12
                    }
                    RowLayout {
                        Layout.fillWidth: true
                        Text { text: "taken per second, as reported"; color: Theme.dim; font.family: Theme.font; font.pixelSize: 12 }
                        Item { Layout.fillWidth: true }
                        Text { text: "last 30 s"; color: Theme.faint; font.family: Theme.font; font.pixelSize: 10 }
                    }
                    ThroughputChart {
                        Layout.fillWidth: true
                        Layout.fillHeight: true
                        points: view.history
                    }
                }
            }

            Arrow {}

            Pane {
                title: "Consumers"
                subtitle: view.consumers.length + " processes" + (view.expectedConsumers > 0 ? " of " + view.expectedConsumers : "")
                Layout.preferredWidth: 330
                Layout.fillHeight: true
                Column {
                    width: parent.width
                    spacing: 6
                    Repeater {
                        model: view.consumers
                        delegate: ProcessCard {
                            width: parent.width
                            producer: false
                        }
                    }
                }
            }
        }

        // --- figures
        Panel {
            Layout.fillWidth: true
            Layout.preferredHeight: 110
            RowLayout {
                anchors.fill: parent
                anchors.margins: 16
                spacing: 40
                Figure {
                    label: "produced"
                    value: Theme.number(view.produced)
                    hint: view.planned > 0 ? "of " + Theme.number(view.planned) + " planned" : "accepted by the server"
                }
                Figure { label: "consumed"; value: Theme.number(view.consumed); hint: "taken, acknowledged" }
                Figure { label: "in the channel"; value: Theme.number(view.size); hint: "as last polled" }
                Figure {
                    label: "produced − consumed"
                    value: Theme.number(view.produced - view.consumed)
                    hint: view.complete ? (view.nothingLost ? "0 and the digests match" : "counts or digests differ")
                                        : "in the channel or in a consumer's hands"
                    accent: view.complete && !view.nothingLost ? Theme.blocked : Theme.text
                }
                Item { Layout.fillWidth: true }
            }
        }
    }

    // --- the proof, once the channel is finished and every process has reported its last
    Rectangle {
        visible: view.complete
        anchors.horizontalCenter: parent.horizontalCenter
        y: 300
        width: banner.implicitWidth + 48
        height: 64
        radius: 14
        color: view.nothingLost ? "#12301c" : "#3a1414"
        border.color: view.nothingLost ? Theme.accent : Theme.blocked
        border.width: 2
        opacity: 0.97
        Column {
            id: banner
            anchors.centerIn: parent
            spacing: 2
            Text {
                anchors.horizontalCenter: parent.horizontalCenter
                text: view.nothingLost ? "✓ Finished, nothing lost: closed and drained across processes"
                                       : "✗ Finished, but items were lost or taken twice"
                color: view.nothingLost ? Theme.accent : Theme.blocked
                font.family: Theme.font
                font.pixelSize: 18
                font.bold: true
            }
            Text {
                anchors.horizontalCenter: parent.horizontalCenter
                text: "produced " + Theme.number(view.produced) + (view.nothingLost ? " = " : " ≠ ")
                      + "consumed " + Theme.number(view.consumed) + " · set digests "
                      + (view.nothingLost ? "equal" : "differ")
                color: Theme.text
                font.family: Theme.mono
                font.pixelSize: 14
            }
        }
    }

    // Small local components, styled as Main.qml's.
    component Panel: Rectangle {
        radius: 12
        color: Theme.panel
        border.color: Theme.border
    }
    component Pane: Panel {
        id: pane
        property string title
        property string subtitle
        default property alias content: body.data
        Text {
            id: paneTitle
            x: 14; y: 12
            text: pane.title
            color: Theme.text
            font.family: Theme.font
            font.pixelSize: 16
            font.bold: true
        }
        Text {
            anchors.left: paneTitle.right
            anchors.leftMargin: 8
            anchors.baseline: paneTitle.baseline
            text: pane.subtitle
            color: Theme.dim
            font.family: Theme.font
            font.pixelSize: 12
        }
        Item {
            id: body
            anchors.fill: parent
            anchors.topMargin: 42
            anchors.leftMargin: 12
            anchors.rightMargin: 12
            anchors.bottomMargin: 12
        }
    }
    component Arrow: Item {
        Layout.preferredWidth: 34
        Layout.fillHeight: true
        Text {
            anchors.centerIn: parent
            text: "›››"
            color: view.finished ? Theme.faint : Theme.accent
            font.pixelSize: 22
            font.bold: true
        }
    }
    component Flag: Rectangle {
        property string label
        property bool on: false
        property color onColor: Theme.accent
        implicitWidth: flagText.implicitWidth + 20
        implicitHeight: 24
        radius: 12
        color: on ? Qt.rgba(onColor.r, onColor.g, onColor.b, 0.16) : "transparent"
        border.color: on ? onColor : Theme.border
        Text {
            id: flagText
            anchors.centerIn: parent
            text: (parent.on ? "● " : "○ ") + parent.label
            color: parent.on ? parent.onColor : Theme.faint
            font.family: Theme.font
            font.pixelSize: 12
            font.bold: parent.on
        }
    }
    component Figure: Column {
        property string label
        property string value
        property string hint
        property color accent: Theme.text
        spacing: 0
        Text { text: parent.label; color: Theme.dim; font.family: Theme.font; font.pixelSize: 12 }
        Text { text: parent.value; color: parent.accent; font.pixelSize: 26; font.bold: true; font.family: Theme.mono }
        Text { text: parent.hint; visible: parent.hint !== ""; color: Theme.faint; font.family: Theme.font; font.pixelSize: 10 }
    }
    // One process, as its last report says.
    component ProcessCard: Rectangle {
        id: card
        required property var modelData
        property bool producer: true
        readonly property color badge: producer ? Theme.producerColors[(modelData.id + 7) % 8] : Theme.waiting
        implicitHeight: 52
        radius: 8
        color: Theme.panelRaised
        border.color: modelData.done ? Theme.border : Qt.rgba(0.25, 0.8, 0.32, 0.5)
        // Producers: how far along their items they are.
        Rectangle {
            visible: card.producer && card.modelData.total > 0
            anchors.left: parent.left
            anchors.top: parent.top
            anchors.bottom: parent.bottom
            anchors.margins: 1
            radius: card.radius
            width: (parent.width - 2) * Math.min(1, card.modelData.count / Math.max(1, card.modelData.total))
            color: Qt.rgba(0.25, 0.8, 0.32, 0.12)
        }
        Rectangle {
            id: badgeBox
            anchors.left: parent.left
            anchors.leftMargin: 10
            anchors.verticalCenter: parent.verticalCenter
            width: 36
            height: 24
            radius: 6
            color: card.badge
            Text {
                anchors.centerIn: parent
                text: (card.producer ? "P" : "C") + card.modelData.id
                color: "#0d1117"
                font.family: Theme.font
                font.pixelSize: 12
                font.bold: true
            }
        }
        Column {
            anchors.left: badgeBox.right
            anchors.leftMargin: 10
            anchors.verticalCenter: parent.verticalCenter
            Text {
                text: Theme.number(card.modelData.count) + (card.producer ? " put" : " taken")
                      + (card.producer && card.modelData.total > 0 ? " of " + Theme.number(card.modelData.total) : "")
                color: Theme.text
                font.family: Theme.mono
                font.pixelSize: 14
                font.bold: true
            }
            Text {
                text: card.modelData.host + " · pid " + card.modelData.pid
                color: Theme.dim
                font.family: Theme.font
                font.pixelSize: 11
            }
        }
        Text {
            anchors.right: parent.right
            anchors.rightMargin: 12
            anchors.verticalCenter: parent.verticalCenter
            text: card.modelData.done ? "done" : card.producer ? "producing" : "consuming"
            color: card.modelData.done ? Theme.faint : Theme.accent
            font.family: Theme.font
            font.pixelSize: 12
        }
    }
}
