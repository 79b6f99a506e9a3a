// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// qtchannel-demo: producers → a QtChannel → consumers, on real worker threads.
// `pipeline` is created in C++ (main.cpp) and handed over as a required property; its
// `channel` is a QtChannel QML Channel that the C++ threads drive and this UI observes.

import QtQuick
import QtQuick.Controls.Basic
import QtQuick.Layouts
import QtChannel
import QtChannelDemo

ApplicationWindow {
    id: window
    required property Pipeline pipeline
    property bool headless: false

    width: 1280
    height: 800
    minimumWidth: 1100
    minimumHeight: 720
    visible: true
    title: "QtChannel demo: producers, a channel, consumers"
    color: Theme.background
    font.family: Theme.font
    palette.window: Theme.background
    palette.windowText: Theme.text
    palette.base: Theme.panel
    palette.text: Theme.text
    palette.button: "#232c3d"
    palette.buttonText: Theme.text
    palette.brightText: "#0d1117"
    palette.light: "#e8ecf3"
    palette.midlight: "#2b3447"
    palette.mid: "#38455e"
    palette.dark: Theme.accent
    palette.highlight: Theme.accent
    palette.highlightedText: "#0d1117"

    readonly property bool running: pipeline.state === Pipeline.Running
    readonly property bool closing: pipeline.state === Pipeline.Closing
    readonly property bool done: pipeline.state === Pipeline.Finished

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
                    text: "QtChannel"
                    color: Theme.text
                    font.pixelSize: 24
                    font.bold: true
                }
                Text {
                    text: "closable channels for Qt · " + pipeline.producerCount + " producer threads → one channel → "
                          + pipeline.consumerCount + " consumer threads"
                    color: Theme.dim
                    font.pixelSize: 13
                }
            }
            Rectangle {
                Layout.preferredHeight: 30
                Layout.preferredWidth: stateLabel.implicitWidth + 28
                radius: 15
                color: window.done ? Qt.rgba(0.25, 0.8, 0.32, 0.16)
                     : window.closing ? Qt.rgba(0.96, 0.69, 0.3, 0.16) : Theme.panelRaised
                border.color: window.done ? Theme.accent : window.closing ? Theme.warning
                            : window.running ? Theme.accent : Theme.border
                Text {
                    id: stateLabel
                    anchors.centerIn: parent
                    text: window.done ? "FINISHED" : window.closing ? "CLOSED · DRAINING"
                        : window.running ? "RUNNING · " + pipeline.elapsedSeconds.toFixed(1) + " s" : "READY"
                    color: window.done ? Theme.accent : window.closing ? Theme.warning : Theme.text
                    font.pixelSize: 13
                    font.bold: true
                }
            }
        }

        // --- the stage: producers → channel → consumers
        RowLayout {
            Layout.fillWidth: true
            Layout.fillHeight: true
            spacing: 0

            Pane {
                title: "Producers"
                subtitle: pipeline.rate >= 100 ? Math.round(pipeline.rate) + " items/s each"
                                               : pipeline.rate.toFixed(1) + " items/s each"
                Layout.preferredWidth: 290
                Layout.fillHeight: true
                Column {
                    id: producerColumn
                    width: parent.width
                    spacing: 6
                    Repeater {
                        model: pipeline.producers
                        delegate: WorkerCard {
                            width: parent.width
                            // Eight cards fit without scrolling.
                            height: Math.min(46, (producerColumn.parent.height - 7 * 6) / 8)
                            producer: true
                            rendezvous: pipeline.channel && pipeline.channel.capacity === 0
                        }
                    }
                }
            }

            Flow { direction: 1 }

            BufferView {
                Layout.fillWidth: true
                Layout.fillHeight: true
                channel: pipeline.channel
            }

            Flow { direction: 1 }

            Pane {
                title: "Consumers"
                subtitle: pipeline.workMs < 1 ? "no work per item" : Math.round(pipeline.workMs) + " ms per item"
                Layout.preferredWidth: 290
                Layout.fillHeight: true
                Column {
                    id: consumerColumn
                    width: parent.width
                    spacing: 6
                    Repeater {
                        model: pipeline.consumers
                        delegate: WorkerCard {
                            width: parent.width
                            // Eight cards fit without scrolling.
                            height: Math.min(46, (consumerColumn.parent.height - 7 * 6) / 8)
                            producer: false
                        }
                    }
                }
            }
        }

        // --- controls and figures
        RowLayout {
            Layout.fillWidth: true
            Layout.fillHeight: false
            Layout.preferredHeight: 286
            Layout.maximumHeight: 286
            spacing: 16

            Panel {
                Layout.preferredWidth: 540
                Layout.fillHeight: true
                GridLayout {
                    anchors.fill: parent
                    anchors.margins: 16
                    columns: 3
                    columnSpacing: 12
                    rowSpacing: 0

                    Label { text: "Producers"; color: Theme.dim }
                    Slider {
                        Layout.fillWidth: true
                        from: 1; to: 8; stepSize: 1; snapMode: Slider.SnapAlways
                        value: pipeline.producerCount
                        onMoved: pipeline.producerCount = value
                    }
                    Label { text: pipeline.producerCount; color: Theme.text; Layout.preferredWidth: 104 }

                    Label { text: "Rate"; color: Theme.dim }
                    Slider {
                        Layout.fillWidth: true
                        from: 0; to: Math.log(2000) / Math.LN10
                        value: Math.log(pipeline.rate) / Math.LN10
                        onMoved: pipeline.rate = Math.pow(10, value)
                    }
                    Label {
                        text: (pipeline.rate >= 100 ? Math.round(pipeline.rate) : pipeline.rate.toFixed(1)) + " /s each"
                        color: Theme.text
                    }

                    Label { text: "Consumers"; color: Theme.dim }
                    Slider {
                        Layout.fillWidth: true
                        from: 1; to: 8; stepSize: 1; snapMode: Slider.SnapAlways
                        value: pipeline.consumerCount
                        onMoved: pipeline.consumerCount = value
                    }
                    Label { text: pipeline.consumerCount; color: Theme.text }

                    Label { text: "Work"; color: Theme.dim }
                    Slider {
                        Layout.fillWidth: true
                        // 0 ms, then 1 ms … 1 s on a log scale
                        from: 0; to: 1
                        value: pipeline.workMs < 1 ? 0 : Math.log(pipeline.workMs) / Math.LN10 / 3 * 0.95 + 0.05
                        onMoved: pipeline.workMs = value < 0.05 ? 0 : Math.pow(10, (value - 0.05) / 0.95 * 3)
                    }
                    Label { text: (pipeline.workMs < 1 ? "0" : Math.round(pipeline.workMs)) + " ms/item"; color: Theme.text }

                    Label { text: "Capacity"; color: Theme.dim }
                    Row {
                        Layout.columnSpan: 2
                        spacing: 6
                        Repeater {
                            model: [{ label: "Rendezvous", value: 0 }, { label: "Small · 4", value: 4 },
                                    { label: "Large · 32", value: 32 }, { label: "Unbounded", value: -1 }]
                            delegate: Button {
                                required property var modelData
                                leftPadding: 10
                                rightPadding: 10
                                text: modelData.label
                                checkable: true
                                checked: pipeline.capacity === modelData.value
                                enabled: pipeline.state === Pipeline.Idle
                                onClicked: pipeline.capacity = modelData.value
                                font.pixelSize: 12
                            }
                        }
                    }

                    Item { Layout.preferredHeight: 4 }
                    RowLayout {
                        Layout.columnSpan: 2
                        spacing: 8
                        Button {
                            text: "Start"
                            enabled: pipeline.state === Pipeline.Idle
                            highlighted: enabled
                            onClicked: pipeline.start()
                        }
                        Button {
                            text: "Close channel"
                            enabled: window.running
                            onClicked: pipeline.close()
                        }
                        Button {
                            text: "Reset"
                            enabled: pipeline.state !== Pipeline.Idle
                            onClicked: pipeline.reset()
                        }
                        Label {
                            Layout.fillWidth: true
                            text: pipeline.state === Pipeline.Idle ? "" : "capacity is fixed for a channel's life"
                            color: Theme.faint
                            font.pixelSize: 11
                            elide: Text.ElideRight
                        }
                    }
                }
            }

            Panel {
                Layout.fillWidth: true
                Layout.fillHeight: true
                RowLayout {
                    anchors.fill: parent
                    anchors.margins: 16
                    spacing: 16
                    GridLayout {
                        columns: 2
                        columnSpacing: 22
                        rowSpacing: 12
                        Layout.alignment: Qt.AlignTop
                        Figure { label: "produced"; value: Theme.number(pipeline.produced) }
                        Figure { label: "consumed"; value: Theme.number(pipeline.consumed) }
                        Figure { label: "in flight"; value: Theme.number(pipeline.inFlight); hint: "buffered + in a consumer's hands" }
                        Figure {
                            label: "producers blocked"
                            value: pipeline.blockedSeconds.toFixed(1) + " s"
                            hint: Math.round(pipeline.blockedShare * 100) + "% of their time"
                            accent: pipeline.blockedShare > 0.25 ? Theme.blocked : Theme.text
                        }
                    }
                    ColumnLayout {
                        Layout.fillWidth: true
                        Layout.fillHeight: true
                        spacing: 6
                        RowLayout {
                            Text { text: "throughput"; color: Theme.dim; font.pixelSize: 12 }
                            Item { Layout.fillWidth: true }
                            Text {
                                text: Theme.number(pipeline.throughput) + " items/s"
                                color: Theme.text
                                font.pixelSize: 14
                                font.bold: true
                            }
                            Text { text: " peak " + Theme.number(pipeline.peakThroughput); color: Theme.dim; font.pixelSize: 12 }
                        }
                        ThroughputChart {
                            Layout.fillWidth: true
                            Layout.fillHeight: true
                            points: pipeline.history
                        }
                        Text { text: "last 30 s"; color: Theme.faint; font.pixelSize: 10 }
                    }
                }
            }
        }
    }

    // --- the proof, once the channel is finished
    Rectangle {
        visible: window.done || window.closing
        anchors.horizontalCenter: parent.horizontalCenter
        y: 250
        width: banner.implicitWidth + 48
        height: 64
        radius: 14
        color: window.done ? (pipeline.nothingLost ? "#12301c" : "#3a1414") : "#33280f"
        border.color: window.done ? (pipeline.nothingLost ? Theme.accent : Theme.blocked) : Theme.warning
        border.width: 2
        opacity: 0.97
        Column {
            id: banner
            anchors.centerIn: parent
            spacing: 2
            Text {
                anchors.horizontalCenter: parent.horizontalCenter
                text: window.done ? (pipeline.nothingLost ? "✓ Finished: closed and drained" : "✗ Finished, but items were lost")
                                  : "Closed: producers stopped, consumers draining " + Theme.number(pipeline.inFlight) + " items"
                color: window.done ? (pipeline.nothingLost ? Theme.accent : Theme.blocked) : Theme.warning
                font.pixelSize: 18
                font.bold: true
            }
            Text {
                anchors.horizontalCenter: parent.horizontalCenter
                visible: window.done
                text: "produced " + Theme.number(pipeline.produced) + " = consumed " + Theme.number(pipeline.consumed)
                      + (pipeline.nothingLost ? " · nothing lost" : " · " + Theme.number(pipeline.produced - pipeline.consumed) + " lost")
                color: Theme.text
                font.family: Theme.mono
                font.pixelSize: 14
            }
        }
    }

    // Small local components.
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
            font.pixelSize: 16
            font.bold: true
        }
        Text {
            anchors.left: paneTitle.right
            anchors.leftMargin: 8
            anchors.baseline: paneTitle.baseline
            text: pane.subtitle
            color: Theme.dim
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
    component Flow: Item {
        property int direction: 1
        Layout.preferredWidth: 34
        Layout.fillHeight: true
        Text {
            anchors.centerIn: parent
            text: "›››"
            color: window.running || window.closing ? Theme.accent : Theme.faint
            font.pixelSize: 22
            font.bold: true
            SequentialAnimation on opacity {
                running: window.running || window.closing
                loops: Animation.Infinite
                NumberAnimation { to: 0.4; duration: 600 }
                NumberAnimation { to: 1; duration: 600 }
            }
        }
    }
    component Figure: Column {
        property string label
        property string value
        property string hint
        property color accent: Theme.text
        spacing: 0
        Text { text: parent.label; color: Theme.dim; font.pixelSize: 12 }
        Text { text: parent.value; color: parent.accent; font.pixelSize: 26; font.bold: true; font.family: Theme.mono }
        Text { text: parent.hint; visible: parent.hint !== ""; color: Theme.faint; font.pixelSize: 10 }
    }
}
