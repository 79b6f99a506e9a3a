// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// put(value, callback) and get(callback): waiting without polling, and close with callbacks
// still pending.

import QtQuick
import QtTest
import QtChannel

TestCase {
    id: testCase
    name: "Callbacks"

    Component {
        id: channelComponent
        Channel {}
    }
    function makeChannel(capacity) {
        const ch = createTemporaryObject(channelComponent, testCase);
        ch.capacity = capacity;
        return ch;
    }

    function test_getReadyIsStillAsynchronous() {
        const ch = makeChannel(-1);
        ch.tryPut("a");
        const calls = [];
        ch.get(function (value, ok) { calls.push([value, ok]); });
        compare(calls.length, 0, "the callback never runs inside get()");
        compare(ch.size, 0, "but the item was taken at once");
        tryCompare(calls, "length", 1, 2000);
        compare(calls[0][0], "a");
        compare(calls[0][1], true);
        compare(ch.itemsTakenHere, 1);
    }

    function test_getWaitsForPut() {
        const ch = makeChannel(-1);
        const calls = [];
        ch.get(function (value, ok) { calls.push([value, ok]); });
        wait(20);
        compare(calls.length, 0);
        compare(ch.pendingGets, 1);
        ch.tryPut({ n: 7 });
        tryCompare(calls, "length", 1, 2000);
        compare(calls[0][0].n, 7);
        compare(calls[0][1], true);
        compare(ch.pendingGets, 0);
    }

    function test_getsServedInOrder() {
        const ch = makeChannel(-1);
        const order = [];
        for (let i = 0; i < 5; ++i)
            ch.get(function (value, ok) { order.push(i + ":" + value); });
        for (let j = 0; j < 5; ++j)
            ch.tryPut("v" + j);
        tryCompare(order, "length", 5, 2000);
        compare(order.join(" "), "0:v0 1:v1 2:v2 3:v3 4:v4");
    }

    function test_putReadyAndWaiting() {
        const ch = makeChannel(1);
        const results = [];
        ch.put("a", function (ok) { results.push("a:" + ok); });
        ch.put("b", function (ok) { results.push("b:" + ok); });
        compare(results.length, 0);
        compare(ch.size, 1);
        compare(ch.pendingPuts, 1);
        tryCompare(results, "length", 1, 2000);
        compare(results[0], "a:true");
        compare(ch.tryGet(), "a"); // makes room: the waiting "b" is accepted
        tryCompare(results, "length", 2, 2000);
        compare(results[1], "b:true");
        compare(ch.tryGet(), "b");
        compare(ch.itemsPutHere, 2);
    }

    function test_putWithoutCallback() {
        const ch = makeChannel(1);
        ch.put("a");
        ch.put("b");
        compare(ch.pendingPuts, 1);
        compare(ch.tryGet(), "a");
        compare(ch.tryGet(), "b");
        tryCompare(ch, "itemsPutHere", 2, 2000);
    }

    function test_closeFailsPendingGets() {
        const ch = makeChannel(-1);
        const calls = [];
        for (let i = 0; i < 3; ++i)
            ch.get(function (value, ok) { calls.push({ value: value, ok: ok }); });
        compare(ch.pendingGets, 3);
        verify(ch.close());
        tryCompare(calls, "length", 3, 2000);
        for (let k = 0; k < 3; ++k) {
            compare(calls[k].ok, false);
            compare(calls[k].value, undefined);
        }
        compare(ch.pendingGets, 0);
        compare(ch.finished, true);
        compare(ch.itemsTakenHere, 0);
    }

    function test_closeFailsPendingPuts() {
        const ch = makeChannel(1);
        const results = [];
        ch.put("kept", function (ok) { results.push("kept:" + ok); });
        ch.put("lost1", function (ok) { results.push("lost1:" + ok); });
        ch.put("lost2", function (ok) { results.push("lost2:" + ok); });
        compare(ch.pendingPuts, 2);
        verify(ch.close());
        tryCompare(results, "length", 3, 2000);
        compare(results.join(" "), "kept:true lost1:false lost2:false");
        // The refused items are not in the channel; the accepted one still is.
        compare(ch.size, 1);
        compare(ch.tryGet(), "kept");
        compare(ch.tryGet(), undefined);
        compare(ch.finished, true);
        compare(ch.itemsPutHere, 1);
    }

    function test_getAfterFinished() {
        const ch = makeChannel(-1);
        ch.close();
        const calls = [];
        ch.get(function (value, ok) { calls.push(ok); });
        tryCompare(calls, "length", 1, 2000);
        compare(calls[0], false);
    }

    function test_getDrainsAfterClose() {
        const ch = makeChannel(-1);
        ch.tryPut(1);
        ch.tryPut(2);
        ch.close();
        const got = [];
        for (let i = 0; i < 3; ++i)
            ch.get(function (value, ok) { got.push(ok ? value : "end"); });
        tryCompare(got, "length", 3, 2000);
        compare(got.join(","), "1,2,end");
    }

    function test_rendezvousPutWaitsForGet() {
        const ch = makeChannel(0);
        const events = [];
        ch.put("hand-over", function (ok) { events.push("put:" + ok); });
        wait(20);
        compare(events.length, 0, "a rendezvous put completes only when a get takes its item");
        compare(ch.pendingPuts, 1);
        compare(ch.tryGet(), "hand-over");
        tryCompare(events, "length", 1, 2000);
        compare(events[0], "put:true");
    }

    function test_callbackMayCallBack() {
        // A callback that puts and gets again (re-entrancy into the channel).
        const ch = makeChannel(-1);
        const seen = [];
        function loop(value, ok) {
            if (!ok)
                return;
            seen.push(value);
            if (value < 5)
                ch.put(value + 1);
            ch.get(loop);
        }
        ch.get(loop);
        ch.tryPut(0);
        tryCompare(seen, "length", 6, 2000);
        compare(seen.join(","), "0,1,2,3,4,5");
        ch.close(); // fails the last waiting get, which stops the loop
        tryCompare(ch, "pendingGets", 0, 2000);
    }

    function test_throwingCallbackIsReported() {
        const ch = makeChannel(-1);
        ch.tryPut(1);
        ignoreWarning(/a get\(\) callback threw: Error: boom/);
        let after = false;
        ch.get(function () { throw new Error("boom"); });
        ch.get(function (value, ok) { after = true; });
        ch.tryPut(2);
        tryVerify(() => after, 2000, "a throwing callback does not stop the next one");
    }

    // docs/qml.md: callbacks wrap into Promises in a few lines.
    function getAsync(ch) {
        return new Promise(function (resolve, reject) {
            ch.get(function (value, ok) {
                if (ok)
                    resolve(value);
                else
                    reject(new Error("channel finished"));
            });
        });
    }
    function test_promiseWrapper() {
        const ch = makeChannel(-1);
        const log = [];
        getAsync(ch).then(v => log.push("got " + v));
        getAsync(ch).then(v => log.push("got " + v), e => log.push(e.message));
        ch.tryPut(42);
        ch.close();
        tryCompare(log, "length", 2, 2000);
        compare(log.join("; "), "got 42; channel finished");
    }

    function test_destroyWithPendingCallbacks() {
        // Destroying the Channel cancels its waiting gets and puts; nothing is called back.
        const ch = channelComponent.createObject(testCase, { capacity: 1 });
        let called = 0;
        ch.tryPut("x");
        ch.put("y", function () { ++called; });
        ch.destroy();
        wait(50);
        compare(called, 0);
    }
}
