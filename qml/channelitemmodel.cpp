// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#include "QtChannel/channelitemmodel.h"

#include <QtQml/qqmlinfo.h>

#include <algorithm>

namespace QtChannel {

ChannelItemModel::ChannelItemModel(std::function<QList<QVariant>()> source, QObject *parent)
    : QAbstractListModel(parent)
    , m_source(std::move(source))
    , m_rows(m_source()) {}

void ChannelItemModel::refresh(qint64 takenHint) {
    sync(m_source(), takenHint);
}

int ChannelItemModel::rowCount(const QModelIndex &parent) const {
    return parent.isValid() ? 0 : int(m_rows.size());
}

QVariant ChannelItemModel::data(const QModelIndex &index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return QVariant();
    if (role != ValueRole && role != Qt::DisplayRole)
        return QVariant();
    const QVariant &item = m_rows.at(index.row());
    return item.isValid() ? item : QVariant::fromValue(nullptr);
}

QHash<int, QByteArray> ChannelItemModel::roleNames() const {
    return {{ValueRole, QByteArrayLiteral("value")},
            {Qt::DisplayRole, QByteArrayLiteral("display")}};
}

QVariant ChannelItemModel::get(int row) const {
    if (row < 0 || row >= m_rows.size())
        return QVariant();
    return data(index(row), ValueRole);
}

void ChannelItemModel::setLimit(int limit) {
    if (limit < -1) {
        qmlWarning(this) << QStringLiteral("ChannelItems: invalid limit %1 (use -1 for all "
                                           "items or n >= 0); it stays %2")
                                .arg(limit)
                                .arg(m_limit);
        return;
    }
    if (limit == m_limit)
        return;
    m_limit = limit;
    reset(m_source());
    Q_EMIT limitChanged();
}

void ChannelItemModel::reset(QList<QVariant> buffer) {
    if (m_limit >= 0 && buffer.size() > m_limit)
        buffer.resize(m_limit);
    const qsizetype old = m_rows.size();
    beginResetModel();
    m_rows = std::move(buffer);
    endResetModel();
    if (old != m_rows.size())
        Q_EMIT countChanged();
}

// A channel is a FIFO: between two looks, items can only have left at the front and arrived
// at the back. So the old rows [k, old) must be the first rows of the new buffer, for the k
// items that left. Any k for which that holds explains the change; with repeated values
// several may, and the QmlChannel's count of items taken since the last look picks the true
// one when every take went through it. k == old (everything left) always holds.
void ChannelItemModel::sync(QList<QVariant> buffer, qint64 takenHint) {
    if (m_limit >= 0 && buffer.size() > m_limit)
        buffer.resize(m_limit);
    const qsizetype old = m_rows.size();
    const qsizetype now = buffer.size();
    const auto explains = [&](qsizetype k) {
        const qsizetype kept = old - k;
        if (kept > now)
            return false;
        for (qsizetype i = 0; i < kept; ++i) {
            if (m_rows.at(k + i) != buffer.at(i))
                return false;
        }
        return true;
    };
    qsizetype left = -1;
    const qsizetype hint = qsizetype(std::clamp<qint64>(takenHint, 0, old));
    if (explains(hint)) {
        left = hint;
    } else {
        for (qsizetype k = std::max<qsizetype>(0, old - now); k <= old; ++k) {
            if (explains(k)) {
                left = k;
                break;
            }
        }
    }
    if (left > 0) {
        beginRemoveRows(QModelIndex(), 0, int(left - 1));
        m_rows.remove(0, left);
        endRemoveRows();
    }
    const qsizetype kept = old - left;
    if (now > kept) {
        beginInsertRows(QModelIndex(), int(kept), int(now - 1));
        m_rows.append(buffer.mid(kept));
        endInsertRows();
    }
    if (old != now)
        Q_EMIT countChanged();
}

} // namespace QtChannel
