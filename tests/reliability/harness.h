// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

// The harness: drives a real Channel<Tracked> and the model (model.h) with the same
// operation, and compares every observable after every step (see model.h for what the
// contract leaves open and how the comparison accepts it).

#include "items.h"
#include "model.h"

#include <QtCore/QCoreApplication>
#include <QtCore/QDeadlineTimer>
#include <QtCore/QObject>

#include <algorithm>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace Rel {

class Harness {
public:
    // `waitMs`: the deadline of the blocking operations that wait.
    explicit Harness(qsizetype capacity, int waitMs = 2)
        : m_model(capacity)
        , m_waitMs(waitMs) {
        m_ch = std::make_unique<QtChannel::Channel<Tracked>>(capacity);
        using QtChannel::ChannelBase;
        QObject::connect(m_ch.get(), &ChannelBase::sizeChanged, m_ch.get(), [this](qsizetype n) {
            m_signals.push_back({Sig::SizeChanged, n});
        });
        QObject::connect(m_ch.get(), &ChannelBase::itemAvailable, m_ch.get(),
                         [this] { m_signals.push_back({Sig::ItemAvailable}); });
        QObject::connect(m_ch.get(), &ChannelBase::spaceAvailable, m_ch.get(),
                         [this] { m_signals.push_back({Sig::SpaceAvailable}); });
        QObject::connect(m_ch.get(), &ChannelBase::closed, m_ch.get(),
                         [this] { m_signals.push_back({Sig::Closed}); });
        QObject::connect(m_ch.get(), &ChannelBase::finished, m_ch.get(),
                         [this] { m_signals.push_back({Sig::Finished}); });
    }

    ~Harness() {
        m_ch.reset();
        delete m_context;
        runEventLoop();
    }

    Harness(const Harness &) = delete;
    Harness &operator=(const Harness &) = delete;

    // Runs one operation on both and compares. Returns an empty string or what differed.
    std::string step(const Op &op) {
        m_signals.clear();
        m_model.signalsOut.clear();
        m_log.str({});
        m_log << opName(op.kind);
        std::string error = apply(op);
        if (error.empty())
            error = compare();
        return error;
    }

    // Destroys the channel (and the forEach context) and checks what destruction promises,
    // then that no item outlives the channel and its futures.
    std::string destroy() {
        m_signals.clear();
        m_log.str({});
        m_log << "destroy";
        m_ch.reset();
        m_model.destroy();
        if (!m_signals.empty())
            return "destruction emitted a signal";
        std::string error = compareFutures();
        if (!error.empty())
            return error;
        delete m_context;
        m_context = nullptr;
        runEventLoop();
        m_real.clear();
        if (Tracked::live() != m_liveBefore)
            return "items outlive the channel and its futures: " +
                   std::to_string(Tracked::live() - m_liveBefore) + " left";
        return {};
    }

    // For proving the harness can fail: applies `op` (TryPut or Close) to the model only.
    std::string stepModelOnly(const Op &op) {
        m_signals.clear();
        m_model.signalsOut.clear();
        if (op.kind == OpKind::Close)
            m_model.close();
        else
            m_model.tryPut(m_next++);
        return compare();
    }

    std::string lastStep() const { return m_log.str(); }
    qsizetype capacity() const { return m_model.cap; }
    quint64 comparisons() const { return m_comparisons; }
    int notWaited() const { return m_notWaited; }

private:
    struct RealFuture {
        ModelFuture::Kind kind;
        QFuture<Tracked> get;
        QFuture<void> other;
        bool seenFinished = false;
        bool isFinished() const {
            return kind == ModelFuture::GetF ? get.isFinished() : other.isFinished();
        }
        bool isCanceled() const {
            return kind == ModelFuture::GetF ? get.isCanceled() : other.isCanceled();
        }
        void cancel() { kind == ModelFuture::GetF ? get.cancel() : other.cancel(); }
    };

    static void runEventLoop() {
        // Until quiet: queued forEach runs may post more runs (every 256 items).
        for (int i = 0; i < 64; ++i)
            QCoreApplication::sendPostedEvents();
    }

    int addFuture(RealFuture f) {
        m_real.push_back(std::move(f));
        return int(m_real.size()) - 1;
    }

    // Indices of the futures of one kind.
    std::vector<int> futuresOf(ModelFuture::Kind kind) const {
        std::vector<int> out;
        for (size_t i = 0; i < m_real.size(); ++i) {
            if (m_real[i].kind == kind)
                out.push_back(int(i));
        }
        return out;
    }

