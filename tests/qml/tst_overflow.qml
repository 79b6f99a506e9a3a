// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// The QML Channel's overflow policies: `overflow` set like `capacity`, and `dropped`.

import QtQuick
import QtTest
import QtChannel

TestCase {
    id: testCase
    name: "Overflow"

    Component {
        id: channelComponent
        Channel {}
    }
    function makeChannel(capacity, overflow) {
        const ch = createTemporaryObject(channelComponent, testCase);
        verify(ch !== null);
        ch.capacity = capacity;
        if (overflow !== undefined)
            ch.overflow = overflow;
        return ch;
    }
    Component {
        id: signalSpyComponent
        SignalSpy {}
    }
    function spy(target, signalName) {
        return createTemporaryObject(signalSpyComponent, testCase,
                                     { target: target, signalName: signalName });
    }
    function drain(ch) {
        const out = [];
        let v;
        while ((v = ch.tryGet()) !== undefined)
            out.push(v);
        return out;
    }

    // --- basics

    function test_default() {
        const ch = createTemporaryObject(channelComponent, testCase);
        compare(ch.overflow, Channel.Wait);
        compare(ch.dropped, 0);
    }

    function test_declared() {
        const declared = Qt.createQmlObject(
            "import QtChannel; Channel { capacity: 2; overflow: Channel.DropOldest }", testCase);
        compare(declared.overflow, Channel.DropOldest);
        for (let i = 1; i <= 5; ++i)
            verify(declared.tryPut(i));
        compare(drain(declared), [4, 5]);
        compare(declared.dropped, 3);
        declared.destroy();
    }

    function test_policies_data() {
        return [
            { tag: "Wait", overflow: Channel.Wait, capacity: 2, accepted: 2, out: [1, 2], dropped: 0 },
            { tag: "DropOldest", overflow: Channel.DropOldest, capacity: 2, accepted: 5, out: [4, 5], dropped: 3 },
            { tag: "DropNewest", overflow: Channel.DropNewest, capacity: 2, accepted: 5, out: [1, 2], dropped: 3 },
            { tag: "conflated", overflow: Channel.DropOldest, capacity: 1, accepted: 5, out: [5], dropped: 4 },
        ];
    }
    function test_policies(data) {
        const ch = makeChannel(data.capacity, data.overflow);
        compare(ch.overflow, data.overflow);
        let accepted = 0;
        for (let i = 1; i <= 5; ++i) {
            if (ch.tryPut(i))
                ++accepted;
        }
        compare(accepted, data.accepted);
        compare(ch.overflow, data.overflow); // fixed now, still readable
        compare(ch.size, data.capacity);
        compare(ch.full, true);
        compare(ch.dropped, data.dropped); // read: the current value
        compare(ch.itemsPutHere, data.accepted);
        compare(drain(ch), data.out);
    }

    function test_putCallbackNeverWaitsWithADropPolicy() {
        const ch = makeChannel(1, Channel.DropNewest);
        const results = [];
        for (let i = 0; i < 3; ++i)
            ch.put(i, function (ok, reason) { results.push([ok, reason]); });
        tryCompare(results, "length", 3, 2000);
        compare(results, [[true, ""], [true, ""], [true, ""]]);
        compare(ch.pendingPuts, 0);
        compare(ch.dropped, 2);
        compare(ch.tryGet(), 0);
    }

    // --- notifications

    function test_droppedIsBindableAndCoalesced() {
        const ch = makeChannel(1, Channel.DropOldest);
        const holder = Qt.createQmlObject(
            "import QtQml; QtObject { property var ch; property real shown: ch ? ch.dropped : -1 }",
            testCase);
        holder.ch = ch;
        compare(holder.shown, 0);
        const changed = spy(ch, "droppedChanged");
        verify(ch.tryPut(0));
        for (let i = 1; i <= 100; ++i)
            verify(ch.tryPut(i));
        tryCompare(holder, "shown", 100, 2000);
        // 100 drops in one event-loop turn: a handful of notifications, not one per item.
        verify(changed.count >= 1 && changed.count <= 3, "droppedChanged " + changed.count + " times");
        compare(ch.tryGet(), 100);
        holder.destroy();
    }

    function test_droppedFromAnotherWrapperIsSeen() {
        // Drops caused by C++ on a shared channel are counted too (the core's count).
        const ch = cppSide.makeShared(-1);
        compare(ch.overflow, Channel.Wait);
        compare(ch.dropped, 0);
        const conflated = cppSide.makeSharedWithOverflow(1, Channel.DropOldest);
        compare(conflated.overflow, Channel.DropOldest);
        const changed = spy(conflated, "droppedChanged");
        verify(cppSide.cppTryPut(1));
        verify(cppSide.cppTryPut(2));
        verify(cppSide.cppTryPut(3));
        tryCompare(changed, "count", 1, 2000);
        compare(conflated.dropped, 2);
        compare(conflated.tryGet(), 3);
    }

    // --- set once, like capacity

    function test_overflowAfterFirstUse_data() {
        return [
            { tag: "tryPut", use: ch => ch.tryPut(1) },
            { tag: "tryGet", use: ch => ch.tryGet() },
            { tag: "get", use: ch => ch.get(function () {}) },
            { tag: "close", use: ch => ch.close() },
        ];
    }
    function test_overflowAfterFirstUse(data) {
        const ch = makeChannel(2, Channel.DropNewest);
        data.use(ch);
        ignoreWarning(/Channel: overflow can only be set before the channel is first used; it stays DropNewest/);
        ch.overflow = Channel.DropOldest;
        compare(ch.overflow, Channel.DropNewest);
        ch.overflow = Channel.DropNewest; // the same value: no warning
    }

    function test_overflowOfASharedChannelIsFixed() {
        const ch = cppSide.makeSharedWithOverflow(2, Channel.DropOldest);
        ignoreWarning(/Channel: overflow can only be set before the channel is first used; it stays DropOldest/);
        ch.overflow = Channel.Wait;
        compare(ch.overflow, Channel.DropOldest);
    }
}
