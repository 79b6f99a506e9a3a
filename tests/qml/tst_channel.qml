// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// The QML Channel: every property, the non-waiting methods, close(), and the signals.

import QtQuick
import QtTest
import QtChannel

TestCase {
    id: testCase
    name: "Channel"

    Component {
        id: channelComponent
        Channel {}
    }

    function makeChannel(capacity) {
        const ch = createTemporaryObject(channelComponent, testCase);
        verify(ch !== null);
        if (capacity !== undefined)
            ch.capacity = capacity;
        return ch;
    }

    function spy(target, signalName) {
        return createTemporaryObject(signalSpyComponent, testCase,
                                     { target: target, signalName: signalName });
    }
    Component {
        id: signalSpyComponent
        SignalSpy {}
    }

    // --- basics

    function test_defaults() {
        const ch = makeChannel();
        compare(ch.capacity, -1);
        compare(ch.size, 0);
        compare(ch.empty, true);
        compare(ch.full, false);
        compare(ch.closed, false);
        compare(ch.finished, false);
        compare(ch.itemsPutHere, 0);
        compare(ch.itemsTakenHere, 0);
        compare(ch.pendingPuts, 0);
        compare(ch.pendingGets, 0);
        compare(ch.items.count, 0);
    }

    function test_capacity_data() {
        return [
            { tag: "unbounded", capacity: -1, fullAfter: -1 },
            { tag: "rendezvous", capacity: 0, fullAfter: 0 },
            { tag: "one", capacity: 1, fullAfter: 1 },
            { tag: "five", capacity: 5, fullAfter: 5 },
        ];
    }
    function test_capacity(data) {
        const ch = makeChannel();
        const changed = spy(ch, "capacityChanged");
        ch.capacity = data.capacity;
        compare(ch.capacity, data.capacity);
        compare(changed.count, data.capacity === -1 ? 0 : 1);
        // Fill it: a bounded channel takes exactly `capacity` items, unbounded takes all.
        let accepted = 0;
        for (let i = 0; i < 20; ++i) {
            if (ch.tryPut(i))
                ++accepted;
        }
        compare(accepted, data.fullAfter === -1 ? 20 : data.fullAfter);
        compare(ch.full, data.fullAfter !== -1);
        compare(ch.size, accepted);
        compare(ch.capacity, data.capacity); // fixed now, and still readable
    }

    function test_fifoAndValueTypes() {
        const ch = makeChannel();
        const values = [1, 2.5, "text", true, false, null, { a: 1, b: [1, 2] }, [3, "four"], 0];
        for (let i = 0; i < values.length; ++i)
            verify(ch.tryPut(values[i]));
        compare(ch.size, values.length);
        for (let j = 0; j < values.length; ++j)
            compare(ch.tryGet(), values[j], "item " + j);
        compare(ch.tryGet(), undefined);
        compare(ch.size, 0);
    }

    function test_counters() {
        const ch = makeChannel(2);
        const putSpy = spy(ch, "itemsPutHereChanged");
        const takenSpy = spy(ch, "itemsTakenHereChanged");
        verify(ch.tryPut("a"));
        verify(ch.tryPut("b"));
        verify(!ch.tryPut("c")); // full: not counted
        compare(ch.itemsPutHere, 2);
        compare(ch.tryGet(), "a");
        compare(ch.itemsTakenHere, 1);
        verify(ch.tryGet() !== undefined);
        compare(ch.tryGet(), undefined); // nothing: not counted
        compare(ch.itemsTakenHere, 2);
        tryVerify(() => putSpy.count >= 1 && takenSpy.count >= 1, 5000);
    }

    function test_sizeEmptyFullSignals() {
        const ch = makeChannel(3);
        const sizeSpy = spy(ch, "sizeChanged");
        const emptySpy = spy(ch, "emptyChanged");
        const fullSpy = spy(ch, "fullChanged");
        ch.tryPut(1);
        ch.tryPut(2);
        ch.tryPut(3);
        compare(ch.size, 3);
        compare(ch.full, true);
        compare(ch.empty, false);
        // Notifications come once a frame, not once per item.
        sizeSpy.wait(2000);
        compare(sizeSpy.count, 1);
        compare(emptySpy.count, 1);
        compare(fullSpy.count, 1);
        ch.tryGet();
        ch.tryGet();
        ch.tryGet();
        sizeSpy.wait(2000);
        compare(sizeSpy.count, 2);
        compare(ch.size, 0);
        compare(ch.empty, true);
        compare(ch.full, false);
        tryCompare(emptySpy, "count", 2, 2000);
        tryCompare(fullSpy, "count", 2, 2000);
    }

    // A binding reads the live value and is notified within a frame.
    Channel {
        id: bound
        capacity: 2
    }
    Text {
        id: boundText
        text: bound.size + "/" + bound.capacity + (bound.full ? " full" : "")
              + (bound.closed ? " closed" : "") + (bound.finished ? " finished" : "")
    }
    function test_bindings() {
        compare(boundText.text, "0/2");
        bound.tryPut("x");
        tryCompare(boundText, "text", "1/2", 2000);
        bound.tryPut("y");
        tryCompare(boundText, "text", "2/2 full", 2000);
        bound.close();
        tryCompare(boundText, "text", "2/2 full closed", 2000);
        bound.tryGet();
        bound.tryGet();
        tryCompare(boundText, "text", "0/2 closed finished", 2000);
    }

    // --- close

    function test_closeEmpty() {
        const ch = makeChannel();
        const closedSpy = spy(ch, "closed");
        const finishedSpy = spy(ch, "finished");
        const closedChanged = spy(ch, "closedChanged");
        const finishedChanged = spy(ch, "finishedChanged");
        compare(ch.close(), true);
        compare(ch.close(), false); // harmless, and false
        compare(ch.closed, true);
        compare(ch.finished, true);
        finishedSpy.wait(2000);
        compare(closedSpy.count, 1);
        compare(finishedSpy.count, 1);
        compare(closedChanged.count, 1);
        compare(finishedChanged.count, 1);
        compare(ch.tryGet(), undefined);
    }

    function test_closeThenDrain() {
        const ch = makeChannel(4);
        const closedSpy = spy(ch, "closed");
        const finishedSpy = spy(ch, "finished");
        ch.tryPut("a");
        ch.tryPut("b");
        verify(ch.close());
        closedSpy.wait(2000);
        compare(ch.closed, true);
        compare(ch.finished, false);
        compare(finishedSpy.count, 0);
        compare(ch.tryGet(), "a"); // buffered items can still be taken
        compare(ch.finished, false);
        compare(ch.tryGet(), "b");
        compare(ch.finished, true);
        finishedSpy.wait(2000);
        compare(finishedSpy.count, 1);
        compare(closedSpy.count, 1);
    }

    // --- itemAvailable / spaceAvailable

    function test_itemAvailableDrain() {
        const ch = makeChannel();
        const taken = [];
        const conn = function () {
            let v;
            while ((v = ch.tryGet()) !== undefined)
                taken.push(v);
        };
        ch.itemAvailable.connect(conn);
        for (let round = 0; round < 3; ++round) {
            for (let i = 0; i < 100; ++i)
                ch.tryPut(round * 100 + i);
            tryCompare(taken, "length", (round + 1) * 100, 2000);
        }
        for (let k = 0; k < 300; ++k)
            compare(taken[k], k);
        ch.itemAvailable.disconnect(conn);
    }

    function test_itemAvailableCoalesced() {
        const ch = makeChannel();
        const available = spy(ch, "itemAvailable");
        for (let i = 0; i < 1000; ++i)
            ch.tryPut(i);
        available.wait(2000);
        wait(50); // a later flood of signals would show up here
        compare(available.count, 1);
    }

    function test_spaceAvailable() {
        const ch = makeChannel(1);
        const space = spy(ch, "spaceAvailable");
        verify(ch.tryPut(1));
        verify(!ch.tryPut(2)); // full: arms spaceAvailable
        compare(ch.tryGet(), 1);
        space.wait(2000);
        compare(space.count, 1);
        verify(ch.tryPut(2));
    }

    // --- rendezvous

    function test_rendezvous() {
        const ch = makeChannel(0);
        compare(ch.full, true); // no get waiting
        verify(!ch.tryPut("x"));
        let got;
        ch.get(function (value, ok) {
            verify(ok);
            got = value;
        });
        compare(ch.pendingGets, 1);
        compare(ch.full, false); // a get is waiting: a put can hand over
        verify(ch.tryPut("x"));
        compare(ch.size, 0); // never buffered
        tryVerify(() => got === "x", 2000, "the waiting get received the item");
        compare(ch.itemsPutHere, 1);
        compare(ch.itemsTakenHere, 1);
    }

    function test_pendingCounts() {
        const ch = makeChannel(1);
        const putsSpy = spy(ch, "pendingPutsChanged");
        const getsSpy = spy(ch, "pendingGetsChanged");
        ch.get(function () {});
        ch.get(function () {});
        compare(ch.pendingGets, 2);
        getsSpy.wait(2000);
        ch.tryPut(1);
        ch.tryPut(2);
        tryCompare(ch, "pendingGets", 0, 2000);
        ch.tryPut(3);
        ch.put(4);
        ch.put(5);
        compare(ch.pendingPuts, 2);
        tryVerify(() => putsSpy.count >= 1, 2000);
        ch.close(); // fails both waiting puts
        compare(ch.pendingPuts, 0);
        tryVerify(() => getsSpy.count >= 2 && putsSpy.count >= 2, 2000);
    }
}