    static const char *name(PutResult r) {
        return r == PutResult::Ok ? "Ok" : r == PutResult::Full ? "Full" : "Closed";
    }

    static std::string str(const std::optional<int> &v) {
        return v ? std::to_string(*v) : std::string("nullopt");
    }

    std::string apply(const Op &op) {
        auto &ch = *m_ch;
        switch (op.kind) {
        case OpKind::TryPut:
        case OpKind::TryPutConst:
        case OpKind::PutBlocking: {
            const int v = m_next++;
            m_log << "(" << v << ")";
            Tracked item(v);
            PutResult r;
            if (op.kind == OpKind::TryPut)
                r = ch.tryPut(std::move(item));
            else if (op.kind == OpKind::TryPutConst)
                r = ch.tryPut(std::as_const(item));
            else
                r = ch.putBlocking(std::move(item), QDeadlineTimer(0));
            const PutResult expected = m_model.tryPut(v);
            m_log << " -> " << name(r);
            if (r != expected)
                return std::string("returned ") + name(r) + ", model says " + name(expected);
            if (r != PutResult::Ok && item.value() != v)
                return "the item was touched although it was not accepted";
            return {};
        }
        case OpKind::PutBlockingWait: {
            const int v = m_next++;
            m_log << "(" << v << ", " << m_waitMs << " ms)";
            const size_t before = m_signals.size();
            Tracked item(v);
            PutResult r = (op.arg & 1)
                              ? ch.putBlocking(std::as_const(item), QDeadlineTimer(m_waitMs))
                              : ch.putBlocking(std::move(item), QDeadlineTimer(m_waitMs));
            bool waited = true;
            if (m_model.cap == 0 && m_model.itemArmed && r == PutResult::Full &&
                !signalSince(before, Sig::ItemAvailable)) {
                waited = false; // the deadline passed before it started waiting
                ++m_notWaited;
            }
            const PutResult expected = m_model.putBlockingWait(v, waited);
            m_log << " -> " << name(r);
            if (r != expected)
                return std::string("returned ") + name(r) + ", model says " + name(expected);
            if (r != PutResult::Ok && item.value() != v)
                return "the item was touched although it was not accepted";
            return {};
        }
        case OpKind::Put: {
            const int v = m_next++;
            m_log << "(" << v << ") -> put#" << m_real.size();
            RealFuture f{ModelFuture::PutF, {}, ch.put(Tracked(v))};
            addFuture(std::move(f));
            m_model.put(v);
            return {};
        }
        case OpKind::TryGet:
        case OpKind::GetBlocking: {
            std::optional<Tracked> item =
                op.kind == OpKind::TryGet ? ch.tryGet() : ch.getBlocking(QDeadlineTimer(0));
            std::optional<int> got;
            if (item)
                got = item->value();
            const std::optional<int> expected = m_model.tryGet();
            m_log << " -> " << str(got);
            if (got != expected)
                return "returned " + str(got) + ", model says " + str(expected);
            return {};
        }
        case OpKind::GetBlockingWait: {
            m_log << "(" << m_waitMs << " ms)";
            const size_t before = m_signals.size();
            std::optional<Tracked> item = ch.getBlocking(QDeadlineTimer(m_waitMs));
            std::optional<int> got;
            if (item)
                got = item->value();
            bool waited = true;
            if (m_model.cap == 0 && m_model.spaceArmed && !got && !m_model.closed &&
                !signalSince(before, Sig::SpaceAvailable)) {
                waited = false;
                ++m_notWaited;
            }
            const std::optional<int> expected = m_model.getBlockingWait(waited);
            m_log << " -> " << str(got);
            if (got != expected)
                return "returned " + str(got) + ", model says " + str(expected);
            return {};
        }
        case OpKind::Get: {
            m_log << " -> get#" << m_real.size();
            RealFuture f{ModelFuture::GetF, ch.get(), {}};
            addFuture(std::move(f));
            m_model.get();
            return {};
        }
        case OpKind::CancelGet:
        case OpKind::CancelPut:
        case OpKind::CancelJoin: {
            const auto kind = op.kind == OpKind::CancelGet   ? ModelFuture::GetF
                              : op.kind == OpKind::CancelPut ? ModelFuture::PutF
                                                             : ModelFuture::JoinF;
            const std::vector<int> candidates = futuresOf(kind);
            if (candidates.empty()) {
                m_log << " (none)";
                return {};
            }
            const int fi = candidates[op.arg % candidates.size()];
            m_log << " #" << fi;
            m_real[size_t(fi)].cancel();
            m_model.cancel(fi);
            return {};
        }
        case OpKind::Close: {
            const bool r = ch.close();
            const bool expected = m_model.close();
            m_log << " -> " << r;
            if (r != expected)
                return "close() returned " + std::to_string(r);
            return {};
        }
        case OpKind::Join: {
            m_log << " -> join#" << m_real.size();
            RealFuture f{ModelFuture::JoinF, {}, ch.join()};
            addFuture(std::move(f));
            m_model.join();
            return {};
        }
        case OpKind::ForEach: {
            if (m_model.forEachFuture >= 0) {
                m_log << " (one is running)";
                return {};
            }
            delete m_context;
            m_context = new QObject;
            m_log << " -> forEach#" << m_real.size();
            RealFuture f{ModelFuture::ForEachF, {}, ch.forEach(m_context, [this](Tracked t) {
                             m_forEachSeen.push_back(t.value());
                         })};
            addFuture(std::move(f));
            m_model.forEach();
            return {};
        }
        case OpKind::CancelForEach: {
            if (m_model.forEachFuture < 0) {
                m_log << " (none running)";
                return {};
            }
            m_log << " #" << m_model.forEachFuture;
            m_real[size_t(m_model.forEachFuture)].cancel();
            m_model.cancel(m_model.forEachFuture);
            return {};
        }
        case OpKind::DestroyContext: {
            if (m_model.forEachFuture < 0) {
                m_log << " (none running)";
                return {};
            }
            delete m_context;
            m_context = nullptr;
            m_model.destroyContext();
            return {};
        }
        case OpKind::RunEvents:
            runEventLoop();
            m_model.runEvents();
            return {};
        case OpKind::Count:
            break;
        }
        return "unknown operation";
    }

