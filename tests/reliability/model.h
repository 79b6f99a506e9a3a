// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

/*
 * A reference model of Channel<T> and a harness that drives the real channel and the model
 * with the same operation sequence, comparing every observable after every step.
 *
 * The model is single-threaded and written to be obviously right, straight from the contract
 * (shared API.md, channel.h and channelbase.h): a buffer, FIFO lines of pending puts and gets,
 * close and finished, rendezvous, cancellation, the armed/disarmed coalescing of
 * itemAvailable()/spaceAvailable(), sizeChanged(), join() and one forEach() consumer.
 *
 * Where the contract leaves the implementation a choice, the harness accepts every allowed
 * outcome and no other:
 * - a future canceled while pending is finished "when the channel next looks at it": the
 *   model forces it when an offer or take reaches it at the head of its line, at close() and
 *   at destruction; in between, finished or not are both accepted, but never un-finished;
 * - pendingGets()/pendingPuts() may still count canceled waiters the channel has not
 *   noticed yet;
 * - a blocking call with a short deadline on a rendezvous channel may expire before it starts
 *   waiting; the harness then sees no "started waiting" signal and accepts that branch.
 *
 * Used by tst_model (seeded random sequences, shrinking) and by the libFuzzer target.
 */

#include "items.h"

#include <QtChannel/Channel>

#include <QtCore/QCoreApplication>
#include <QtCore/QDeadlineTimer>
#include <QtCore/QObject>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace Rel {

using QtChannel::PutResult;

// --- operations ------------------------------------------------------------------------------

enum class OpKind : quint8 {
    TryPut,          // tryPut(T&&)
    TryPutConst,     // tryPut(const T&)
    Put,             // put(T) -> QFuture<void>
    PutBlocking,     // putBlocking(T&&, deadline 0)
    PutBlockingWait, // putBlocking(T&& or const T&, short deadline): waits, withdraws
    TryGet,          // tryGet()
    Get,             // get() -> QFuture<T>
    GetBlocking,     // getBlocking(deadline 0)
    GetBlockingWait, // getBlocking(short deadline)
    CancelGet,       // get futures[arg].cancel()
    CancelPut,       // put futures[arg].cancel()
    Close,           // close()
    Join,            // join()
    CancelJoin,      // join futures[arg].cancel()
    ForEach,         // forEach(context, record) unless one is running
    CancelForEach,   // the running forEach's future .cancel()
    DestroyContext,  // delete the running forEach's context
    RunEvents,       // spin the event loop until quiet
    Count
};

struct Op {
    OpKind kind;
    quint16 arg = 0;
};

inline const char *opName(OpKind k) {
    static const char *const names[] = {"tryPut",        "tryPutConst",     "put",
                                        "putBlocking0",  "putBlockingWait", "tryGet",
                                        "get",           "getBlocking0",    "getBlockingWait",
                                        "cancelGet",     "cancelPut",       "close",
                                        "join",          "cancelJoin",      "forEach",
                                        "cancelForEach", "destroyContext",  "runEvents"};
    static_assert(sizeof(names) / sizeof(names[0]) == size_t(OpKind::Count));
    return names[size_t(k)];
}

// The capacities every sequence is run with.
inline const std::vector<qsizetype> &capacityKinds() {
    static const std::vector<qsizetype> kinds = {
        QtChannel::Unbounded, 0, 1, 2, 3, 1000, std::numeric_limits<qsizetype>::max()};
    return kinds;
}

// Weighted random sequences: puts and gets dominate, closes are rare so that most sequences
// spend a while open.
inline std::vector<Op> randomOps(std::mt19937 &rng, int count) {
    static const int weights[] = {12, 3, 10, 3, 1, 10, 10, 3, 1, 6, 5, 1, 2, 1, 2, 1, 1, 5};
    static_assert(sizeof(weights) / sizeof(weights[0]) == size_t(OpKind::Count));
    std::discrete_distribution<int> kind(std::begin(weights), std::end(weights));
    std::uniform_int_distribution<int> arg(0, 0xffff);
    std::vector<Op> ops;
    ops.reserve(size_t(count));
    for (int i = 0; i < count; ++i)
        ops.push_back(Op{OpKind(kind(rng)), quint16(arg(rng))});
    return ops;
}

// Bytes to a capacity and an operation sequence (the fuzzer's input format): byte 0 picks the
// capacity kind, then two bytes per operation (kind, argument).
inline std::pair<qsizetype, std::vector<Op>> decodeOps(const uint8_t *data, size_t size,
                                                       size_t maxOps = 1024) {
    if (size == 0)
        return {QtChannel::Unbounded, {}};
    const qsizetype capacity = capacityKinds()[data[0] % capacityKinds().size()];
    std::vector<Op> ops;
    for (size_t i = 1; i + 1 < size && ops.size() < maxOps; i += 2)
        ops.push_back(Op{OpKind(data[i] % quint8(OpKind::Count)), quint16(data[i + 1])});
    return {capacity, std::move(ops)};
}

