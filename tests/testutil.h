// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

// Shared by the QtChannel test suites: item types and small helpers.

#include <QtChannel/Channel>

#include <QtCore/QCoreApplication>
#include <QtCore/QDeadlineTimer>
#include <QtCore/QString>
#include <QtCore/QThread>
#include <QtTest/QTest>

#include <atomic>
#include <memory>
#include <optional>
#include <type_traits>

namespace TestUtil {

// A move-only item.
class MoveOnly {
public:
    explicit MoveOnly(int v = 0)
        : m_value(std::make_unique<int>(v)) {}
    MoveOnly(MoveOnly &&) noexcept = default;
    MoveOnly &operator=(MoveOnly &&) noexcept = default;
    int value() const { return m_value ? *m_value : -1; }
    bool isMovedFrom() const { return !m_value; }

private:
    std::unique_ptr<int> m_value;
};

// A type whose move constructor may throw (it never does here), like many older classes:
// the channel keeps such items out of its lock-free ring.
class MayThrowMove {
public:
    explicit MayThrowMove(int v = 0)
        : m_value(v) {}
    MayThrowMove(const MayThrowMove &) = default;
    MayThrowMove(MayThrowMove &&o) noexcept(false)
        : m_value(o.m_value) {}
    MayThrowMove &operator=(const MayThrowMove &) = default;
    MayThrowMove &operator=(MayThrowMove &&) = default;
    int value() const { return m_value; }

private:
    int m_value;
};
static_assert(!std::is_nothrow_move_constructible_v<MayThrowMove>);

// Counts live instances, to prove the channel destroys what it owns and nothing more.
class Counted {
public:
    explicit Counted(int v = 0)
        : m_value(v) {
        ++s_live;
    }
    Counted(const Counted &o)
        : m_value(o.m_value) {
        ++s_live;
    }
    Counted(Counted &&o) noexcept
        : m_value(o.m_value) {
        ++s_live;
    }
    Counted &operator=(const Counted &) = default;
    Counted &operator=(Counted &&) noexcept = default;
    ~Counted() { --s_live; }
    int value() const { return m_value; }
    static int live() { return s_live.load(); }

private:
    int m_value;
    static inline std::atomic<int> s_live{0};
};

// Item<T>: make a T from an int and read it back, so one test body serves every item type.
template <typename T> struct Item;
template <> struct Item<int> {
    static int make(int v) { return v; }
    static int value(int v) { return v; }
    static const char *name() { return "int"; }
};
template <> struct Item<QString> {
    static QString make(int v) { return QString::number(v); }
    static int value(const QString &v) { return v.toInt(); }
    static const char *name() { return "QString"; }
};
template <> struct Item<MoveOnly> {
    static MoveOnly make(int v) { return MoveOnly(v); }
    static int value(const MoveOnly &v) { return v.value(); }
    static const char *name() { return "MoveOnly"; }
};

template <> struct Item<MayThrowMove> {
    static MayThrowMove make(int v) { return MayThrowMove(v); }
    static int value(const MayThrowMove &v) { return v.value(); }
    static const char *name() { return "MayThrowMove"; }
};

// Within its scope, canceled futures are found lazily (when the channel next looks at them),
// as without Qt's private headers: for the tests of that path, which the prompt sweeper
// would otherwise race.
class LazyCancellation {
public:
    LazyCancellation() { QtChannel::detail::CancelWatch::setEnabled(false); }
    ~LazyCancellation() { QtChannel::detail::CancelWatch::setEnabled(true); }
    LazyCancellation(const LazyCancellation &) = delete;
    LazyCancellation &operator=(const LazyCancellation &) = delete;
};

// Waits, processing events, until `pred` holds. The deadline only bounds a failing test; a
// passing one returns as soon as the condition is true.
template <typename Pred> bool waitFor(Pred &&pred, int timeoutMs = 20000) {
    QDeadlineTimer deadline(timeoutMs);
    while (!pred()) {
        if (deadline.hasExpired())
            return false;
        QCoreApplication::processEvents(QEventLoop::AllEvents, 10);
        QThread::yieldCurrentThread();
    }
    return true;
}

// Runs `fn` for every item type, stopping at the first failure.
#define QTCHANNEL_FOR_EACH_ITEM_TYPE(fn)                                                           \
    do {                                                                                           \
        fn<int>();                                                                                 \
        if (QTest::currentTestFailed())                                                            \
            return;                                                                                \
        fn<QString>();                                                                             \
        if (QTest::currentTestFailed())                                                            \
            return;                                                                                \
        fn<TestUtil::MoveOnly>();                                                                  \
        if (QTest::currentTestFailed())                                                            \
            return;                                                                                \
        fn<TestUtil::MayThrowMove>();                                                              \
    } while (false)

} // namespace TestUtil