    bool signalSince(size_t from, Sig sig) const {
        for (size_t i = from; i < m_signals.size(); ++i) {
            if (m_signals[i].sig == sig)
                return true;
        }
        return false;
    }

    std::string compareFutures() {
        for (size_t i = 0; i < m_real.size(); ++i) {
            ++m_comparisons;
            RealFuture &r = m_real[i];
            const ModelFuture &m = m_model.futures[i];
            std::ostringstream what;
            what << "future #" << i << " (" << int(m.kind) << "): ";
            const bool finished = r.isFinished();
            const bool canceled = r.isCanceled();
            if (r.seenFinished && !finished)
                return what.str() + "un-finished";
            r.seenFinished = finished;
            const int results = m.kind == ModelFuture::GetF ? r.get.resultCount() : 0;
            switch (m.state) {
            case ModelFuture::Pending:
                if (finished || canceled || results)
                    return what.str() + "settled, model says pending";
                break;
            case ModelFuture::Done:
                if (!finished)
                    return what.str() + "not finished, model says done";
                if (canceled != m.userCanceled)
                    return what.str() + "isCanceled() is " + std::to_string(canceled);
                if (m.kind == ModelFuture::GetF) {
                    if (results != 1)
                        return what.str() + "done without a result";
                    if (r.get.resultAt(0).value() != m.value)
                        return what.str() + "result " + std::to_string(r.get.resultAt(0).value()) +
                               ", model says " + std::to_string(m.value);
                } else if (failedWith(r) != Failure::None) {
                    return what.str() + "done with an exception";
                }
                break;
            case ModelFuture::Failed:
                if (!finished || !canceled)
                    return what.str() + "not failed, model says failed with ChannelClosed";
                if (results)
                    return what.str() + "failed with a result";
                if (failedWith(r) != Failure::Closed)
                    return what.str() + "did not fail with ChannelClosed";
                break;
            case ModelFuture::Canceled:
                if (!canceled)
                    return what.str() + "not canceled";
                if (results)
                    return what.str() + "canceled while pending, yet holds a result";
                if (m.forced && !finished && !finishesSoon(r))
                    return what.str() + "canceled, and never finished although the channel " +
                           "looked at it";
                if (finished && failedWith(r) != Failure::None)
                    return what.str() + "canceled, yet failed with an exception";
                break;
            }
        }
        return {};
    }

