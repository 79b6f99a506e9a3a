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
 * - a future canceled while pending is finished promptly by the channel's sweeper thread, or
 *   when the channel next looks at it, whichever comes first: the model forces it when an
 *   offer or take reaches it at the head of its line, at close() and at destruction (the
 *   harness then gives the sweeper a moment to finish what it took out of the line); in
 *   between, finished or not are both accepted, but never un-finished;
 * - pendingGets()/pendingPuts() may still count canceled waiters the channel has not
 *   noticed yet;
 * - a blocking call with a short deadline on a rendezvous channel may expire before it starts
 *   waiting; the harness then sees no "started waiting" signal and accepts that branch.
 *
 * Used by tst_model (seeded random sequences, shrinking) and by the libFuzzer target.
 */

#include "ops.h"

#include <algorithm>
#include <deque>
#include <optional>
#include <vector>

namespace Rel {

enum class Sig : quint8 {
    SizeChanged,
    ItemAvailable,
    SpaceAvailable,
    Closed,
    Finished,
    DroppedChanged
};

struct Signal {
    Sig sig;
    qsizetype arg = 0; // sizeChanged's size
    bool operator==(const Signal &o) const { return sig == o.sig && arg == o.arg; }
    bool operator<(const Signal &o) const { return sig != o.sig ? sig < o.sig : arg < o.arg; }
};

struct ModelFuture {
    enum Kind : quint8 { GetF, PutF, JoinF, ForEachF, GetManyF, SelectF } kind;
    enum State : quint8 {
        Pending,  // not finished, not canceled
        Done,     // finished normally (get: with `value`; getMany: `values`; select: `value`)
        Failed,   // finished with ChannelClosed, or with the close reason (`reason`)
        Canceled, // canceled while pending: finished once the channel noticed (see `forced`)
        Fired,    // select: an arm fired; the handler runs from the event loop, then Done
    } state = Pending;
    bool userCanceled = false; // cancel() was called (on a pending or a finished future)
    bool forced = false;       // Canceled: the channel must have finished it by now
    bool reason = false;       // Failed: with the close reason rather than ChannelClosed
    int value = 0;             // Done get: the item; select: the arm that fired
    std::vector<int> values;   // Done getMany: the items
};

// A waiting select (run(context)), shared by the models of the channels its arms wait on.
struct ModelSelect {
    int future = -1;
    bool done = false; // fired, canceled or every arm dead: its waiters are skipped
    int liveArms = 0;  // arms waiting in a line
    int fired = -1;    // the arm that fired
    int item = 0;      // a get arm's item, a put arm's item
};

class Model {
public:
    explicit Model(qsizetype capacity,
                   QtChannel::Overflow overflowPolicy = QtChannel::Overflow::Wait)
        : cap(capacity)
        , overflow(overflowPolicy) {}
    // A model that shares `shared`'s futures and selects (a select's arms span both).
    Model(qsizetype capacity, QtChannel::Overflow overflowPolicy, Model &shared)
        : cap(capacity)
        , overflow(overflowPolicy)
        , futures(shared.futures)
        , selects(shared.selects) {}
    Model(const Model &) = delete;
    Model &operator=(const Model &) = delete;

