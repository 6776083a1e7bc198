"""Asset look-ups the register's generic CRUD does not cover: text search, by identifier."""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from floki_core import domain
from floki_core.storage.models import AssetClassRow, AssetRow, ZoneRow
from floki_core.storage.register import ASSETS


class PresentedAsset(domain.Asset, frozen=True, kw_only=True):
    """An asset as a user sees it: ``state`` is the presented state
    (``floki_core.workflow.ppm_rules``), so a PPM-overdue device shows ``ppm_overdue``,
    never ``available``."""

    state: str = "available"  # type: ignore[assignment]  # wider: also ppm_overdue


class AssetView(PresentedAsset, frozen=True, kw_only=True):
    """An asset as a user sees it in a list: with its class and whereabouts, and the
    stored state beside the presented one."""

    recorded_state: str | None = None
    ppm_overdue: bool = False
    available: bool = False
    class_name: str | None = None
    home_zone: str | None = None
    location: dict[str, Any] | None = None  # filled by the resolver once it runs


_SEARCHED = (
    AssetRow.asset_number,
    AssetRow.description,
    AssetRow.serial,
    AssetRow.department,
    AssetClassRow.name,
    AssetClassRow.category,
    AssetClassRow.make,
    AssetClassRow.model,
)


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_assets(
    session: Session,
    *,
    q: str = "",
    filters: dict[str, Any] | None = None,
    where: ColumnElement[bool] | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[AssetView], int]:
    """Every word of ``q`` must appear in one of the searched columns (any order, any case)."""
    query = (
        select(AssetRow, AssetClassRow.name, ZoneRow.name)
        .outerjoin(AssetClassRow, AssetRow.class_id == AssetClassRow.id)
        .outerjoin(ZoneRow, AssetRow.home_zone_id == ZoneRow.id)
    )
    conditions = []
    for term in q.split():
        pattern = f"%{_escape_like(term)}%"
        conditions.append(or_(*(col.ilike(pattern, escape="\\") for col in _SEARCHED)))
    for name, value in (filters or {}).items():
        conditions.append(getattr(AssetRow, name) == value)
    if where is not None:
        conditions.append(where)
    if conditions:
        query = query.where(and_(*conditions))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(AssetRow.asset_number).limit(limit).offset(offset))
    views = [
        msgspec.structs.replace(
            _as_view(ASSETS.to_record(asset)), class_name=class_name, home_zone=zone_name
        )
        for asset, class_name, zone_name in rows
    ]
    return views, total


def _as_view(asset: domain.Asset) -> AssetView:
    return AssetView(**msgspec.structs.asdict(asset))
