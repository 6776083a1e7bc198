"""Qt table models over plain records (dicts from the API, or small dataclasses).

Each list the console shows is a :class:`RecordTable` with its columns declared once:
title, how to show a record, and how to sort it. Views sort and filter through a
``QSortFilterProxyModel`` on top, so the records themselves are never reordered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView

from floki_console.discovery import DiscoveredAppliance

R = TypeVar("R")
Index = QModelIndex | QPersistentModelIndex

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
RECORD_ROLE = Qt.ItemDataRole.UserRole + 2


@dataclass(frozen=True)
class Column(Generic[R]):
    title: str
    text: Callable[[R], str]
    sort: Callable[[R], Any] | None = None
    tooltip: Callable[[R], str] | None = None
    colour: Callable[[R], str | None] | None = None


class RecordTable(QAbstractTableModel, Generic[R]):
    """Rows of records; ``key`` identifies a record for in-place updates."""

    def __init__(
        self,
        columns: Sequence[Column[R]],
        key: Callable[[R], Hashable],
        parent: Any = None,
    ) -> None:
        super().__init__(parent)
        self.columns = list(columns)
        self._key = key
        self._records: list[R] = []
        self._rows: dict[Hashable, int] = {}

    # --- reading ---------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._records)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._records):
            return None
        record = self._records[index.row()]
        column = self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.text(record)
        if role == SORT_ROLE:
            return column.sort(record) if column.sort else column.text(record)
        if role == RECORD_ROLE:
            return record
        if role == Qt.ItemDataRole.ToolTipRole and column.tooltip:
            return column.tooltip(record)
        if role == Qt.ItemDataRole.ForegroundRole and column.colour:
            colour = column.colour(record)
            return QBrush(QColor(colour)) if colour else None
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.columns[section].title
        return None

    def record(self, row: int) -> R:
        return self._records[row]

    def records(self) -> list[R]:
        return list(self._records)

    def row_of(self, key: Hashable) -> int | None:
        return self._rows.get(key)

    # --- writing ---------------------------------------------------------------------

    def set_records(self, records: Sequence[R]) -> None:
        self.beginResetModel()
        self._records = list(records)
        self._rows = {self._key(r): i for i, r in enumerate(self._records)}
        self.endResetModel()

    def upsert(self, record: R) -> None:
        key = self._key(record)
        row = self._rows.get(key)
        if row is None:
            row = len(self._records)
            self.beginInsertRows(QModelIndex(), row, row)
            self._records.append(record)
            self._rows[key] = row
            self.endInsertRows()
            return
        self._records[row] = record
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(self.columns) - 1))

    def remove(self, key: Hashable) -> None:
        row = self._rows.get(key)
        if row is None:
            return
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._records[row]
        self.endRemoveRows()
        self._rows = {self._key(r): i for i, r in enumerate(self._records)}


class SortedRecords(QSortFilterProxyModel):
    """Sorting by each column's sort key, and filtering on any shown text."""

    def __init__(self, source: QAbstractTableModel, parent: Any = None) -> None:
        super().__init__(parent)
        self.setSourceModel(source)
        self.setSortRole(SORT_ROLE)
        self.setFilterKeyColumn(-1)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setDynamicSortFilter(True)

    def lessThan(self, left: Index, right: Index) -> bool:
        a = self.sourceModel().data(left, SORT_ROLE)
        b = self.sourceModel().data(right, SORT_ROLE)
        try:
            return bool(a < b)
        except TypeError:
            return str(a) < str(b)


def picked_record(
    model: RecordTable[R], sorted_: QSortFilterProxyModel, current: Index
) -> R | None:
    """The record behind a (sorted) view's current index, or None when nothing is picked."""
    return model.record(sorted_.mapToSource(current).row()) if current.isValid() else None


def select_record(
    table: QAbstractItemView, model: RecordTable[R], sorted_: QSortFilterProxyModel, key: Hashable
) -> None:
    """Make the record with ``key`` current in ``table`` (shown through ``sorted_``), if listed."""
    row = model.row_of(key)
    if row is not None:
        table.setCurrentIndex(sorted_.mapFromSource(model.index(row, 0)))


# --- wording shared by the lists ---------------------------------------------------------


def parse_time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def describe_age(value: Any, now: dt.datetime | None = None) -> str:
    """``"4 min ago"`` for a recent time, otherwise the local date and time."""
    when = parse_time(value)
    if when is None:
        return "never"
    now = now or dt.datetime.now(dt.UTC)
    seconds = (now - when).total_seconds()
    if 0 <= seconds < 60:
        return "just now"
    if 0 <= seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if 0 <= seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    return when.astimezone().strftime("%d %b %Y %H:%M")


def humanise(value: str) -> str:
    return value.replace("_", " ")


STATE_COLOURS = {
    "available": "#2e7d32",
    "in_use": "#1565c0",
    "dirty": "#8d6e63",
    "faulty": "#c62828",
    "quarantined": "#6a1b9a",
    "in_maintenance": "#ef6c00",
    "ppm_overdue": "#d81b60",
    "on_loan": "#00838f",
    "missing": "#424242",
    "condemned": "#757575",
}


# --- the lists ---------------------------------------------------------------------------


def _location(asset: dict[str, Any]) -> dict[str, Any]:
    location = asset.get("location")
    return location if isinstance(location, dict) else {}


def asset_where(asset: dict[str, Any]) -> str:
    location = _location(asset)
    if not location:
        return "not located yet"
    if location.get("off_site"):
        return "off site"
    zone = location.get("zone") or {}
    return str(zone.get("name") or "unknown zone")


def asset_freshness(asset: dict[str, Any]) -> str:
    location = _location(asset)
    if not location:
        return ""
    age = describe_age(location.get("last_seen"))
    return f"stale \u2014 last seen {age}" if location.get("stale") else f"seen {age}"


def asset_table() -> RecordTable[dict[str, Any]]:
    """Search results: what it is, where it is, how fresh that is, and its state."""
    return RecordTable(
        [
            Column("Asset", lambda a: str(a.get("asset_number", ""))),
            Column("Description", lambda a: str(a.get("description", ""))),
            Column("Class", lambda a: str(a.get("class_name") or "")),
            Column("Location", asset_where),
            Column(
                "Freshness",
                asset_freshness,
                sort=lambda a: str(_location(a).get("last_seen") or ""),
                colour=lambda a: "#b26a00" if _location(a).get("stale") else None,
            ),
            Column(
                "State",
                lambda a: humanise(str(a.get("state", ""))),
                colour=lambda a: STATE_COLOURS.get(str(a.get("state", ""))),
            ),
        ],
        key=lambda a: a.get("id"),
    )


def appliance_table() -> RecordTable[DiscoveredAppliance]:
    """Appliances found on the network."""

    def fingerprint(a: DiscoveredAppliance) -> str:
        return a.fingerprint or "(not announced)"

    return RecordTable(
        [
            Column("Site", lambda a: a.site or a.name),
            Column("Address", lambda a: str(a.address)),
            Column("Version", lambda a: a.version),
            Column(
                "Certificate fingerprint",
                fingerprint,
                tooltip=lambda a: "\n".join([fingerprint(a), *a.problems]),
                colour=lambda a: "#b26a00" if a.problems else None,
            ),
        ],
        key=lambda a: a.service,
    )