    qsizetype cap;
    QtChannel::Overflow overflow;
    std::deque<int> buffer;
    struct Waiter {
        int future;      // index into futures, or -1 for a blocked thread or a select
        int value;       // puts: the item
        int select = -1; // a select's arm: index into *selects
        int arm = -1;    // ... and the arm's index
    };
    // The futures and selects may be shared with a second model (select arms span channels).
    std::vector<ModelFuture> ownFutures;
    std::vector<ModelFuture> &futures = ownFutures;
    std::vector<ModelSelect> ownSelects;
    std::vector<ModelSelect> *selects = &ownSelects;
    bool closedWithReason = false;
    // Items handed to the channel that will never be taken (the undelivered handler's), and
    // the items of canceled pending puts, which reach the handler when the channel (or its
    // sweeper) withdraws them.
    std::vector<int> undelivered, canceledPutItems;
    qint64 dropped = 0;
    bool droppedArmed = true;
    // After a select tried arms in an order the model cannot know, the arming of
    // itemAvailable()/spaceAvailable() is either: the next signal it would give may come or not.
    bool itemArmUnknown = false, spaceArmUnknown = false;
    std::vector<Signal> maybeSignals;
    // Pending gets and puts, FIFO. Canceled futures stay until the model "looks at" them.
    std::deque<Waiter> gets, puts;
    bool closed = false, finished = false, itemArmed = true, spaceArmed = true;
    std::vector<int> joins;
    int forEachFuture = -1;    // the forEach that runs (-1: none)
    std::vector<int> forEachs; // every forEach future
    std::vector<int> forEachSeen;
    std::vector<Signal> signalsOut; // this step's signals
    qsizetype lastSize = 0;
    quint8 batch = 0;
    void drop(int v) {
        undelivered.push_back(v);
        ++dropped;
        if (droppedArmed) {
            droppedArmed = false;
            batch |= 32;
        }
    }

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
        if (w.select >= 0)
            return (*selects)[size_t(w.select)].done;
        return w.future >= 0 && futures[size_t(w.future)].state == ModelFuture::Canceled;
    }
    bool hasLive(const std::deque<Waiter> &line) const {
        for (const Waiter &w : line) {
            if (!isCanceled(w))
                return true;
        }
        return false;
    }

    // The first live waiter of a line; canceled ones in front of it are noticed (finished).
    Waiter *firstLive(std::deque<Waiter> &line) {
        while (!line.empty() && isCanceled(line.front())) {
            if (line.front().select < 0)
                futures[size_t(line.front().future)].forced = true;
            line.pop_front();
        }
        return line.empty() ? nullptr : &line.front();
    }

    // Consumes an armed notification: `armed` (or unknown: maybe) emits `bit` and disarms.
    void fire(bool &armed, bool &unknown, int bit, Sig sig) {
        if (armed)
            batch |= quint8(bit);
        else if (unknown)
            maybeSignals.push_back({sig});
        armed = false;
        unknown = false;
    }
    void rearmItem() {
        itemArmed = true;
        itemArmUnknown = false;
    }
    void rearmSpace() {
        spaceArmed = true;
        spaceArmUnknown = false;
    }

