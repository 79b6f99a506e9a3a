// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

#include <QtChannel/channel.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

/*!
 * \file handles.h
 * \brief Sender, Receiver and makeChannel(). Include <QtChannel/Channel>.
 */

namespace QtChannel {

template <typename T> class Sender;
template <typename T> class Receiver;
class Select;
template <typename T>
std::pair<Sender<T>, Receiver<T>> makeChannel(qsizetype capacity = Unbounded,
                                              Overflow overflow = Overflow::Wait);

namespace detail {

// The channel a pair of handles owns, with the count of each kind of handle.
template <typename T> struct SharedChannel {
    SharedChannel(qsizetype capacity, Overflow overflow)
        : channel(capacity, overflow) {}
    Channel<T> channel;
    std::atomic<qsizetype> senders{1};
    std::atomic<qsizetype> receivers{1};
};

// What Sender and Receiver share: the reference, the count of their kind, the checks.
template <typename T, std::atomic<qsizetype> SharedChannel<T>::*Count> class Handle {
public:
    Handle() noexcept = default;
    Handle(const Handle &other) noexcept
        : m_shared(other.m_shared) {
        if (m_shared)
            ((*m_shared).*Count).fetch_add(1, std::memory_order_relaxed);
    }
    Handle(Handle &&other) noexcept
        : m_shared(std::move(other.m_shared)) {}
    ~Handle() { release(); }

    // Releases this handle; the last one of its kind closes the channel, and the last handle
    // of either kind destroys it (in this thread).
    void release() noexcept {
        if (std::shared_ptr<SharedChannel<T>> shared = std::move(m_shared)) {
            if (((*shared).*Count).fetch_sub(1, std::memory_order_acq_rel) == 1)
                shared->channel.close();
        }
    }
    void swap(Handle &other) noexcept { m_shared.swap(other.m_shared); }
    bool isValid() const noexcept { return m_shared != nullptr; }
    Channel<T> &checked(const char *what) const {
        if (!m_shared)
            throw std::logic_error(std::string("QtChannel: ") + what +
                                   " called on an empty handle (default-constructed, moved "
                                   "from or reset)");
        return m_shared->channel;
    }

protected:
    explicit Handle(std::shared_ptr<SharedChannel<T>> shared) noexcept
        : m_shared(std::move(shared)) {}

    std::shared_ptr<SharedChannel<T>> m_shared;
};

} // namespace detail

/*!
 * \brief The put side of a channel owned by its handles (makeChannel()). When the last Sender
 * of a channel is destroyed or reset, the channel is closed: its consumers cannot hang because
 * a producer forgot close().
 *
 * Copyable (each copy counts) and movable (a moved-from handle is empty and does not count).
 * Assigning over the last Sender of a channel closes that channel. A default-constructed
 * handle is empty: isValid() is false and every other call throws std::logic_error. Like
 * std::shared_ptr, copies of a handle may be used from many threads at once; one handle
 * object must not be assigned or reset while another thread uses it. The members are
 * Channel<T>'s, with its contracts.
 *
 * Example: examples/07-handles/main.cpp.
 */
template <typename T> class Sender : public detail::Handle<T, &detail::SharedChannel<T>::senders> {
    using Base = detail::Handle<T, &detail::SharedChannel<T>::senders>;

public:
    //! An empty handle.
    Sender() noexcept = default;
    Sender(const Sender &) noexcept = default;
    Sender(Sender &&) noexcept = default;
    //! Releases the handle held before (possibly closing its channel), then holds `other`'s.
    Sender &operator=(Sender other) noexcept {
        this->swap(other);
        return *this; // `other` releases what this held
    }

    //! Releases the handle: it becomes empty; the last Sender closes the channel.
    void reset() noexcept { this->release(); }
    //! Whether the handle refers to a channel.
    bool isValid() const noexcept { return Base::isValid(); }
    //! The channel, for its signals, properties and join(); it lives while any handle does.
    ChannelBase *channel() const { return &this->checked("Sender::channel()"); }
    //! Closes the channel now (see ChannelBase::close()).
    bool close() const { return this->checked("Sender::close()").close(); }
    //! See ChannelBase::close(std::exception_ptr).
    bool close(std::exception_ptr reason) const {
        return this->checked("Sender::close()").close(std::move(reason));
    }

    //! See Channel::put().
    QFuture<void> put(T item) const { return this->checked("Sender::put()").put(std::move(item)); }
    //! See Channel::tryPut().
    PutResult tryPut(const T &item) const { return this->checked("Sender::tryPut()").tryPut(item); }
    //! See Channel::tryPut().
    PutResult tryPut(T &&item) const {
        return this->checked("Sender::tryPut()").tryPut(std::move(item));
    }
    //! See Channel::putBlocking().
    PutResult putBlocking(T &&item,
                          QDeadlineTimer deadline = QDeadlineTimer(QDeadlineTimer::Forever)) const {
        return this->checked("Sender::putBlocking()").putBlocking(std::move(item), deadline);
    }
    //! See Channel::putBlocking().
    PutResult putBlocking(const T &item,
                          QDeadlineTimer deadline = QDeadlineTimer(QDeadlineTimer::Forever)) const {
        return this->checked("Sender::putBlocking()").putBlocking(item, deadline);
    }
    //! See Channel::tryPutMany().
    qsizetype tryPutMany(QList<T> &items) const {
        return this->checked("Sender::tryPutMany()").tryPutMany(items);
    }
    //! See Channel::send(). The awaiter must not outlive the channel's handles.
    detail::SendAwaiter<T> send(T item) const {
        return this->checked("Sender::send()").send(std::move(item));
    }

private:
    template <typename U>
    friend std::pair<Sender<U>, Receiver<U>> makeChannel(qsizetype capacity, Overflow overflow);
    friend class Select;
    explicit Sender(std::shared_ptr<detail::SharedChannel<T>> shared) noexcept
        : Base(std::move(shared)) {}
    Channel<T> &target(const char *what) const { return this->checked(what); }
};

/*!
 * \brief The get side of a channel owned by its handles (makeChannel()). When the last
 * Receiver of a channel is destroyed or reset, the channel is closed: puts fail instead of
 * filling a channel nobody reads.
 *
 * Copyable, movable and empty as Sender is. The members are Channel<T>'s, with its contracts.
 */
template <typename T>
class Receiver : public detail::Handle<T, &detail::SharedChannel<T>::receivers> {
    using Base = detail::Handle<T, &detail::SharedChannel<T>::receivers>;

public:
    //! An empty handle.
    Receiver() noexcept = default;
    Receiver(const Receiver &) noexcept = default;
    Receiver(Receiver &&) noexcept = default;
    //! Releases the handle held before (possibly closing its channel), then holds `other`'s.
    Receiver &operator=(Receiver other) noexcept {
        this->swap(other);
        return *this;
    }

