"""Which assets and places get labels, and what each label says.

Shared by the API and ``floki-core labels``: plain functions of a database session,
so the command line (no appliance running) and the API (in the core's writer) do the
same thing, codes and audit trail included.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from floki_core.domain import Principal
from floki_core.errors import Invalid
from floki_core.schemas import giai_problem
from floki_core.storage.audit import write_audit
from floki_core.storage.models import AssetClassRow, AssetRow, SiteRow, ZoneRow
from floki_qr.label_codes import CreatedCodes, ensure_asset_codes, ensure_zone_codes
from floki_qr.label_sheets import LabelContent

RowT = TypeVar("RowT", AssetRow, ZoneRow)

__all__ = [
    "LabelOptions",
    "LabelSelection",
    "PreparedLabels",
    "asset_ids_by_number",
    "class_id_by_name",
    "label_url",
    "prepare_labels",
    "zone_ids_by_name",
]


@dataclass(frozen=True)
class LabelSelection:
    """Labels for these assets and places (any combination; assets first)."""

    asset_ids: tuple[int, ...] = ()
    zone_ids: tuple[int, ...] = ()
    class_id: int | None = None  # every asset of the class
    assets_in_zone: int | None = None  # every asset whose home zone is in this zone's tree
    zones_in: int | None = None  # this zone and every zone inside it
    all_assets: bool = False

    def is_empty(self) -> bool:
        return not (
            self.asset_ids
            or self.zone_ids
            or self.class_id is not None
            or self.assets_in_zone is not None
            or self.zones_in is not None
            or self.all_assets
        )


@dataclass(frozen=True)
class LabelOptions:
    base_url: str  # https://host[:port][/path], without a trailing slash
    gs1: bool = False  # GS1 Digital Link URLs where the GIAI or GLN is known
    site_name: str | None = None  # printed instead of the site's own name
    fallback_site: str = "Floki"  # for an asset with no home zone on a multi-site register
    max_labels: int = 1000


@dataclass
class PreparedLabels:
    labels: list[LabelContent]
    assets: int
    zones: int
    created: CreatedCodes = field(default_factory=CreatedCodes)
    short_code_fallbacks: int = 0  # --gs1 asked for, but no GIAI/GLN: the /q/ URL printed


def label_url(base_url: str, code: str) -> str:
    return f"{base_url}/q/{quote(code, safe='')}"


def _gs1_url(base_url: str, ai: str, value: str) -> str:
    return f"{base_url}/{ai}/{quote(value, safe='')}"


def prepare_labels(
    session: Session,
    selection: LabelSelection,
    options: LabelOptions,
    *,
    actor: Principal,
    now: dt.datetime,
) -> PreparedLabels:
    """The labels' contents, creating the codes that are missing, and an audit entry."""
    if selection.is_empty():
        raise Invalid("say which labels: assets, zones, a class, a zone's assets, or all")
    assets = _assets(session, selection)
    zones = _zones(session, selection)
    count = len(assets) + len(zones)
    if count == 0:
        raise Invalid("the selection has no assets or zones to label")
    if count > options.max_labels:
        raise Invalid(f"{count} labels asked for; at most {options.max_labels} at a time")
    asset_codes, created = ensure_asset_codes(session, [a.id for a in assets], actor=actor, now=now)
    zone_codes, made_zones = ensure_zone_codes(session, [z.id for z in zones], actor=actor, now=now)
    created.receivers = made_zones.receivers
    sites = _site_names(session, options)
    zone_rows = {z.id: z for z in session.scalars(select(ZoneRow))}
    classes = {i: n for i, n in session.execute(select(AssetClassRow.id, AssetClassRow.name))}
    prepared = PreparedLabels([], len(assets), len(zones), created)
    for asset in assets:
        code = asset_codes[asset.id]
        url = label_url(options.base_url, code)
        if options.gs1:
            # A GIAI stored before the register checked it may be one no scanner reads
            # back: its label carries the short code instead.
            if asset.giai and giai_problem(asset.giai) is None:
                url = _gs1_url(options.base_url, "8004", asset.giai)
            else:
                prepared.short_code_fallbacks += 1
        home = zone_rows.get(asset.home_zone_id) if asset.home_zone_id else None
        prepared.labels.append(
            LabelContent(
                url=url,
                title=asset.asset_number,
                subtitle=asset.description or classes.get(asset.class_id or 0, ""),
                code=code,
                site=sites.for_site(home.site_id if home else None),
            )
        )
    for zone in zones:
        code = zone_codes[zone.id]
        url = label_url(options.base_url, code)
        if options.gs1:
            if zone.gln:
                url = _gs1_url(options.base_url, "414", zone.gln)
            else:
                prepared.short_code_fallbacks += 1
        parent = zone_rows.get(zone.parent_id) if zone.parent_id else None
        prepared.labels.append(
            LabelContent(
                url=url,
                title=zone.name,
                subtitle=parent.name if parent else "",
                code=code,
                site=sites.for_site(zone.site_id),
            )
        )
    write_audit(
        session,
        at=now,
        actor=actor.label,
        action="export",
        entity="labels",
        after={
            "assets": len(assets),
            "zones": len(zones),
            "codes_created": len(created),
            "gs1": options.gs1,
        },
        detail=f"{count} QR labels printed, {len(created)} new codes",
    )
    return prepared


