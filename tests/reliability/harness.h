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
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace Rel {

// The reason the harness closes channels with (close(std::exception_ptr)).
struct CloseReasonError : std::runtime_error {
    CloseReasonError()
        : std::runtime_error("the harness's close reason") {}
};

class Harness {
public:
    // `waitMs`: the deadline of the blocking operations that wait.
    explicit Harness(ChannelKind kind, int waitMs = 2)
        : m_model(kind.capacity, kind.overflow)
        , m_aux(kind.auxCapacity, QtChannel::Overflow::Wait, m_model)
        , m_waitMs(waitMs) {
        m_ch = std::make_unique<QtChannel::Channel<Tracked>>(kind.capacity, kind.overflow);
        m_auxCh = std::make_unique<QtChannel::Channel<Tracked>>(kind.auxCapacity);
        m_selectContext = new QObject;
        // Called in the thread that caused it: the prompt sweeper's too.
        m_ch->setUndeliveredHandler([this](Tracked &&t) {
            std::lock_guard lock(m_undeliveredMutex);
            m_undelivered.push_back(t.value());
        });
        using QtChannel::ChannelBase;
        QObject::connect(m_ch.get(), &ChannelBase::droppedChanged, m_ch.get(),
                         [this] { m_signals.push_back({Sig::DroppedChanged}); });
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
        m_auxCh.reset();
        runEventLoop();
        m_selects.clear();
        delete m_context;
        delete m_selectContext;
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
    // Then that every item handed to the channel is exactly one of: taken, undelivered (the
    // handler's: dropped, cleared, failed, withdrawn or buffered at destruction), or refused
    // at the door and left to the caller.
    std::string destroy() {
        m_signals.clear();
        m_log.str({});
        m_log << "destroy";
        std::vector<int> owned;
        for (size_t i = 0; i < m_real.size(); ++i) {
            if (m_real[i].kind != ModelFuture::SelectF)
                owned.push_back(int(i));
        }
        m_ch.reset();
        m_model.destroy(owned);
        m_auxCh.reset();
        m_aux.destroy({});
        if (!m_signals.empty())
            return "destruction emitted a signal";
        // Selects whose last arm died resolve in their context's thread.
        runEventLoop();
        selectHandlersRan();
        std::string error = compareFutures();
        if (error.empty())
            error = compareUndelivered(true);
        if (!error.empty())
            return error;
        error = account();
        if (!error.empty())
            return error;
        m_selects.clear();
        delete m_context;
        m_context = nullptr;
        delete m_selectContext;
        m_selectContext = nullptr;
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
    qint64 selectsRun() const { return m_selectsRun; }
    quint64 comparisons() const { return m_comparisons; }
    int notWaited() const { return m_notWaited; }

private:
    struct RealFuture {
        ModelFuture::Kind kind;
        QFuture<Tracked> get;
        QFuture<void> other;
        QFuture<QList<Tracked>> many;
        QFuture<int> sel;
        bool seenFinished = false;
        template <typename F> auto visit(F &&f) {
            switch (kind) {
            case ModelFuture::GetF:
                return f(get);
            case ModelFuture::GetManyF:
                return f(many);
            case ModelFuture::SelectF:
                return f(sel);
            default:
                return f(other);
            }
        }
        bool isFinished() {
            return visit([](auto &x) { return x.isFinished(); });
        }
        bool isCanceled() {
            return visit([](auto &x) { return x.isCanceled(); });
        }
        void cancel() {
            visit([](auto &x) { x.cancel(); });
        }
        int resultCount() {
            return kind == ModelFuture::GetF       ? get.resultCount()
                   : kind == ModelFuture::GetManyF ? many.resultCount()
                   : kind == ModelFuture::SelectF  ? sel.resultCount()
                                                   : 0;
        }
    };

    // A select's arms: (channel, get or put, the put's item).
    struct SelectArmSpec {
        bool aux;
        bool get;
        int item;
    };
    struct SelectRecord {
        std::vector<SelectArmSpec> arms;
        std::optional<int> got; // what a get arm's handler was called with
        int handled = 0;        // handler calls
        int future = -1;
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
            if (r != PutResult::Ok)
                m_refused.push_back(v);
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
            if (r != PutResult::Ok)
                m_refused.push_back(v);
            return {};
        }
        case OpKind::Put: {
            const int v = m_next++;
            m_log << "(" << v << ") -> put#" << m_real.size();
            RealFuture f{ModelFuture::PutF, {}, ch.put(Tracked(v)), {}, {}};
            addFuture(std::move(f));
            if (m_model.futures[size_t(m_model.put(v))].state == ModelFuture::Failed)
                m_refused.push_back(v); // closed already: destroyed, not undelivered
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
            if (got)
                m_taken.push_back(*got);
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
            if (got)
                m_taken.push_back(*got);
            return {};
        }
        case OpKind::Get: {
            m_log << " -> get#" << m_real.size();
            RealFuture f{ModelFuture::GetF, ch.get(), {}, {}, {}};
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
            std::vector<int> candidates = futuresOf(kind);
            if (kind == ModelFuture::GetF) { // and the batches
                const std::vector<int> many = futuresOf(ModelFuture::GetManyF);
                candidates.insert(candidates.end(), many.begin(), many.end());
            }
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
            RealFuture f{ModelFuture::JoinF, {}, ch.join(), {}, {}};
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
            RealFuture f{
                ModelFuture::ForEachF,
                {},
                ch.forEach(m_context, [this](Tracked t) { m_forEachSeen.push_back(t.value()); }),
                {},
                {}};
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
            selectHandlersRan();
            return {};
        case OpKind::CloseReason: {
            const bool plain = op.arg & 1;
            const bool r = plain ? ch.close(std::exception_ptr())
                                 : ch.close(std::make_exception_ptr(CloseReasonError()));
            const bool expected = m_model.close(!plain);
            m_log << (plain ? "(null)" : "(reason)") << " -> " << r;
            if (r != expected)
                return "close(reason) returned " + std::to_string(r);
            return {};
        }
        case OpKind::Clear: {
            const qsizetype n = ch.clear();
            const qsizetype expected = m_model.clear();
            m_log << " -> " << n;
            if (n != expected)
                return "clear() returned " + std::to_string(n) + ", model says " +
                       std::to_string(expected);
            return {};
        }
        case OpKind::TryGetMany:
        case OpKind::GetManyBlocking: {
            const qsizetype max = 1 + op.arg % 4;
            m_log << "(" << max << ")";
            const QList<Tracked> items = op.kind == OpKind::TryGetMany
                                             ? ch.tryGetMany(max)
                                             : ch.getManyBlocking(max, QDeadlineTimer(0));
            const std::vector<int> got = values(items);
            // getManyBlocking() with a deadline of 0 is tryGetMany(), but a short batch of it
            // does not arm itemAvailable() (a blocked thread does not listen to signals).
            const std::vector<int> expected =
                m_model.tryGetMany(max, op.kind == OpKind::TryGetMany);
            m_log << " -> " << str(got);
            if (got != expected)
                return "returned " + str(got) + ", model says " + str(expected);
            m_taken.insert(m_taken.end(), got.begin(), got.end());
            return {};
        }
        case OpKind::GetMany: {
            const qsizetype max = 1 + op.arg % 4;
            m_log << "(" << max << ") -> getMany#" << m_real.size();
            RealFuture f{ModelFuture::GetManyF, {}, {}, ch.getMany(max), {}};
            addFuture(std::move(f));
            m_model.getMany(max);
            return {};
        }
        case OpKind::TryPutMany: {
            const int n = 1 + op.arg % 4;
            QList<Tracked> items;
            std::vector<int> vs;
            for (int i = 0; i < n; ++i) {
                vs.push_back(m_next);
                items.append(Tracked(m_next++));
            }
            m_log << "(" << str(vs) << ")";
            const qsizetype accepted = ch.tryPutMany(items);
            const qsizetype expected = m_model.tryPutMany(vs);
            m_log << " -> " << accepted;
            if (accepted != expected)
                return "accepted " + std::to_string(accepted) + ", model says " +
                       std::to_string(expected);
            const std::vector<int> rest(vs.begin() + expected, vs.end());
            if (values(items) != rest)
                return "the items left to the caller are " + str(values(items)) + ", not " +
                       str(rest);
            m_refused.insert(m_refused.end(), rest.begin(), rest.end());
            return {};
        }
        case OpKind::SelectTry:
        case OpKind::SelectBlocking:
        case OpKind::SelectRun:
            return runSelect(op);
        case OpKind::CancelSelect: {
            std::vector<int> candidates;
            for (int fi : futuresOf(ModelFuture::SelectF)) {
                if (m_model.futures[size_t(fi)].state == ModelFuture::Pending)
                    candidates.push_back(fi);
            }
            if (candidates.empty()) {
                m_log << " (none pending)";
                return {};
            }
            const int fi = candidates[op.arg % candidates.size()];
            m_log << " #" << fi;
            m_real[size_t(fi)].cancel();
            // Withdrawn from every line; a put arm's item stays the Select's.
            for (ModelSelect &s : m_ownSelects()) {
                if (s.future == fi)
                    s.done = true;
            }
            m_model.futures[size_t(fi)].state = ModelFuture::Canceled;
            m_model.futures[size_t(fi)].userCanceled = true;
            return {};
        }
        case OpKind::AuxTryPut: {
            const int v = m_nextAux++;
            Tracked item(v);
            const PutResult r = m_auxCh->tryPut(std::move(item));
            const PutResult expected = m_aux.tryPut(v);
            m_log << "(" << v << ") -> " << name(r);
            if (r != expected)
                return std::string("aux returned ") + name(r) + ", model says " + name(expected);
            return {};
        }
        case OpKind::AuxTryGet: {
            std::optional<Tracked> item = m_auxCh->tryGet();
            std::optional<int> got;
            if (item)
                got = item->value();
            const std::optional<int> expected = m_aux.tryGet();
            m_log << " -> " << str(got);
            if (got != expected)
                return "aux returned " + str(got) + ", model says " + str(expected);
            return {};
        }
        case OpKind::AuxClose: {
            const bool r = m_auxCh->close();
            const bool expected = m_aux.close();
            m_log << " -> " << r;
            if (r != expected)
                return "aux close() returned " + std::to_string(r);
            return {};
        }
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
            const int results = r.resultCount();
            ModelFuture::State state = m.state;
            if (state == ModelFuture::Fired) {
                // Resolved from the event loop: pending until it runs, then as it will end.
                if (!finished && !canceled && !results)
                    continue;
                state = m.value == -2 ? ModelFuture::Failed : ModelFuture::Done;
            }
            switch (state) {
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
                } else if (m.kind == ModelFuture::GetManyF) {
                    if (results != 1)
                        return what.str() + "done without a result";
                    if (values(r.many.resultAt(0)) != m.values)
                        return what.str() + "result " + str(values(r.many.resultAt(0))) +
                               ", model says " + str(m.values);
                } else if (m.kind == ModelFuture::SelectF) {
                    if (results != 1)
                        return what.str() + "done without a result";
                    if (!sameLine(int(i), r.sel.resultAt(0), m.value))
                        return what.str() + "select fired arm " +
                               std::to_string(r.sel.resultAt(0)) + ", model says " +
                               std::to_string(m.value);
                    const std::string e = checkSelectHandler(int(i));
                    if (!e.empty())
                        return what.str() + e;
                } else if (failedWith(r) != Failure::None) {
                    return what.str() + "done with an exception";
                }
                break;
            case ModelFuture::Failed:
                if (!finished || !canceled)
                    return what.str() + "not failed, model says failed";
                if (results)
                    return what.str() + "failed with a result";
                if (failedWith(r) != (m.reason ? Failure::Reason : Failure::Closed))
                    return what.str() + (m.reason ? "did not fail with the close reason"
                                                  : "did not fail with ChannelClosed");
                break;
            case ModelFuture::Fired:
                break;
            case ModelFuture::Canceled:
                if (!canceled)
                    return what.str() + "not canceled";
                if (results)
                    return what.str() + "canceled while pending, yet holds a result";
                if (m.kind == ModelFuture::SelectF) {
                    const std::string e = checkSelectHandler(int(i));
                    if (!e.empty())
                        return what.str() + e;
                }
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
        const auto isFinished = [&r] { return r.isFinished(); };
        for (QDeadlineTimer deadline(5000); !isFinished();) {
            if (deadline.hasExpired())
                return false;
            std::this_thread::yield();
        }
        return true;
    }

    enum class Failure { None, Closed, Reason, Other };
    static Failure failedWith(RealFuture &r) {
        try {
            r.visit([](auto &x) { x.waitForFinished(); });
        } catch (const QtChannel::ChannelClosed &) {
            return Failure::Closed;
        } catch (const CloseReasonError &) {
            return Failure::Reason;
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
        // Signals whose arming a select left unknown: may come or not.
        for (const Signal &maybe : m_model.maybeSignals) {
            const auto it = std::find(got.begin(), got.end(), maybe);
            if (it != got.end())
                got.erase(it);
        }
        m_model.maybeSignals.clear();
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
            out << " (0 size, 1 item, 2 space, 3 closed, 4 finished, 5 dropped)";
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
        if (ch.overflow() != m.overflow)
            return "overflow() differs";
        // Reading the count re-arms droppedChanged().
        const qint64 dropped = ch.droppedCount();
        m_model.droppedArmed = true;
        if (dropped != m.dropped)
            return "droppedCount() " + std::to_string(dropped) + ", model " +
                   std::to_string(m.dropped);
        if (bool(ch.closeReason()) != m.closedWithReason)
            return "closeReason() is " + std::string(ch.closeReason() ? "set" : "null") +
                   ", model says otherwise";
        if (m_auxCh->size() != qsizetype(m_aux.buffer.size()) ||
            values(m_auxCh->snapshot()) !=
                std::vector<int>(m_aux.buffer.begin(), m_aux.buffer.end()))
            return "the second channel's buffer " + str(values(m_auxCh->snapshot())) +
                   " differs from the model's " +
                   str(std::vector<int>(m_aux.buffer.begin(), m_aux.buffer.end()));
        if (m_auxCh->isClosed() != m_aux.closed || m_auxCh->isFinished() != m_aux.finished)
            return "the second channel's isClosed()/isFinished() differ";
        {
            const std::string e = compareUndelivered(false);
            if (!e.empty())
                return e;
        }
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

    static std::vector<int> values(const QList<Tracked> &items) {
        std::vector<int> out;
        for (const Tracked &t : items)
            out.push_back(t.value());
        return out;
    }
    static std::string str(const std::vector<int> &vs) {
        std::string out = "[";
        for (size_t i = 0; i < vs.size(); ++i)
            out += (i ? " " : "") + std::to_string(vs[i]);
        return out + "]";
    }

    std::vector<ModelSelect> &m_ownSelects() { return *m_model.selects; }

    Model &modelOf(bool aux) { return aux ? m_aux : m_model; }
    QtChannel::Channel<Tracked> &channelOf(bool aux) { return aux ? *m_auxCh : *m_ch; }

    // The select's arms, from the operation's argument: 2 or 3 of get/put on either channel.
    // A select that may wait never has a get and a put arm on the same channel.
    std::vector<SelectArmSpec> selectArms(const Op &op) {
        std::vector<SelectArmSpec> arms;
        const int n = 2 + (op.arg & 1);
        for (int i = 0; i < n; ++i) {
            const int code = (op.arg >> (1 + 2 * i)) & 3;
            arms.push_back({bool(code & 2), !(code & 1), 0});
        }
        if (op.kind == OpKind::SelectRun) {
            // Which of two arms in one line fires is the select's choice: two put arms there
            // would make the accepted item unknown, so only one of them is kept.
            for (SelectArmSpec &a : arms) {
                for (const SelectArmSpec &b : arms) {
                    if (a.aux == b.aux && a.get != b.get)
                        a.get = true;
                }
            }
            for (size_t i = 1; i < arms.size(); ++i) {
                for (size_t j = 0; j < i; ++j) {
                    if (!arms[i].get && !arms[j].get && arms[i].aux == arms[j].aux) {
                        arms.erase(arms.begin() + qsizetype(i));
                        --i;
                        break;
                    }
                }
            }
        }
        for (SelectArmSpec &a : arms) {
            if (!a.get)
                a.item = a.aux ? m_nextAux++ : m_next++;
        }
        return arms;
    }

    std::string runSelect(const Op &op) {
        ++m_selectsRun;
        const int id = int(m_selectRecords.size());
        m_selectRecords.push_back({selectArms(op), {}, 0, -1});
        const std::vector<SelectArmSpec> arms = m_selectRecords.back().arms;
        auto select = std::make_unique<QtChannel::Select>();
        m_log << "(";
        for (size_t i = 0; i < arms.size(); ++i) {
            const SelectArmSpec &a = arms[i];
            m_log << (i ? ", " : "") << (a.get ? "get " : "put ") << (a.aux ? "aux" : "main");
            if (a.get) {
                select->onGet(channelOf(a.aux), [this, id](Tracked t) {
                    m_selectRecords[size_t(id)].got = t.value();
                    ++m_selectRecords[size_t(id)].handled;
                });
            } else {
                m_log << " " << a.item;
                select->onPut(channelOf(a.aux), Tracked(a.item),
                              [this, id] { ++m_selectRecords[size_t(id)].handled; });
            }
        }
        m_log << ")";
        // What the model knows before: which arms are ready, which are dead.
        std::vector<bool> ready, dead;
        for (const SelectArmSpec &a : arms) {
            const Model &m = modelOf(a.aux);
            ready.push_back(a.get ? m.canTake() : m.canPut());
            dead.push_back(a.get ? m.finished : m.closed);
        }
        const bool anyReady = std::find(ready.begin(), ready.end(), true) != ready.end();
        const bool allDead = std::find(dead.begin(), dead.end(), false) == dead.end();
        int fired = -1;
        QFuture<int> future;
        if (op.kind == OpKind::SelectRun) {
            future = select->run(m_selectContext);
            m_log << " -> select#" << m_real.size();
            if (future.isFinished() && future.resultCount() == 1)
                fired = future.resultAt(0);
        } else {
            fired = op.kind == OpKind::SelectTry ? select->tryRun()
                                                 : select->runBlocking(QDeadlineTimer(0));
            m_log << " -> " << fired;
        }
        SelectRecord &rec = m_selectRecords.back();
        int modelFuture = -1;
        if (op.kind == OpKind::SelectRun) {
            modelFuture = m_model.newFuture(ModelFuture::SelectF, ModelFuture::Pending);
            rec.future = modelFuture;
            RealFuture f{ModelFuture::SelectF, {}, {}, {}, future};
            addFuture(std::move(f));
        }
        if (fired >= 0) {
            if (fired >= int(arms.size()) || !ready[size_t(fired)])
                return "select fired arm " + std::to_string(fired) + ", which was not ready";
            // The arms tried before it (unknown which) re-armed their notifications.
            for (size_t i = 0; i < arms.size(); ++i) {
                if (int(i) == fired || ready[i])
                    continue;
                Model &o = modelOf(arms[i].aux);
                if (arms[i].get && !o.itemArmed)
                    o.itemArmUnknown = true;
                if (!arms[i].get && !o.closed && !o.spaceArmed)
                    o.spaceArmUnknown = true;
            }
            const SelectArmSpec &a = arms[size_t(fired)];
            Model &m = modelOf(a.aux);
            if (a.get) {
                const std::optional<int> v = m.tryGet();
                if (rec.got != v || rec.handled != 1)
                    return "the get arm's handler got " + str(rec.got) + ", model says " + str(v);
                if (!a.aux)
                    m_taken.push_back(*v);
            } else if (m.tryPut(a.item) != PutResult::Ok || rec.handled != 1) {
                return "the put arm fired, the model refuses its item";
            } else if (!a.aux && modelFuture < 0) {
                m_firedPut.insert(a.item);
            }
            if (modelFuture >= 0) {
                m_model.futures[size_t(modelFuture)].state = ModelFuture::Done;
                m_model.futures[size_t(modelFuture)].value = fired;
                m_ownSelects().push_back({modelFuture, true, 0, fired, a.get ? *rec.got : a.item});
            }
            m_model.endBatch();
            m_aux.endBatch();
            return {};
        }
        if (anyReady && op.kind != OpKind::SelectRun)
            return "select returned -1 although an arm was ready";
        if (anyReady && future.isFinished())
            return "select run() did not fire although an arm was ready";
        // Every arm was tried and found nothing.
        for (const SelectArmSpec &a : arms) {
            Model &m = modelOf(a.aux);
            if (a.get)
                m.rearmItem();
            else if (!m.closed)
                m.rearmSpace();
        }
        if (op.kind == OpKind::SelectRun) {
            ModelFuture &f = m_model.futures[size_t(modelFuture)];
            const int sel = int(m_ownSelects().size());
            m_ownSelects().push_back({modelFuture, false, 0, -1, 0});
            if (allDead) {
                f.state = ModelFuture::Failed; // ChannelClosed, at once
                m_ownSelects().back().done = true;
            } else {
                // Waits in the line of every arm that can still fire.
                for (size_t i = 0; i < arms.size(); ++i) {
                    if (dead[i])
                        continue;
                    Model &m = modelOf(arms[i].aux);
                    ++m_ownSelects()[size_t(sel)].liveArms;
                    if (arms[i].get)
                        m.addGetter(-1, sel, int(i));
                    else
                        m.addPutter(-1, arms[i].item, sel, int(i));
                }
            }
        }
        m_selects.push_back(std::move(select));
        m_model.endBatch();
        m_aux.endBatch();
        return {};
    }

    // Two arms of a waiting select in one line: either may fire (the same get, or the same put).
    bool sameLine(int future, int armA, int armB) const {
        if (armA == armB)
            return true;
        for (const SelectRecord &rec : m_selectRecords) {
            if (rec.future != future)
                continue;
            if (armA < 0 || armB < 0 || armA >= int(rec.arms.size()) ||
                armB >= int(rec.arms.size()))
                return false;
            const SelectArmSpec &a = rec.arms[size_t(armA)], &b = rec.arms[size_t(armB)];
            return a.aux == b.aux && a.get == b.get;
        }
        return false;
    }

    // The event loop ran: fired selects ran their handlers and finished.
    void selectHandlersRan() {
        for (ModelSelect &s : m_ownSelects()) {
            ModelFuture &f = m_model.futures[size_t(s.future)];
            if (f.state != ModelFuture::Fired)
                continue;
            f.state = f.value == -2 ? ModelFuture::Failed : ModelFuture::Done;
            if (f.value >= 0) {
                for (const SelectRecord &rec : m_selectRecords) {
                    if (rec.future == s.future && rec.arms[size_t(s.fired)].get &&
                        !rec.arms[size_t(s.fired)].aux)
                        m_taken.push_back(s.item);
                }
            }
        }
    }

    // A select future's handler ran as the model says: once, with the item, for a fired arm.
    std::string checkSelectHandler(int future) {
        for (const SelectRecord &rec : m_selectRecords) {
            if (rec.future != future)
                continue;
            const ModelFuture &f = m_model.futures[size_t(future)];
            if (f.state != ModelFuture::Done && f.state != ModelFuture::Fired)
                return rec.handled ? "a handler ran, yet no arm fired" : "";
            for (const ModelSelect &s : m_ownSelects()) {
                if (s.future != future)
                    continue;
                if (rec.handled != 1)
                    return "the handler ran " + std::to_string(rec.handled) + " times";
                if (rec.arms[size_t(s.fired)].get && rec.got != s.item)
                    return "the get arm's handler got " + str(rec.got) + ", model says " +
                           std::to_string(s.item);
            }
        }
        return {};
    }

    // The undelivered handler's items: each at most once, only items the model lets go; and
    // every one the model let go for sure (`final`: and every withdrawn one too).
    std::string compareUndelivered(bool final) {
        std::vector<int> got;
        {
            std::lock_guard lock(m_undeliveredMutex);
            got = m_undelivered;
        }
        std::multiset<int> may(m_model.undelivered.begin(), m_model.undelivered.end());
        may.insert(m_model.canceledPutItems.begin(), m_model.canceledPutItems.end());
        std::multiset<int> seen;
        for (int v : got) {
            const auto it = may.find(v);
            if (it == may.end())
                return "the undelivered handler got " + std::to_string(v) +
                       (seen.count(v) ? " twice" : ", which the model keeps");
            may.erase(it);
            seen.insert(v);
        }
        std::multiset<int> must(m_model.undelivered.begin(), m_model.undelivered.end());
        if (final)
            must.insert(m_model.canceledPutItems.begin(), m_model.canceledPutItems.end());
        for (int v : must) {
            if (!seen.count(v)) {
                if (final)
                    return "item " + std::to_string(v) + " never reached the undelivered handler";
                return "the undelivered handler has not had item " + std::to_string(v) + " yet";
            }
        }
        return {};
    }

    // Exactly once: every item of the main channel was taken, undelivered or refused, once.
    std::string account() {
        std::map<int, int> fate;
        for (int v : m_taken)
            ++fate[v];
        for (int v : m_forEachSeen)
            ++fate[v];
        for (RealFuture &f : m_real) {
            if (f.kind == ModelFuture::GetF && f.get.resultCount() == 1)
                ++fate[f.get.resultAt(0).value()];
            if (f.kind == ModelFuture::GetManyF && f.many.resultCount() == 1) {
                for (int v : values(f.many.resultAt(0)))
                    ++fate[v];
            }
        }
        {
            std::lock_guard lock(m_undeliveredMutex);
            for (int v : m_undelivered)
                ++fate[v];
        }
        for (int v : m_refused)
            ++fate[v];
        // Select put arms on the main channel that did not fire: the Select's, destroyed.
        for (const SelectRecord &rec : m_selectRecords) {
            int fired = -1;
            if (rec.future < 0) {
                fired = rec.handled ? -3 : -1; // tryRun: found below from the handler
            } else {
                for (const ModelSelect &s : m_ownSelects()) {
                    if (s.future == rec.future)
                        fired = s.fired;
                }
            }
            for (size_t i = 0; i < rec.arms.size(); ++i) {
                const SelectArmSpec &a = rec.arms[i];
                if (a.get || a.aux)
                    continue;
                const bool firedHere = fired == int(i) || (fired == -3 && m_firedPut.count(a.item));
                if (!firedHere)
                    ++fate[a.item];
            }
        }
        for (int v = 0; v < m_next; ++v) {
            const int n = fate.count(v) ? fate[v] : 0;
            if (n != 1)
                return "item " + std::to_string(v) + " is accounted for " + std::to_string(n) +
                       " times (taken, undelivered or refused)";
        }
        if (!fate.empty() && fate.rbegin()->first >= m_next)
            return "an item was taken that was never put";
        return {};
    }

    Model m_model;
    Model m_aux;
    std::unique_ptr<QtChannel::Channel<Tracked>> m_ch;
    std::unique_ptr<QtChannel::Channel<Tracked>> m_auxCh;
    std::vector<std::unique_ptr<QtChannel::Select>> m_selects;
    std::vector<SelectRecord> m_selectRecords;
    std::set<int> m_firedPut; // items of tryRun()/runBlocking() put arms that fired
    QObject *m_selectContext = nullptr;
    std::mutex m_undeliveredMutex;
    std::vector<int> m_undelivered; // guarded by m_undeliveredMutex
    std::vector<int> m_taken, m_refused;
    int m_nextAux = 1000000;
    qint64 m_selectsRun = 0;
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
