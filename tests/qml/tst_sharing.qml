// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT

// A Channel<QVariant> created in C++ (tst_qml.cpp, `cppSide`), handed to QML as a QmlChannel
// and driven from both sides, from C++ threads too.

import QtQuick
import QtTest
import QtChannel

TestCase {
    id: testCase
    name: "Sharing"

    function cleanup() {
        cppSide.join();
    }

    function test_capacityIsTheChannels() {
        const ch = cppSide.makeShared(4);
        compare(ch.capacity, 4);
        ignoreWarning(/capacity can only be set before the channel is first used; it stays 4/);
        ch.capacity = 9;
        compare(ch.capacity, 4);
    }

    function test_bothSidesSeeTheSameItems() {
        const ch = cppSide.makeShared(-1);
        verify(cppSide.cppTryPut("from C++"));
        verify(ch.tryPut("from QML"));
        compare(ch.size, 2);
        compare(cppSide.cppSize(), 2);
        compare(ch.tryGet(), "from C++");
        compare(cppSide.cppTryGet(), "from QML");
        // Direct C++ calls are not counted by the wrapper; its own are.
        compare(ch.itemsPutHere, 1);
        compare(ch.itemsTakenHere, 1);
        verify(cppSide.cppClose());
        compare(ch.closed, true);
        compare(ch.finished, true);
    }

    function test_invalidVariantArrivesAsNull() {
        const ch = cppSide.makeShared(-1);
        verify(cppSide.cppTryPut(undefined)); // an invalid QVariant, put by C++
        compare(ch.size, 1);
        compare(ch.tryGet(), null);
    }

    SignalSpy {
        id: finishedSpy
        signalName: "finished"
    }

    function test_cppThreadProducesQmlConsumes() {
        const ch = cppSide.makeShared(16);
        const got = [];
        const drain = function () {
            let v;
            while ((v = ch.tryGet()) !== undefined)
                got.push(v);
        };
        ch.itemAvailable.connect(drain);
        finishedSpy.target = ch;
        finishedSpy.clear();
        cppSide.startProducer(2000, true); // putBlocking: waits while QML lags, then closes
        finishedSpy.wait(20000);
        compare(got.length, 2000);
        for (let i = 0; i < got.length; ++i) {
            if (got[i] !== i)
                fail("item " + i + " is " + got[i]);
        }
        compare(ch.finished, true);
        compare(ch.itemsTakenHere, 2000);
        ch.itemAvailable.disconnect(drain);
    }

    function test_qmlProducesCppThreadConsumes() {
        const ch = cppSide.makeShared(4);
        cppSide.startConsumer();
        let accepted = 0;
        for (let i = 0; i < 500; ++i)
            ch.put(i, function (ok) { if (ok) ++accepted; });
        tryVerify(() => accepted === 500, 20000, "every put was accepted");
        ch.close();
        tryCompare(ch, "finished", true, 20000);
        cppSide.join();
        const consumed = cppSide.consumed();
        compare(consumed.length, 500);
        for (let k = 0; k < 500; ++k)
            compare(consumed[k], k);
        compare(ch.itemsPutHere, 500);
    }

    function test_getServedByCppThread() {
        const ch = cppSide.makeShared(0);
        const got = [];
        for (let i = 0; i < 3; ++i)
            ch.get(function (value, ok) { got.push(ok ? value : "closed"); });
        cppSide.startProducer(3, true);
        tryCompare(got, "length", 3, 20000);
        compare(got.join(","), "0,1,2");
    }

    function test_itemsBufferedBeforeWrapping() {
        let ch = cppSide.makeShared(-1);
        cppSide.deleteWrapper();
        cppSide.cppTryPut("early");
        ch = cppSide.wrapAgain();
        const spy = createTemporaryObject(spyComponent, testCase,
                                          { target: ch, signalName: "itemAvailable" });
        spy.wait(2000); // the wrapper announces items that were there before it listened
        compare(ch.tryGet(), "early");
        compare(ch.items.count, 0);
    }
    Component {
        id: spyComponent
        SignalSpy {}
    }

    function test_wrapperDestroyedWithPendingGet() {
        const ch = cppSide.makeShared(-1);
        let called = false;
        ch.get(function () { called = true; });
        compare(ch.pendingGets, 1);
        cppSide.deleteWrapper();
        // The canceled get never swallows an item: C++ gets it back.
        verify(cppSide.cppTryPut("kept"));
        compare(cppSide.cppTryGet(), "kept");
        wait(20);
        verify(!called);
    }

    function test_requiredProperty() {
        const ch = cppSide.makeShared(3);
        const o = cppSide.createWithRequired(
            "import QtQml; import QtChannel; QtObject { required property Channel channel; "
            + "readonly property string state: channel.size + '/' + channel.capacity }", ch);
        verify(o !== null);
        verify(o.channel === ch);
        compare(o.state, "0/3");
        cppSide.cppTryPut(1);
        tryCompare(o, "state", "1/3", 2000);
    }

    // Runs last (test functions run in name order): a C++-owned wrapper keeps a waiting get
    // and a waiting put, with their JavaScript callbacks, until the engine is torn down after
    // this file. The sanitizer builds check that this leaves no dangling access.
    function test_zz_pendingCallbacksOutliveTheEngine() {
        const ch = cppSide.makeShared(1);
        ch.tryPut("fills it");
        ch.put("waits", function (ok) {});
        compare(ch.pendingPuts, 1);
        const other = cppSide.wrapAgain();
        verify(other !== ch);
        cppSide.cppTryGet();
        cppSide.cppTryGet();
        other.get(function (value, ok) {});
        tryCompare(other, "pendingGets", 1, 2000);
    }
}