@dataclass(frozen=True)
class _SiteNames:
    names: dict[int, str]
    override: str | None
    fallback: str

    def for_site(self, site_id: int | None) -> str:
        if self.override:
            return self.override
        if site_id is not None and site_id in self.names:
            return self.names[site_id]
        if len(self.names) == 1:
            return next(iter(self.names.values()))
        return self.fallback


def _site_names(session: Session, options: LabelOptions) -> _SiteNames:
    names = {i: n for i, n in session.execute(select(SiteRow.id, SiteRow.name))}
    return _SiteNames(names, options.site_name, options.fallback_site)


def _zone_tree(session: Session, root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for zone_id, parent_id in session.execute(select(ZoneRow.id, ZoneRow.parent_id)):
        if parent_id is not None:
            children.setdefault(parent_id, []).append(zone_id)
    found: list[int] = []
    stack = [root]
    while stack:
        current = stack.pop()
        if current not in found:
            found.append(current)
            stack.extend(children.get(current, ()))
    return found


def _require_zone(session: Session, what: str, zone_id: int) -> None:
    if session.get(ZoneRow, zone_id) is None:
        raise Invalid(f"{what}: zone {zone_id} does not exist")


def _assets(session: Session, selection: LabelSelection) -> list[AssetRow]:
    chosen: dict[int, AssetRow] = {}
    if selection.asset_ids:
        rows = {r.id: r for r in _in(session, AssetRow, selection.asset_ids)}
        for asset_id in selection.asset_ids:
            if asset_id not in rows:
                raise Invalid(f"assets: asset {asset_id} does not exist")
            chosen.setdefault(asset_id, rows[asset_id])
    query = select(AssetRow).order_by(AssetRow.asset_number)
    if selection.all_assets:
        chosen.update((r.id, r) for r in session.scalars(query) if r.id not in chosen)
        return list(chosen.values())
    if selection.class_id is not None:
        if session.get(AssetClassRow, selection.class_id) is None:
            raise Invalid(f"class_id: asset class {selection.class_id} does not exist")
        for row in session.scalars(query.where(AssetRow.class_id == selection.class_id)):
            chosen.setdefault(row.id, row)
    if selection.assets_in_zone is not None:
        _require_zone(session, "zone_id", selection.assets_in_zone)
        tree = _zone_tree(session, selection.assets_in_zone)
        for row in session.scalars(query.where(AssetRow.home_zone_id.in_(tree))):
            chosen.setdefault(row.id, row)
    return list(chosen.values())


def _zones(session: Session, selection: LabelSelection) -> list[ZoneRow]:
    chosen: dict[int, ZoneRow] = {}
    if selection.zone_ids:
        rows = {r.id: r for r in _in(session, ZoneRow, selection.zone_ids)}
        for zone_id in selection.zone_ids:
            if zone_id not in rows:
                raise Invalid(f"zones: zone {zone_id} does not exist")
            chosen.setdefault(zone_id, rows[zone_id])
    if selection.zones_in is not None:
        _require_zone(session, "zones_in", selection.zones_in)
        tree = _zone_tree(session, selection.zones_in)
        rows = {r.id: r for r in _in(session, ZoneRow, tree)}
        for zone_id in tree:
            chosen.setdefault(zone_id, rows[zone_id])
    return list(chosen.values())


def _in(session: Session, table: type[RowT], ids: Sequence[int]) -> list[RowT]:
    found: list[RowT] = []
    for start in range(0, len(ids), 500):
        found.extend(session.scalars(select(table).where(table.id.in_(ids[start : start + 500]))))
    return found


# --- names, for the command line ---------------------------------------------------


def asset_ids_by_number(session: Session, numbers: Iterable[str]) -> tuple[int, ...]:
    wanted = list(dict.fromkeys(numbers))
    query = select(AssetRow.asset_number, AssetRow.id).where(AssetRow.asset_number.in_(wanted))
    found = {number: asset_id for number, asset_id in session.execute(query)}
    missing = [n for n in wanted if n not in found]
    if missing:
        raise Invalid(f"--assets: no asset numbered {', '.join(missing)}")
    return tuple(found[n] for n in wanted)


def zone_ids_by_name(session: Session, names: Iterable[str], option: str) -> tuple[int, ...]:
    """Zones by name (or id); a name used on two sites must be given as an id."""
    ids: list[int] = []
    for name in dict.fromkeys(names):
        rows = session.execute(
            select(ZoneRow.id, SiteRow.name).join(SiteRow).where(ZoneRow.name == name)
        ).all()
        if not rows and _is_id(name) and session.get(ZoneRow, int(name)) is not None:
            ids.append(int(name))
            continue
        if not rows:
            raise Invalid(f"{option}: no zone named {name!r}")
        if len(rows) > 1:
            where = ", ".join(f"{site} (id {zone_id})" for zone_id, site in rows)
            raise Invalid(
                f"{option}: {name!r} is a zone on more than one site: {where}; give the id"
            )
        ids.append(rows[0][0])
    return tuple(ids)


def class_id_by_name(session: Session, name: str) -> int:
    found = session.scalar(select(AssetClassRow.id).where(AssetClassRow.name == name))
    if found is None:
        raise Invalid(f"--class: no asset class named {name!r}")
    return found


def _is_id(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 18
