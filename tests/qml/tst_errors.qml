// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// Hostile input from QML: every misuse gets a clear error (a TypeError or a qmlWarning, as
// docs/qml.md says), never undefined behaviour, and leaves the channel working.

import QtQuick
import QtTest
import QtChannel

TestCase {
    id: testCase
    name: "Errors"

    Component {
        id: channelComponent
        Channel {}
    }
    function makeChannel(capacity) {
        const ch = createTemporaryObject(channelComponent, testCase);
        if (capacity !== undefined)
            ch.capacity = capacity;
        return ch;
    }

    // Runs f, which must throw an error whose message matches `pattern`.
    function expectThrow(f, pattern, errorType) {
        let caught = null;
        try {
            f();
        } catch (e) {
            caught = e;
        }
        verify(caught !== null, "expected an exception matching " + pattern);
        verify(pattern.test(String(caught)), "unexpected message: " + caught);
        if (errorType)
            verify(caught instanceof errorType, "not a " + errorType.name + ": " + caught);
    }

    function test_badItems_data() {
        return [
            { tag: "tryPut(undefined)", f: ch => ch.tryPut(undefined),
              pattern: /Channel.tryPut\(\): undefined cannot be put/ },
            { tag: "tryPut(function)", f: ch => ch.tryPut(function () {}),
              pattern: /Channel.tryPut\(\): a function cannot be put/ },
            { tag: "put(undefined)", f: ch => ch.put(undefined),
              pattern: /Channel.put\(\): undefined cannot be put/ },
            { tag: "put(function)", f: ch => ch.put(() => 1, function () {}),
              pattern: /Channel.put\(\): a function cannot be put/ },
            { tag: "put(1, 42)", f: ch => ch.put(1, 42),
              pattern: /Channel.put\(\): the callback must be a function/ },
            { tag: "put(1, 'x')", f: ch => ch.put(1, "x"),
              pattern: /Channel.put\(\): the callback must be a function/ },
            { tag: "get(undefined)", f: ch => ch.get(undefined),
              pattern: /Channel.get\(\): a callback function is required/ },
            { tag: "get(null)", f: ch => ch.get(null),
              pattern: /Channel.get\(\): a callback function is required/ },
            { tag: "get({})", f: ch => ch.get({}),
              pattern: /Channel.get\(\): the callback must be a function/ },
        ];
    }
    function test_badItems(data) {
        const ch = makeChannel();
        expectThrow(() => data.f(ch), data.pattern, TypeError);
        // Nothing happened: no item, no waiter, and the channel still works.
        compare(ch.size, 0);
        compare(ch.pendingGets, 0);
        compare(ch.pendingPuts, 0);
        compare(ch.itemsPutHere, 0);
        verify(ch.tryPut("ok"));
        compare(ch.tryGet(), "ok");
    }

    function test_missingArguments() {
        const ch = makeChannel();
        expectThrow(() => ch.tryPut(), /Insufficient arguments/);
        expectThrow(() => ch.get(), /Insufficient arguments/);
        expectThrow(() => ch.put(), /callable overload/);
        compare(ch.size, 0);
    }

    function test_nullIsAValue() {
        const ch = makeChannel();
        verify(ch.tryPut(null));
        let got;
        ch.put(null, null); // a null callback is no callback
        ch.get(function (value, ok) { got = [value, ok]; });
        tryVerify(() => got !== undefined, 2000);
        compare(got[0], null);
        compare(got[1], true);
        compare(ch.tryGet(), null);
    }

    function test_badCapacity_data() {
        return [
            { tag: "-2", value: -2 },
            { tag: "-100", value: -100 },
            { tag: "NaN", value: NaN },
            { tag: "1e12", value: 1e12 },
            { tag: "-Infinity", value: -Infinity },
        ];
    }
    function test_badCapacity(data) {
        const ch = makeChannel(3);
        ignoreWarning(/Channel: invalid capacity -?\d+ \(use -1 for unbounded, 0 for rendezvous or a bound n >= 1.*it stays 3/);
        ch.capacity = data.value;
        compare(ch.capacity, 3);
        // Still usable with the capacity it kept.
        for (let i = 0; i < 3; ++i)
            verify(ch.tryPut(i));
        verify(!ch.tryPut(3));
    }

    function test_capacityWrongType_data() {
        return [
            { tag: "string", value: "abc", pattern: /Cannot assign QString to int/ },
            { tag: "null", value: null, pattern: /Cannot assign .*null.* to int/ },
            { tag: "undefined", value: undefined, pattern: /Cannot assign \[undefined\] to int/ },
            { tag: "object", value: ({}), pattern: /Cannot assign .* to int/ },
        ];
    }
    function test_capacityWrongType(data) {
        const ch = makeChannel(2);
        expectThrow(() => { ch.capacity = data.value; }, data.pattern);
        compare(ch.capacity, 2);
    }

    function test_capacityAfterFirstUse_data() {
        return [
            { tag: "tryPut", use: ch => ch.tryPut(1) },
            { tag: "tryGet", use: ch => ch.tryGet() },
            { tag: "put", use: ch => ch.put(1) },
            { tag: "get", use: ch => ch.get(function () {}) },
            { tag: "close", use: ch => ch.close() },
        ];
    }
    function test_capacityAfterFirstUse(data) {
        const ch = makeChannel(2);
        data.use(ch);
        ignoreWarning(/Channel: capacity can only be set before the channel is first used; it stays 2/);
        ch.capacity = 5;
        compare(ch.capacity, 2);
        ch.capacity = 2; // the same value: nothing to refuse, no warning
        compare(ch.capacity, 2);
    }

    function test_putAfterClose() {
        const ch = makeChannel();
        verify(ch.close());
        ignoreWarning(/Channel: put on a closed channel; the item was refused/);
        verify(!ch.tryPut(1));
        verify(!ch.tryPut(2)); // reported once per channel
        let result;
        ch.put(3, function (ok) { result = ok; });
        tryVerify(() => result !== undefined, 2000);
        compare(result, false);
        compare(ch.size, 0);
        compare(ch.itemsPutHere, 0);
    }

    function test_callsAfterFinished() {
        const ch = makeChannel();
        ch.tryPut("last");
        ch.close();
        compare(ch.tryGet(), "last");
        compare(ch.finished, true);
        compare(ch.tryGet(), undefined);
        compare(ch.close(), false);
        let got;
        ch.get(function (value, ok) { got = [value, ok]; });
        tryVerify(() => got !== undefined, 2000);
        compare(got[0], undefined);
        compare(got[1], false);
    }

    function test_badLimit() {
        const ch = makeChannel();
        ch.tryPut(1);
        ignoreWarning(/ChannelItems: invalid limit -3 \(use -1 for all items or n >= 0\); it stays -1/);
        ch.items.limit = -3;
        compare(ch.items.limit, -1);
        compare(ch.items.count, 1);
    }

    function test_itemsModelIsNotCreatable() {
        const o = Qt.createQmlObject("import QtQml; QtObject {}", testCase);
        verify(o !== null);
        expectThrow(() => Qt.createQmlObject("import QtChannel; ChannelItems {}", testCase),
                    /ChannelItems is the items property of a Channel/);
        o.destroy();
    }

    function test_wrapperDestroyedAfterItsGetTookAnItem() {
        // The get took the item at once; its callback is still queued when the wrapper goes.
        const ch = cppSide.makeShared(-1);
        cppSide.cppTryPut("taken");
        let called = false;
        ch.get(function () { called = true; });
        ignoreWarning(/Channel destroyed while 1 item\(s\) taken by get\(\) waited for their callbacks: dropped/);
        cppSide.deleteWrapper();
        wait(20);
        verify(!called);
        compare(cppSide.cppSize(), 0);
    }
}