// --- the model -------------------------------------------------------------------------------

enum class Sig : quint8 { SizeChanged, ItemAvailable, SpaceAvailable, Closed, Finished };

struct Signal {
    Sig sig;
    qsizetype arg = 0; // sizeChanged's size
    bool operator==(const Signal &o) const { return sig == o.sig && arg == o.arg; }
    bool operator<(const Signal &o) const { return sig != o.sig ? sig < o.sig : arg < o.arg; }
};

struct ModelFuture {
    enum Kind : quint8 { GetF, PutF, JoinF, ForEachF } kind;
    enum State : quint8 {
        Pending,  // not finished, not canceled
        Done,     // finished normally (get: with `value`)
        Failed,   // finished with ChannelClosed
        Canceled, // canceled while pending: finished once the channel noticed (see `forced`)
    } state = Pending;
    bool userCanceled = false; // cancel() was called (on a pending or a finished future)
    bool forced = false;       // Canceled: the channel must have finished it by now
    int value = 0;             // Done get: the item
};

class Model {
public:
    explicit Model(qsizetype capacity)
        : cap(capacity) {}

    qsizetype cap;
    std::deque<int> buffer;
    struct Waiter {
        int future; // index into futures, or -1 for a blocked thread
        int value;  // puts: the item
    };
    // Pending gets and puts, FIFO. Canceled futures stay until the model "looks at" them.
    std::deque<Waiter> gets, puts;
    bool closed = false, finished = false, itemArmed = true, spaceArmed = true;
    std::vector<ModelFuture> futures;
    std::vector<int> joins;
    int forEachFuture = -1;    // the forEach that runs (-1: none)
    std::vector<int> forEachs; // every forEach future
    std::vector<int> forEachSeen;
    std::vector<Signal> signalsOut; // this step's signals
    qsizetype lastSize = 0;
    quint8 batch = 0;

    int newFuture(ModelFuture::Kind kind, ModelFuture::State state, int value = 0) {
        ModelFuture f;
        f.kind = kind;
        f.state = state;
        f.value = value;
        futures.push_back(f);
        return int(futures.size()) - 1;
    }

    bool hasRoom(qsizetype n) const { return cap == QtChannel::Unbounded || n < cap; }

    bool isCanceled(const Waiter &w) const {
        return w.future >= 0 && futures[size_t(w.future)].state == ModelFuture::Canceled;
    }

    // The first live waiter of a line; canceled ones in front of it are noticed (finished).
    Waiter *firstLive(std::deque<Waiter> &line) {
        while (!line.empty() && isCanceled(line.front())) {
            futures[size_t(line.front().future)].forced = true;
            line.pop_front();
        }
        return line.empty() ? nullptr : &line.front();
    }

    void endBatch() {
        if (batch & 1)
            signalsOut.push_back({Sig::SizeChanged, qsizetype(buffer.size())});
        if (batch & 2)
            signalsOut.push_back({Sig::ItemAvailable});
        if (batch & 4)
            signalsOut.push_back({Sig::SpaceAvailable});
        if (batch & 8)
            signalsOut.push_back({Sig::Closed});
        if (batch & 16)
            signalsOut.push_back({Sig::Finished});
        batch = 0;
    }

    void finish() {
        finished = true;
        batch |= 16;
        for (int j : joins) {
            ModelFuture &f = futures[size_t(j)];
            if (f.state == ModelFuture::Pending)
                f.state = ModelFuture::Done;
            else if (f.state == ModelFuture::Canceled)
                f.forced = true;
        }
        joins.clear();
    }

    void bufferChanged() {
        const qsizetype n = qsizetype(buffer.size());
        if (n == lastSize)
            return;
        batch |= 1;
        if (n > lastSize) {
            if (itemArmed) {
                itemArmed = false;
                batch |= 2;
            }
        } else {
            if (spaceArmed && cap != QtChannel::Unbounded) {
                spaceArmed = false;
                batch |= 4;
            }
            if (n == 0 && closed)
                finish();
        }
        lastSize = n;
    }

    // A put that must not wait: to the oldest live get, else into the buffer.
    bool offer(int v) {
        if (Waiter *g = firstLive(gets)) {
            if (g->future >= 0) {
                ModelFuture &f = futures[size_t(g->future)];
                f.state = ModelFuture::Done;
                f.value = v;
            }
            gets.pop_front();
            return true;
        }
        if (!hasRoom(qsizetype(buffer.size())))
            return false;
        buffer.push_back(v);
        bufferChanged();
        return true;
    }

