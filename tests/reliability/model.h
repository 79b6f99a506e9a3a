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

} // namespace Rel
