// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// Items consumed per second over the last 30 s, redrawn when a new point arrives (4 Hz).

import QtQuick
import QtChannelDemo

Canvas {
    id: chart
    property var points: []
    property int capacityPoints: 120
    renderStrategy: Canvas.Immediate
    onPointsChanged: requestPaint()
    onWidthChanged: requestPaint()

    readonly property real scaleTop: {
        let m = 10;
        for (let i = 0; i < points.length; ++i)
            m = Math.max(m, points[i]);
        // A round scale: 10, 20, 50, 100, 200, 500, ...
        let scale = 10;
        while (scale < m * 1.1)
            scale *= (String(scale)[0] === "2") ? 2.5 : 2;
        return scale;
    }

    onPaint: {
        const ctx = getContext("2d");
        ctx.reset();
        const w = width, h = height;
        ctx.strokeStyle = Theme.border;
        ctx.lineWidth = 1;
        for (let g = 0; g <= 4; ++g) {
            const y = Math.round(h - 1 - (h - 2) * g / 4) + 0.5;
            ctx.beginPath();
            ctx.moveTo(0, y);
            ctx.lineTo(w, y);
            ctx.stroke();
        }
        if (points.length < 2)
            return;
        const step = w / (capacityPoints - 1);
        const x0 = w - step * (points.length - 1);
        const yOf = v => h - 1 - (h - 2) * Math.min(v, scaleTop) / scaleTop;
        ctx.beginPath();
        ctx.moveTo(x0, h);
        for (let i = 0; i < points.length; ++i)
            ctx.lineTo(x0 + i * step, yOf(points[i]));
        ctx.lineTo(x0 + (points.length - 1) * step, h);
        ctx.closePath();
        const fill = ctx.createLinearGradient(0, 0, 0, h);
        fill.addColorStop(0, Qt.rgba(0.25, 0.8, 0.32, 0.45));
        fill.addColorStop(1, Qt.rgba(0.25, 0.8, 0.32, 0.02));
        ctx.fillStyle = fill;
        ctx.fill();
        ctx.beginPath();
        for (let j = 0; j < points.length; ++j) {
            if (j === 0)
                ctx.moveTo(x0, yOf(points[0]));
            else
                ctx.lineTo(x0 + j * step, yOf(points[j]));
        }
        ctx.strokeStyle = Theme.accent;
        ctx.lineWidth = 2;
        ctx.stroke();
    }

    Text {
        anchors.right: parent.right
        anchors.top: parent.top
        anchors.margins: 2
        text: Theme.number(chart.scaleTop) + "/s"
        color: Theme.dim
        font.family: Theme.font
        font.pixelSize: 10
    }
}