    void served(Waiter &w) {
        if (w.future >= 0)
            futures[size_t(w.future)].state = ModelFuture::Done;
    }

    // A take that must not wait: the oldest buffered item (refilling from pending puts), or on
    // a rendezvous channel straight from the oldest live put.
    std::optional<int> take() {
        if (!buffer.empty()) {
            const int v = buffer.front();
            buffer.pop_front();
            if (!puts.empty()) {
                while (hasRoom(qsizetype(buffer.size()))) {
                    Waiter *p = firstLive(puts);
                    if (!p)
                        break;
                    buffer.push_back(p->value);
                    served(*p);
                    puts.pop_front();
                }
            }
            bufferChanged();
            return v;
        }
        if (Waiter *p = firstLive(puts)) {
            const int v = p->value;
            served(*p);
            puts.pop_front();
            return v;
        }
        return std::nullopt;
    }

    void addGetter(int future) {
        if (future >= 0)
            gets.push_back({future, 0});
        itemArmed = true;
        if (cap == 0 && spaceArmed) {
            spaceArmed = false;
            batch |= 4;
        }
    }
    void addPutter(int future, int v) {
        if (future >= 0)
            puts.push_back({future, v});
        spaceArmed = true;
        if (cap == 0 && itemArmed) {
            itemArmed = false;
            batch |= 2;
        }
    }

    // --- the API ---

    PutResult tryPut(int v) {
        if (closed)
            return PutResult::Closed;
        PutResult r = PutResult::Ok;
        if (!offer(v)) {
            spaceArmed = true;
            r = PutResult::Full;
        }
        endBatch();
        return r;
    }

    // putBlocking with a deadline that passes: `waited` says whether it started waiting.
    PutResult putBlockingWait(int v, bool waited) {
        if (closed)
            return PutResult::Closed;
        if (offer(v)) {
            endBatch();
            return PutResult::Ok;
        }
        spaceArmed = true;
        if (waited)
            addPutter(-1, v); // withdrawn when the deadline passes
        endBatch();
        return PutResult::Full;
    }

    int put(int v) {
        if (closed)
            return newFuture(ModelFuture::PutF, ModelFuture::Failed);
        int f;
        if (offer(v)) {
            f = newFuture(ModelFuture::PutF, ModelFuture::Done);
        } else {
            f = newFuture(ModelFuture::PutF, ModelFuture::Pending);
            addPutter(f, v);
        }
        endBatch();
        return f;
    }

    std::optional<int> tryGet() {
        std::optional<int> v = take();
        if (!v)
            itemArmed = true;
        endBatch();
        return v;
    }

    std::optional<int> getBlockingWait(bool waited) {
        std::optional<int> v = take();
        if (!v) {
            itemArmed = true;
            if (!closed && waited)
                addGetter(-1);
        }
        endBatch();
        return v;
    }

    int get() {
        int f;
        if (std::optional<int> v = take()) {
            f = newFuture(ModelFuture::GetF, ModelFuture::Done, *v);
        } else if (closed) {
            f = newFuture(ModelFuture::GetF, ModelFuture::Failed);
        } else {
            f = newFuture(ModelFuture::GetF, ModelFuture::Pending);
            addGetter(f);
        }
        endBatch();
        return f;
    }

    void cancel(int fi) {
        ModelFuture &f = futures[size_t(fi)];
        f.userCanceled = true;
        if (f.state == ModelFuture::Pending)
            f.state = ModelFuture::Canceled;
    }

    bool close() {
        if (closed)
            return false;
        closed = true;
        batch |= 8;
        for (auto *line : {&puts, &gets}) {
            for (const Waiter &w : *line) {
                if (w.future < 0)
                    continue;
                ModelFuture &f = futures[size_t(w.future)];
                if (f.state == ModelFuture::Canceled)
                    f.forced = true;
                else
                    f.state = ModelFuture::Failed;
            }
            line->clear();
        }
        if (buffer.empty())
            finish();
        endBatch();
        return true;
    }

    int join() {
        if (finished)
            return newFuture(ModelFuture::JoinF, ModelFuture::Done);
        const int f = newFuture(ModelFuture::JoinF, ModelFuture::Pending);
        joins.push_back(f);
        return f;
    }

    bool isFull() {
        if (cap == QtChannel::Unbounded)
            return false;
        if (cap > 0)
            return qsizetype(buffer.size()) >= cap;
        return firstLive(gets) == nullptr;
    }

    int forEach() {
        const int f =
            newFuture(ModelFuture::ForEachF, finished ? ModelFuture::Done : ModelFuture::Pending);
        forEachs.push_back(f);
        if (!finished)
            forEachFuture = f;
        return f;
    }