    // A canceled future is finished promptly by the channel's sweeper thread, which may have
    // taken it out of its line just before the channel looked: it finishes a moment later.
    // Waits for that (bounded: a future that never finishes still fails the comparison).
    static bool finishesSoon(RealFuture &r) {
        const auto isFinished = [&r] {
            return r.kind == ModelFuture::GetF ? r.get.isFinished() : r.other.isFinished();
        };
        for (QDeadlineTimer deadline(5000); !isFinished();) {
            if (deadline.hasExpired())
                return false;
            std::this_thread::yield();
        }
        return true;
    }

    enum class Failure { None, Closed, Other };
    static Failure failedWith(RealFuture &r) {
        try {
            if (r.kind == ModelFuture::GetF)
                r.get.waitForFinished();
            else
                r.other.waitForFinished();
        } catch (const QtChannel::ChannelClosed &) {
            return Failure::Closed;
        } catch (...) {
            return Failure::Other;
        }
        return Failure::None;
    }

    std::string compare() {
        auto &ch = *m_ch;
        const Model &m = m_model;
        std::ostringstream out;
        // Signals of this step, as multisets.
        std::vector<Signal> got = m_signals, expected = m.signalsOut;
        std::sort(got.begin(), got.end());
        std::sort(expected.begin(), expected.end());
        if (got != expected) {
            out << "signals differ: got";
            for (const Signal &s : m_signals)
                out << " " << int(s.sig)
                    << (s.sig == Sig::SizeChanged ? "(" + std::to_string(s.arg) + ")" : "");
            out << ", model says";
            for (const Signal &s : m.signalsOut)
                out << " " << int(s.sig)
                    << (s.sig == Sig::SizeChanged ? "(" + std::to_string(s.arg) + ")" : "");
            out << " (0 size, 1 item, 2 space, 3 closed, 4 finished)";
            return out.str();
        }
        ++m_comparisons;
        if (ch.size() != qsizetype(m.buffer.size()))
            return "size() " + std::to_string(ch.size()) + ", model " +
                   std::to_string(m.buffer.size());
        if (ch.isEmpty() != m.buffer.empty())
            return "isEmpty() differs";
        if (ch.isClosed() != m.closed)
            return "isClosed() differs";
        if (ch.isFinished() != m.finished)
            return "isFinished() differs";
        if (ch.capacity() != m.cap)
            return "capacity() differs";
        QList<Tracked> snap = ch.snapshot();
        std::vector<int> values;
        for (const Tracked &t : snap)
            values.push_back(t.value());
        if (values != std::vector<int>(m.buffer.begin(), m.buffer.end()))
            return "snapshot() differs from the model's buffer";
        if (m_forEachSeen != m.forEachSeen)
            return "the forEach callback saw " + std::to_string(m_forEachSeen.size()) +
                   " items, model " + std::to_string(m.forEachSeen.size()) + " (or others)";
        // pendingGets/Puts: the live waiters, plus canceled ones not noticed yet.
        const auto live = [&m](const std::deque<Model::Waiter> &line) {
            qsizetype n = 0;
            for (const auto &w : line)
                n += m.isCanceled(w) ? 0 : 1;
            return n;
        };
        const qsizetype pg = ch.pendingGets(), pp = ch.pendingPuts();
        if (pg < live(m.gets) || pg > qsizetype(m.gets.size()))
            return "pendingGets() " + std::to_string(pg) + " outside [" +
                   std::to_string(live(m.gets)) + ", " + std::to_string(m.gets.size()) + "]";
        if (pp < live(m.puts) || pp > qsizetype(m.puts.size()))
            return "pendingPuts() " + std::to_string(pp) + " outside [" +
                   std::to_string(live(m.puts)) + ", " + std::to_string(m.puts.size()) + "]";
        // isFull() last: on a rendezvous channel it looks at the pending gets.
        m_signals.clear();
        const bool full = ch.isFull();
        if (full != m_model.isFull())
            return "isFull() " + std::to_string(full) + ", model " + std::to_string(!full);
        if (!m_signals.empty())
            return "isFull() emitted a signal";
        return compareFutures();
    }

    Model m_model;
    std::unique_ptr<QtChannel::Channel<Tracked>> m_ch;
    QObject *m_context = nullptr;
    std::vector<RealFuture> m_real;
    std::vector<int> m_forEachSeen;
    std::vector<Signal> m_signals;
    std::ostringstream m_log;
    int m_next = 0;
    int m_waitMs;
    int m_notWaited = 0;
    quint64 m_comparisons = 0;
    long m_liveBefore = Tracked::live();
};

} // namespace Rel