    void endBatch() {
        if (batch & 32)
            signalsOut.push_back({Sig::DroppedChanged});
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

    // A join or forEach future ends: normally, or with the close reason.
    void end(ModelFuture &f) {
        f.state = closedWithReason ? ModelFuture::Failed : ModelFuture::Done;
        f.reason = closedWithReason;
    }

    void finish() {
        finished = true;
        batch |= 16;
        for (int j : joins) {
            ModelFuture &f = futures[size_t(j)];
            if (f.state == ModelFuture::Pending)
                end(f);
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
            fire(itemArmed, itemArmUnknown, 2, Sig::ItemAvailable);
        } else {
            if (cap != QtChannel::Unbounded)
                fire(spaceArmed, spaceArmUnknown, 4, Sig::SpaceAvailable);
            if (n == 0 && closed)
                finish();
        }
        lastSize = n;
    }

    void fireSelect(const Waiter &w, int item) {
        ModelSelect &s = (*selects)[size_t(w.select)];
        s.done = true;
        s.fired = w.arm;
        s.item = item;
        futures[size_t(s.future)].state = ModelFuture::Fired;
        futures[size_t(s.future)].value = w.arm;
    }

    // A put that must not wait: to the oldest live get, else into the buffer, else (a drop
    // policy on a full buffer) evicting the oldest or discarding the item.
    bool offer(int v) {
        if (Waiter *g = firstLive(gets)) {
            if (g->select >= 0) {
                fireSelect(*g, v);
            } else if (g->future >= 0) {
                ModelFuture &f = futures[size_t(g->future)];
                f.state = ModelFuture::Done;
                f.value = v;
                f.values = {v};
            }
            gets.pop_front();
            return true;
        }
        if (!hasRoom(qsizetype(buffer.size()))) {
            if (overflow == QtChannel::Overflow::Wait)
                return false;
            if (overflow == QtChannel::Overflow::DropNewest) {
                drop(v);
                return true;
            }
            drop(buffer.front());
            buffer.pop_front();
        }
        buffer.push_back(v);
        bufferChanged();
        return true;
    }

    // Whether a put could be accepted now, and a take could take now (without looking).
    bool canPut() const {
        return !closed && (hasLive(gets) || hasRoom(qsizetype(buffer.size())) ||
                           overflow != QtChannel::Overflow::Wait);
    }
    bool canTake() const { return !buffer.empty() || hasLive(puts); }

    void served(Waiter &w) {
        if (w.select >= 0)
            fireSelect(w, w.value);
        else if (w.future >= 0)
            futures[size_t(w.future)].state = ModelFuture::Done;
    }

    // Items of waiting puts move into the room a take made.
    void refill() {
        while (!puts.empty() && hasRoom(qsizetype(buffer.size()))) {
            Waiter *p = firstLive(puts);
            if (!p)
                break;
            buffer.push_back(p->value);
            served(*p);
            puts.pop_front();
        }
    }

    // A take that must not wait: the oldest buffered item (refilling from pending puts), or on
    // a rendezvous channel straight from the oldest live put.
    std::optional<int> take() {
        if (!buffer.empty()) {
            const int v = buffer.front();
            buffer.pop_front();
            refill();
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

    void addGetter(int future, int select = -1, int arm = -1) {
        if (future >= 0 || select >= 0)
            gets.push_back({future, 0, select, arm});
        rearmItem();
        if (cap == 0)
            fire(spaceArmed, spaceArmUnknown, 4, Sig::SpaceAvailable);
    }
    void addPutter(int future, int v, int select = -1, int arm = -1) {
        if (future >= 0 || select >= 0)
            puts.push_back({future, v, select, arm});
        rearmSpace();
        if (cap == 0)
            fire(itemArmed, itemArmUnknown, 2, Sig::ItemAvailable);
    }

    // --- the API ---

    PutResult tryPut(int v) {
        if (closed)
            return PutResult::Closed;
        PutResult r = PutResult::Ok;
        if (!offer(v)) {
            rearmSpace();
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
        rearmSpace();
        if (waited)
            addPutter(-1, v); // withdrawn when the deadline passes
        endBatch();
        return PutResult::Full;
    }

    int failed(ModelFuture::Kind kind) {
        const int f = newFuture(kind, ModelFuture::Failed);
        futures[size_t(f)].reason = closedWithReason;
        return f;
    }

    int put(int v) {
        if (closed)
            return failed(ModelFuture::PutF);
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
            rearmItem();
        endBatch();
        return v;
    }

    // Up to `max` items available now, in one step. An empty batch arms itemAvailable(); so
    // does one shorter than `max` when `shortArms` (tryGetMany() and getMany(), so that a
    // drain may stop at a short batch; getManyBlocking() does not).
    std::vector<int> takeMany(qsizetype max, bool shortArms = true) {
        std::vector<int> out;
        while (qsizetype(out.size()) < max) {
            std::optional<int> v = take();
            if (!v)
                break;
            out.push_back(*v);
        }
        if (out.empty() || (shortArms && qsizetype(out.size()) < max))
            rearmItem();
        return out;
    }

    std::vector<int> tryGetMany(qsizetype max, bool shortArms = true) {
        std::vector<int> out = takeMany(max, shortArms);
        endBatch();
        return out;
    }

    int getMany(qsizetype max) {
        std::vector<int> out = takeMany(max);
        int f;
        if (!out.empty()) {
            f = newFuture(ModelFuture::GetManyF, ModelFuture::Done);
            futures[size_t(f)].values = std::move(out);
        } else if (closed) {
            f = failed(ModelFuture::GetManyF);
        } else {
            f = newFuture(ModelFuture::GetManyF, ModelFuture::Pending);
            addGetter(f);
        }
        endBatch();
        return f;
    }

    // The longest prefix of `items` that fits now; how many.
    qsizetype tryPutMany(const std::vector<int> &items) {
        if (closed)
            return 0;
        qsizetype n = 0;
        for (int v : items) {
            if (!offer(v)) {
                rearmSpace();
                break;
            }
            ++n;
        }
        endBatch();
        return n;
    }

    qsizetype clear() {
        const qsizetype n = qsizetype(buffer.size());
        for (int v : buffer)
            undelivered.push_back(v);
        buffer.clear();
        refill();
        bufferChanged();
        endBatch();
        return n;
    }

    std::optional<int> getBlockingWait(bool waited) {
        std::optional<int> v = take();
        if (!v) {
            rearmItem();
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
            f = failed(ModelFuture::GetF);
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
        if (f.state != ModelFuture::Pending)
            return;
        f.state = ModelFuture::Canceled;
        // A pending put's item is withdrawn: it reaches the undelivered handler.
        for (const Waiter &w : puts) {
            if (w.future == fi)
                canceledPutItems.push_back(w.value);
        }
    }

    // A select arm waiting here can never fire now.
    void armDied(const Waiter &w) {
        ModelSelect &s = (*selects)[size_t(w.select)];
        if (s.done)
            return;
        if (--s.liveArms == 0) {
            // Every arm dead: it fails with ChannelClosed (whatever the reasons), from the
            // context's event loop.
            s.done = true;
            futures[size_t(s.future)].state = ModelFuture::Fired;
            futures[size_t(s.future)].value = -2;
        }
    }

    bool close(bool withReason = false) {
        if (closed)
            return false;
        closed = true;
        closedWithReason = withReason;
        batch |= 8;
        for (auto *line : {&puts, &gets}) {
            for (const Waiter &w : *line) {
                if (w.select >= 0) {
                    armDied(w);
                    continue;
                }
                if (w.future < 0)
                    continue;
                ModelFuture &f = futures[size_t(w.future)];
                if (f.state == ModelFuture::Canceled) {
                    f.forced = true;
                } else {
                    f.state = ModelFuture::Failed;
                    f.reason = closedWithReason;
                    if (line == &puts)
                        undelivered.push_back(w.value);
                }
            }
            line->clear();
        }
        if (buffer.empty())
            finish();
        endBatch();
        return true;
    }

    int join() {
        if (finished) {
            const int f = newFuture(ModelFuture::JoinF, ModelFuture::Done);
            end(futures[size_t(f)]);
            return f;
        }
        const int f = newFuture(ModelFuture::JoinF, ModelFuture::Pending);
        joins.push_back(f);
        return f;
    }

    bool isFull() {
        if (cap == QtChannel::Unbounded)
            return false;
        if (cap > 0)
            return qsizetype(buffer.size()) >= cap;
        return !hasLive(gets);
    }

    int forEach() {
        const int f = newFuture(ModelFuture::ForEachF, ModelFuture::Pending);
        if (finished)
            end(futures[size_t(f)]);
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
                    rearmItem();
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
                    end(f);
                else if (f.state == ModelFuture::Canceled)
                    f.forced = true;
            }
        }
        if (forEachFuture >= 0 && futures[size_t(forEachFuture)].state != ModelFuture::Pending)
            forEachFuture = -1; // ended (finished, or canceled and it will stop)
    }

    // The channel is destroyed: its pending futures fail, its joins and forEachs are
    // canceled (`ownedFutures`: the futures of this channel, not a shared select's), its
    // select arms die, its buffered items and then its pending puts' items are undelivered.
    void destroy(const std::vector<int> &ownedFutures) {
        for (int v : buffer)
            undelivered.push_back(v);
        for (auto *line : {&puts, &gets}) {
            for (const Waiter &w : *line) {
                if (w.select >= 0) {
                    armDied(w);
                    continue;
                }
                if (w.future >= 0 && futures[size_t(w.future)].state == ModelFuture::Pending) {
                    futures[size_t(w.future)].state = ModelFuture::Failed;
                    futures[size_t(w.future)].reason = false;
                    if (line == &puts)
                        undelivered.push_back(w.value);
                }
            }
            line->clear();
        }
        for (int fi : ownedFutures) {
            ModelFuture &f = futures[size_t(fi)];
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

} // namespace Rel
