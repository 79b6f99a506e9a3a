// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// Closing with a reason from QML: close(reason), closeReason, and the reason handed to the
// put() and get() callbacks that fail because of the close.

import QtQuick
import QtTest
import QtChannel

TestCase {
    id: testCase
    name: "Reasons"

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
    Component {
        id: signalSpyComponent
        SignalSpy {}
    }
    function spy(target, signalName) {
        return createTemporaryObject(signalSpyComponent, testCase,
                                     { target: target, signalName: signalName });
    }
    function cleanup() {
        cppSide.join();
    }

    // --- closeReason

    function test_emptyWhileOpen() {
        const ch = makeChannel();
        compare(ch.closeReason, "");
        verify(ch.tryPut(1));
        compare(ch.closeReason, "");
    }

    function test_closeWithReason() {
        const ch = makeChannel();
        const changed = spy(ch, "closeReasonChanged");
        const closed = spy(ch, "closed");
        verify(ch.close("disk full"));
        compare(ch.closed, true);
        compare(ch.finished, true);
        compare(ch.closeReason, "disk full"); // read at once
        tryCompare(changed, "count", 1, 2000);
        tryCompare(closed, "count", 1, 2000);
        compare(changed.count, 1);
    }

    function test_bindingSeesTheReason() {
        const ch = makeChannel();
        const holder = Qt.createQmlObject(
            "import QtQml; QtObject { property var ch; property string shown: ch ? ch.closeReason : '?' }",
            testCase);
        holder.ch = ch;
        compare(holder.shown, "");
        ch.close("stopped by the user");
        tryCompare(holder, "shown", "stopped by the user", 2000);
        holder.destroy();
    }

    function test_plainCloseHasNoReason_data() {
        return [
            { tag: "close()", close: ch => ch.close() },
            { tag: "close(undefined)", close: ch => ch.close(undefined) },
            { tag: "close(null)", close: ch => ch.close(null) },
        ];
    }
    function test_plainCloseHasNoReason(data) {
        const ch = makeChannel();
        let got;
        ch.get(function (value, ok, reason) { got = [value, ok, reason]; });
        verify(data.close(ch));
        tryVerify(() => got !== undefined, 2000);
        compare(got, [undefined, false, ""]);
        compare(ch.closeReason, "");
    }

    function test_errorObjectAsReason() {
        const ch = makeChannel();
        verify(ch.close(new Error("parser failed at line 3")));
        compare(ch.closeReason, "parser failed at line 3");
    }

    function test_onlyTheClosingCallsReasonCounts() {
        const ch = makeChannel();
        verify(ch.close("first"));
        verify(!ch.close("second"));
        verify(!ch.close());
        compare(ch.closeReason, "first");
        const again = makeChannel();
        verify(again.close());
        verify(!again.close("too late"));
        compare(again.closeReason, "");
    }

    // --- the callbacks

    function test_pendingGetsGetTheReason() {
        const ch = makeChannel();
        const got = [];
        for (let i = 0; i < 3; ++i)
            ch.get(function (value, ok, reason) { got.push([value, ok, reason]); });
        tryCompare(ch, "pendingGets", 3, 2000);
        verify(ch.close("upstream failed"));
        tryCompare(got, "length", 3, 2000);
        for (let i = 0; i < 3; ++i)
            compare(got[i], [undefined, false, "upstream failed"]);
    }

    function test_pendingAndLaterPutsGetTheReason() {
        const ch = makeChannel(1);
        verify(ch.tryPut("in"));
        const got = [];
        ch.put("waits", function (ok, reason) { got.push(["waits", ok, reason]); });
        tryCompare(ch, "pendingPuts", 1, 2000);
        verify(ch.close("no more input"));
        tryCompare(got, "length", 1, 2000);
        ignoreWarning(/Channel: put on a closed channel; the item was refused/);
        ch.put("late", function (ok, reason) { got.push(["late", ok, reason]); });
        tryCompare(got, "length", 2, 2000);
        compare(got[0], ["waits", false, "no more input"]);
        compare(got[1], ["late", false, "no more input"]);
        compare(ch.itemsPutHere, 1);
    }

    function test_bufferedItemsStillComeOutThenTheReason() {
        const ch = makeChannel();
        verify(ch.tryPut(1));
        verify(ch.tryPut(2));
        verify(ch.close("end of file"));
        compare(ch.finished, false);
        const got = [];
        for (let i = 0; i < 3; ++i)
            ch.get(function (value, ok, reason) { got.push([value, ok, reason]); });
        tryCompare(got, "length", 3, 2000);
        compare(got[0], [1, true, ""]);
        compare(got[1], [2, true, ""]);
        compare(got[2], [undefined, false, "end of file"]);
        compare(ch.finished, true);
    }

    function test_putCallbackSucceedsWithoutReason() {
        const ch = makeChannel();
        let got;
        ch.put(1, function (ok, reason) { got = [ok, reason]; });
        tryVerify(() => got !== undefined, 2000);
        compare(got, [true, ""]);
    }

    // --- C++ sharing the channel

    function test_cppSeesTheReason() {
        const ch = cppSide.makeShared(-1);
        verify(ch.tryPut(1));
        verify(ch.close("from QML"));
        compare(cppSide.cppCloseReason(), "from QML");
        compare(cppSide.cppJoinResult(), "pending"); // an item is still buffered
        compare(cppSide.cppTryGet(), 1);
        compare(cppSide.cppJoinResult(), "failed: from QML");
    }

    function test_cppThreadBlockedInGetSeesTheReason() {
        const ch = cppSide.makeShared(-1);
        cppSide.startConsumer();
        tryCompare(ch, "pendingGets", 1, 5000);
        verify(ch.close("shutdown"));
        cppSide.join(); // the consumer thread left: getBlocking() returned nothing
        compare(cppSide.cppJoinResult(), "failed: shutdown");
    }

    function test_qmlSeesACppReason() {
        const ch = cppSide.makeShared(-1);
        let got;
        ch.get(function (value, ok, reason) { got = [value, ok, reason]; });
        tryCompare(ch, "pendingGets", 1, 2000);
        verify(cppSide.cppCloseWithError("std::runtime_error from C++"));
        tryVerify(() => got !== undefined, 2000);
        compare(got, [undefined, false, "std::runtime_error from C++"]);
        compare(ch.closeReason, "std::runtime_error from C++");
        tryCompare(ch, "closed", true, 2000);
    }

    function test_plainJoinAfterPlainClose() {
        const ch = cppSide.makeShared(-1);
        verify(ch.close());
        compare(cppSide.cppJoinResult(), "finished");
    }
}
