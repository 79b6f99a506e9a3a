// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
pragma Singleton
import QtQuick

QtObject {
    readonly property color background: "#0d1117"
    readonly property color panel: "#151b26"
    readonly property color panelRaised: "#1b2331"
    readonly property color border: "#263042"
    readonly property color text: "#e8ecf3"
    readonly property color dim: "#8b95a9"
    readonly property color faint: "#4a5568"
    readonly property color accent: "#41cd52"       // Qt green: working, flowing, finished
    readonly property color blocked: "#ff5d5d"      // a producer waiting for room
    readonly property color waiting: "#58a6ff"      // a consumer waiting for an item
    readonly property color warning: "#f5b14c"
    // One colour per producer; an item wears its producer's colour all the way through.
    readonly property var producerColors: ["#ff8c42", "#ffd23f", "#3ddc97", "#4cc9f0",
                                           "#a98bff", "#ff6fb5", "#b8e05a", "#ff8f8f"]
    readonly property string font: "DejaVu Sans"
    readonly property string mono: "DejaVu Sans Mono"

    function itemColor(item) {
        return item < 0 ? faint : producerColors[item % 8];
    }
    function itemLabel(item) {
        return item < 0 ? "" : "P" + (item % 8 + 1) + " #" + Math.floor(item / 8);
    }
    function number(n) {
        const digits = Math.abs(Math.round(n)).toString();
        let out = "";
        for (let i = 0; i < digits.length; ++i) {
            if (i > 0 && (digits.length - i) % 3 === 0)
                out += ",";
            out += digits[i];
        }
        return (n < 0 ? "-" : "") + out;
    }
}
