// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

#include <QtChannel/qtchannelqml_export.h>

#include <QtCore/QAbstractListModel>
#include <QtCore/QList>
#include <QtCore/QVariant>
#include <QtQml/qqmlregistration.h>

#include <functional>

/*!
 * \file channelitemmodel.h
 * \brief ChannelItemModel, the `items` of a QML Channel. Include <QtChannel/QmlChannel>.
 */

namespace QtChannel {

/*!
 * \brief The buffered items of a QmlChannel, oldest first, as a list model for a ListView or
 * Repeater: `Repeater { model: channel.items; delegate: Text { text: value } }`.
 *
 * The model follows the channel at frame rate, not per item: at most once per frame it copies
 * the buffer (Channel::snapshot()) and turns the difference into one rowsRemoved() at the front
 * (items taken) and one rowsInserted() at the back (items put), so views animate items moving
 * through the channel without a signal per item. Roles: `value` (the item) and `display` (the
 * same). `limit` keeps only the oldest n items (for a view that shows a window of a big
 * buffer); `count` is the number of rows.
 */
class QTCHANNELQML_EXPORT ChannelItemModel : public QAbstractListModel {
    Q_OBJECT
    QML_NAMED_ELEMENT(ChannelItems)
    QML_UNCREATABLE("ChannelItems is the items property of a Channel")
    //! The number of rows: the buffered items, at most limit.
    Q_PROPERTY(int count READ rowCount NOTIFY countChanged)
    //! Show at most this many items, the oldest; -1 (the default) shows them all.
    Q_PROPERTY(int limit READ limit WRITE setLimit NOTIFY limitChanged)

public:
    enum Role { ValueRole = Qt::UserRole + 1 };

    /*!
     * A model of the items `source` returns (a channel's buffered items, oldest first), owned
     * by `parent`. QmlChannel makes one for its `items` property.
     */
    ChannelItemModel(std::function<QList<QVariant>()> source, QObject *parent);

    int rowCount(const QModelIndex &parent = QModelIndex()) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QHash<int, QByteArray> roleNames() const override;

    int limit() const { return m_limit; }
    void setLimit(int limit);

    //! The item at `row`, or `undefined` outside the rows.
    Q_INVOKABLE QVariant get(int row) const;

    /*!
     * Brings the rows in line with the source now. `takenHint` is how many items were seen
     * taken since the last refresh: the expected number of rows leaving at the front when
     * items repeat. QmlChannel calls it at most once a frame.
     */
    void refresh(qint64 takenHint);

Q_SIGNALS:
    void countChanged();
    void limitChanged();

private:
    void sync(QList<QVariant> buffer, qint64 takenHint);
    void reset(QList<QVariant> buffer);

    const std::function<QList<QVariant>()> m_source;
    QList<QVariant> m_rows;
    int m_limit = -1;
};

} // namespace QtChannel