    //! Releases the handle: it becomes empty; the last Receiver closes the channel.
    void reset() noexcept { this->release(); }
    //! Whether the handle refers to a channel.
    bool isValid() const noexcept { return Base::isValid(); }
    //! The channel, for its signals, properties and join(); it lives while any handle does.
    ChannelBase *channel() const { return &this->checked("Receiver::channel()"); }
    //! Closes the channel now (see ChannelBase::close()).
    bool close() const { return this->checked("Receiver::close()").close(); }
    //! See ChannelBase::close(std::exception_ptr).
    bool close(std::exception_ptr reason) const {
        return this->checked("Receiver::close()").close(std::move(reason));
    }

    //! See Channel::get().
    QFuture<T> get() const { return this->checked("Receiver::get()").get(); }
    //! See Channel::tryGet().
    std::optional<T> tryGet() const { return this->checked("Receiver::tryGet()").tryGet(); }
    //! See Channel::getBlocking().
    std::optional<T>
    getBlocking(QDeadlineTimer deadline = QDeadlineTimer(QDeadlineTimer::Forever)) const {
        return this->checked("Receiver::getBlocking()").getBlocking(deadline);
    }
    //! See Channel::tryGetMany().
    QList<T> tryGetMany(qsizetype max) const {
        return this->checked("Receiver::tryGetMany()").tryGetMany(max);
    }
    //! See Channel::getMany().
    QFuture<QList<T>> getMany(qsizetype max) const {
        return this->checked("Receiver::getMany()").getMany(max);
    }
    //! See Channel::getManyBlocking().
    QList<T>
    getManyBlocking(qsizetype max,
                    QDeadlineTimer deadline = QDeadlineTimer(QDeadlineTimer::Forever)) const {
        return this->checked("Receiver::getManyBlocking()").getManyBlocking(max, deadline);
    }
    //! See Channel::receive(). The awaiter must not outlive the channel's handles.
    detail::ReceiveAwaiter<T> receive() const {
        return this->checked("Receiver::receive()").receive();
    }
    //! See Channel::forEach(). The loop holds no handle: it ends when the channel is finished.
    template <typename F> QFuture<void> forEach(QObject *context, F &&f) const {
        return this->checked("Receiver::forEach()").forEach(context, std::forward<F>(f));
    }

private:
    template <typename U>
    friend std::pair<Sender<U>, Receiver<U>> makeChannel(qsizetype capacity, Overflow overflow);
    friend class Select;
    explicit Receiver(std::shared_ptr<detail::SharedChannel<T>> shared) noexcept
        : Base(std::move(shared)) {}
    Channel<T> &target(const char *what) const { return this->checked(what); }
};

/*!
 * A channel owned by its handles: one Sender and one Receiver (copy them for more producers
 * and consumers). The last Sender gone closes the channel, so consumers finish; the last
 * Receiver gone closes it too, so producers stop; the last handle gone destroys it.
 * \throws std::invalid_argument for the arguments Channel's constructor rejects.
 */
template <typename T>
std::pair<Sender<T>, Receiver<T>> makeChannel(qsizetype capacity, Overflow overflow) {
    auto shared = std::make_shared<detail::SharedChannel<T>>(capacity, overflow);
    return {Sender<T>(shared), Receiver<T>(shared)};
}

} // namespace QtChannel
