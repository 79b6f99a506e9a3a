// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// channel.items: the buffered items as a list model, following the channel once a frame.

import QtQuick
import QtTest
import QtChannel

TestCase {
    id: testCase
    name: "Items"

    Channel {
        id: ch
        capacity: 8
    }
    Repeater {
        id: repeater
        model: ch.items
        delegate: Item {
            required property var value
            required property int index
            property var shown: value
        }
    }
    SignalSpy {
        id: inserted
        target: ch.items
        signalName: "rowsInserted"
    }
    SignalSpy {
        id: removed
        target: ch.items
        signalName: "rowsRemoved"
    }
    SignalSpy {
        id: countChanged
        target: ch.items
        signalName: "countChanged"
    }

    function init() {
        ch.items.limit = -1;
        while (ch.tryGet() !== undefined) {}
        tryCompare(ch.items, "count", 0, 2000);
        inserted.clear();
        removed.clear();
        countChanged.clear();
    }

    function values() {
        const out = [];
        for (let i = 0; i < ch.items.count; ++i)
            out.push(ch.items.get(i));
        return out.join(",");
    }

    function test_insertedAtTheBack() {
        ch.tryPut("a");
        ch.tryPut("b");
        ch.tryPut("c");
        inserted.wait(2000);
        compare(inserted.count, 1, "three puts in one frame are one rowsInserted");
        compare(inserted.signalArguments[0][1], 0); // first
        compare(inserted.signalArguments[0][2], 2); // last
        compare(ch.items.count, 3);
        compare(values(), "a,b,c");
        compare(repeater.count, 3);
        compare(repeater.itemAt(0).shown, "a");
        compare(repeater.itemAt(2).shown, "c");

        ch.tryPut("d");
        inserted.wait(2000);
        compare(inserted.signalArguments[1][1], 3);
        compare(inserted.signalArguments[1][2], 3);
        compare(removed.count, 0);
        compare(repeater.itemAt(3).shown, "d");
    }

    function test_removedAtTheFront() {
        for (let i = 0; i < 5; ++i)
            ch.tryPut(i);
        inserted.wait(2000);
        compare(ch.tryGet(), 0);
        compare(ch.tryGet(), 1);
        removed.wait(2000);
        compare(removed.count, 1);
        compare(removed.signalArguments[0][1], 0);
        compare(removed.signalArguments[0][2], 1);
        compare(values(), "2,3,4");
        compare(repeater.itemAt(0).shown, 2);
    }

    function test_takenAndPutInOneFrame() {
        ch.tryPut("a");
        ch.tryPut("b");
        inserted.wait(2000);
        inserted.clear();
        // Within one frame: one leaves at the front, two arrive at the back.
        ch.tryGet();
        ch.tryPut("c");
        ch.tryPut("d");
        removed.wait(2000);
        tryCompare(inserted, "count", 1, 2000);
        compare(removed.signalArguments[0][1], 0);
        compare(removed.signalArguments[0][2], 0);
        compare(inserted.signalArguments[0][1], 1);
        compare(inserted.signalArguments[0][2], 2);
        compare(values(), "b,c,d");
    }

    function test_repeatedValues() {
        // Equal items: the model still moves the right number of rows.
        ch.tryPut("same");
        ch.tryPut("same");
        ch.tryPut("same");
        inserted.wait(2000);
        ch.tryGet();
        ch.tryPut("same");
        removed.wait(2000);
        compare(removed.signalArguments[0][2], 0, "one row left at the front");
        tryCompare(inserted, "count", 2, 2000);
        compare(inserted.signalArguments[1][1], 2, "one row arrived at the back");
        compare(ch.items.count, 3);
    }

    function test_everythingReplaced() {
        for (let i = 0; i < 4; ++i)
            ch.tryPut("old" + i);
        inserted.wait(2000);
        for (let j = 0; j < 4; ++j)
            ch.tryGet();
        for (let k = 0; k < 4; ++k)
            ch.tryPut("new" + k);
        removed.wait(2000);
        compare(removed.signalArguments[0][2], 3);
        tryCompare(inserted, "count", 2, 2000);
        compare(values(), "new0,new1,new2,new3");
    }

    function test_limit() {
        for (let i = 0; i < 6; ++i)
            ch.tryPut(i);
        inserted.wait(2000);
        compare(ch.items.count, 6);
        ch.items.limit = 2;
        compare(ch.items.limit, 2);
        compare(ch.items.count, 2);
        compare(values(), "0,1");
        removed.clear();
        inserted.clear();
        ch.tryGet(); // the window slides: one row out at the front, one in at the back
        removed.wait(2000);
        tryCompare(inserted, "count", 1, 2000);
        compare(values(), "1,2");
        ch.items.limit = -1;
        compare(ch.items.count, 5);
        compare(values(), "1,2,3,4,5");
    }

    function test_modelOnSharedFillsAtOnce() {
        // A model created after items are buffered starts with them.
        const other = createTemporaryObject(channelComponent, testCase);
        other.tryPut("p");
        other.tryPut("q");
        compare(other.items.count, 2);
        compare(other.items.get(0), "p");
        compare(other.items.get(5), undefined);
        compare(other.items.get(-1), undefined);
    }
    Component {
        id: channelComponent
        Channel {}
    }

    function test_notOneSignalPerItem() {
        const big = createTemporaryObject(channelComponent, testCase);
        const spyInserted = createTemporaryObject(spyComponent, testCase,
                                                  { target: big.items, signalName: "rowsInserted" });
        const spySize = createTemporaryObject(spyComponent, testCase,
                                              { target: big, signalName: "sizeChanged" });
        for (let i = 0; i < 5000; ++i)
            big.tryPut(i);
        spyInserted.wait(2000);
        wait(50);
        compare(spyInserted.count, 1);
        compare(spySize.count, 1);
        compare(big.items.count, 5000);
    }
    Component {
        id: spyComponent
        SignalSpy {}
    }
}