    void destroyContext() {
        if (forEachFuture < 0)
            return;
        ModelFuture &f = futures[size_t(forEachFuture)];
        if (f.state == ModelFuture::Pending || f.state == ModelFuture::Canceled) {
            f.state = ModelFuture::Canceled;
            f.forced = true;
        }
        forEachFuture = -1;
    }

    // The event loop runs: the forEach drains what is available, one take per batch.
    void runEvents() {
        if (forEachFuture >= 0 && futures[size_t(forEachFuture)].state == ModelFuture::Pending) {
            for (;;) {
                std::optional<int> v = take();
                if (!v) {
                    itemArmed = true;
                    endBatch();
                    break;
                }
                forEachSeen.push_back(*v);
                endBatch();
            }
        }
        if (finished) {
            for (int fi : forEachs) {
                ModelFuture &f = futures[size_t(fi)];
                if (f.state == ModelFuture::Pending)
                    f.state = ModelFuture::Done;
                else if (f.state == ModelFuture::Canceled)
                    f.forced = true;
            }
        }
        if (forEachFuture >= 0 && futures[size_t(forEachFuture)].state != ModelFuture::Pending)
            forEachFuture = -1; // ended (finished, or canceled and it will stop)
    }

    // The channel is destroyed.
    void destroy() {
        for (auto *line : {&puts, &gets}) {
            for (const Waiter &w : *line) {
                if (w.future >= 0 && futures[size_t(w.future)].state == ModelFuture::Pending)
                    futures[size_t(w.future)].state = ModelFuture::Failed;
            }
            line->clear();
        }
        for (ModelFuture &f : futures) {
            if (f.state == ModelFuture::Pending) {
                // joins and forEach: canceled
                f.state = ModelFuture::Canceled;
                f.userCanceled = false;
            }
            if (f.state == ModelFuture::Canceled)
                f.forced = true;
        }
        buffer.clear();
        forEachFuture = -1;
    }
};

// --- the harness ----------------------------------------------------------------------------

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
                if (m.forced && !finished)
                    return what.str() + "canceled, and never finished although the channel " +
                           "looked at it";
                if (finished && failedWith(r) != Failure::None)
                    return what.str() + "canceled, yet failed with an exception";
                break;
            }
        }
        return {};
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

// Runs one sequence; returns "" or a description of the first difference, with the step.
struct RunResult {
    std::string error;
    int failedStep = -1;
    quint64 comparisons = 0;
    int notWaited = 0;
    std::vector<std::string> trace; // what each step did, with the values it saw
};

inline RunResult runSequence(qsizetype capacity, const std::vector<Op> &ops, int waitMs = 2) {
    RunResult result;
    Harness h(capacity, waitMs);
    for (size_t i = 0; i < ops.size(); ++i) {
        std::string error = h.step(ops[i]);
        result.trace.push_back(h.lastStep());
        if (!error.empty()) {
            result.error = "step " + std::to_string(i) + " " + h.lastStep() + ": " + error;
            result.failedStep = int(i);
            return result;
        }
    }
    std::string error = h.destroy();
    if (!error.empty()) {
        result.error = "at destruction: " + error;
        result.failedStep = int(ops.size());
    }
    result.comparisons = h.comparisons();
    result.notWaited = h.notWaited();
    return result;
}

// Shrinks a failing sequence: removes chunks, then single operations, as long as it still
// fails (delta debugging). Operations address futures by index modulo their count, so every
// subsequence is valid.
inline std::vector<Op> shrink(qsizetype capacity, std::vector<Op> ops, int waitMs = 2) {
    if (ops.size() > size_t(runSequence(capacity, ops, waitMs).failedStep + 1))
        ops.resize(size_t(runSequence(capacity, ops, waitMs).failedStep + 1));
    for (size_t chunk = std::max<size_t>(1, ops.size() / 2);; chunk /= 2) {
        bool removed = true;
        while (removed) {
            removed = false;
            for (size_t at = 0; at < ops.size();) {
                std::vector<Op> candidate = ops;
                candidate.erase(candidate.begin() + qsizetype(at),
                                candidate.begin() + qsizetype(std::min(ops.size(), at + chunk)));
                if (!runSequence(capacity, candidate, waitMs).error.empty()) {
                    ops = std::move(candidate);
                    removed = true;
                } else {
                    at += chunk;
                }
            }
        }
        if (chunk == 1)
            break;
    }
    return ops;
}

// A failing sequence as its steps, each with what it returned, for the report.
inline std::string describe(qsizetype capacity, const std::vector<Op> &ops, int waitMs = 2) {
    const RunResult r = runSequence(capacity, ops, waitMs);
    std::ostringstream out;
    out << "  Channel<Tracked> ch(" << capacity << ");\n";
    for (const std::string &line : r.trace)
        out << "  " << line << "\n";
    out << "  => " << r.error << "\n";
    return out.str();
}

} // namespace Rel
