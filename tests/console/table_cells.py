"""What a console table shows a person, cell by cell: the health tests' shared readers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import Qt


def iso(when: dt.datetime) -> str:
    """A time as the API sends it (UTC, ``Z``)."""
    return when.isoformat().replace("+00:00", "Z")


def shown(model: Any, row: int) -> dict[str, str]:
    """One row of ``model`` as column title -> the text in that cell."""
    return {
        str(model.headerData(c, Qt.Orientation.Horizontal)): model.data(model.index(row, c))
        for c in range(model.columnCount())
    }


def colour(model: Any, row: int, title: str) -> str | None:
    """The text colour of the cell under ``title`` in ``row``; None when left plain."""
    column = next(
        c
        for c in range(model.columnCount())
        if model.headerData(c, Qt.Orientation.Horizontal) == title
    )
    brush = model.data(model.index(row, column), Qt.ItemDataRole.ForegroundRole)
    return None if brush is None else str(brush.color().name())
