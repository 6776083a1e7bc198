"""Which assets and places get labels, and what each label says.

Shared by the API and ``floki-core labels``: plain functions of the register in one
transaction (``RegisterWriting``), so the command line (no appliance running) and the
API do the same thing, codes and audit trail included.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import quote

from floki_core.sdk import (
    Asset,
    Invalid,
    Principal,
    RegisterReading,
    RegisterWriting,
    Zone,
    giai_problem,
)
from floki_qr.label_codes import CreatedCodes, ensure_asset_codes, ensure_zone_codes
from floki_qr.label_sheets import LabelContent

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
    register: RegisterWriting,
    selection: LabelSelection,
    options: LabelOptions,
    *,
    actor: Principal,
) -> PreparedLabels:
    """The labels' contents, creating the codes that are missing, and an audit entry."""
    if selection.is_empty():
        raise Invalid("say which labels: assets, zones, a class, a zone's assets, or all")
    assets = _assets(register, selection)
    zones = _zones(register, selection)
    count = len(assets) + len(zones)
    if count == 0:
        raise Invalid("the selection has no assets or zones to label")
    if count > options.max_labels:
        raise Invalid(f"{count} labels asked for; at most {options.max_labels} at a time")
    asset_codes, created = ensure_asset_codes(register, [a.id for a in assets], actor=actor)
    zone_codes, made_zones = ensure_zone_codes(register, [z.id for z in zones], actor=actor)
    created.receivers = made_zones.receivers
    sites = _site_names(register, options)
    zone_rows = {z.id: z for z in register.all_zones()}
    classes = {c.id: c.name for c in register.asset_classes()}
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
    register.audit(
        actor=actor,
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


def _site_names(register: RegisterReading, options: LabelOptions) -> _SiteNames:
    names = {site.id: site.name for site in register.sites()}
    return _SiteNames(names, options.site_name, options.fallback_site)


def _zone_tree(register: RegisterReading, root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for zone in register.all_zones():
        if zone.parent_id is not None:
            children.setdefault(zone.parent_id, []).append(zone.id)
    found: list[int] = []
    stack = [root]
    while stack:
        current = stack.pop()
        if current not in found:
            found.append(current)
            stack.extend(children.get(current, ()))
    return found


def _require_zone(register: RegisterReading, what: str, zone_id: int) -> None:
    if register.zone(zone_id) is None:
        raise Invalid(f"{what}: zone {zone_id} does not exist")


def _assets(register: RegisterReading, selection: LabelSelection) -> list[Asset]:
    chosen: dict[int, Asset] = {}
    if selection.asset_ids:
        found = {a.id: a for a in register.assets(selection.asset_ids)}
        for asset_id in selection.asset_ids:
            if asset_id not in found:
                raise Invalid(f"assets: asset {asset_id} does not exist")
            chosen.setdefault(asset_id, found[asset_id])
    if selection.all_assets:
        chosen.update((a.id, a) for a in register.all_assets() if a.id not in chosen)
        return list(chosen.values())
    if selection.class_id is not None:
        if register.asset_class(selection.class_id) is None:
            raise Invalid(f"class_id: asset class {selection.class_id} does not exist")
        for asset in register.assets_of_class(selection.class_id):
            chosen.setdefault(asset.id, asset)
    if selection.assets_in_zone is not None:
        _require_zone(register, "zone_id", selection.assets_in_zone)
        tree = _zone_tree(register, selection.assets_in_zone)
        for asset in register.assets_at_home_in(tree):
            chosen.setdefault(asset.id, asset)
    return list(chosen.values())


def _zones(register: RegisterReading, selection: LabelSelection) -> list[Zone]:
    chosen: dict[int, Zone] = {}
    if selection.zone_ids:
        found = {z.id: z for z in register.zones(selection.zone_ids)}
        for zone_id in selection.zone_ids:
            if zone_id not in found:
                raise Invalid(f"zones: zone {zone_id} does not exist")
            chosen.setdefault(zone_id, found[zone_id])
    if selection.zones_in is not None:
        _require_zone(register, "zones_in", selection.zones_in)
        tree = _zone_tree(register, selection.zones_in)
        found = {z.id: z for z in register.zones(tree)}
        for zone_id in tree:
            chosen.setdefault(zone_id, found[zone_id])
    return list(chosen.values())


# --- names, for the command line ---------------------------------------------------


def asset_ids_by_number(register: RegisterReading, numbers: Iterable[str]) -> tuple[int, ...]:
    wanted = list(dict.fromkeys(numbers))
    found = register.asset_ids_by_number(wanted)
    missing = [n for n in wanted if n not in found]
    if missing:
        raise Invalid(f"--assets: no asset numbered {', '.join(missing)}")
    return tuple(found[n] for n in wanted)


def zone_ids_by_name(
    register: RegisterReading, names: Iterable[str], option: str
) -> tuple[int, ...]:
    """Zones by name (or id); a name used on two sites must be given as an id."""
    ids: list[int] = []
    sites = {site.id: site.name for site in register.sites()}
    for name in dict.fromkeys(names):
        zones = register.zones_named(name)
        if not zones and _is_id(name) and register.zone(int(name)) is not None:
            ids.append(int(name))
            continue
        if not zones:
            raise Invalid(f"{option}: no zone named {name!r}")
        if len(zones) > 1:
            where = ", ".join(f"{sites.get(z.site_id)} (id {z.id})" for z in zones)
            raise Invalid(
                f"{option}: {name!r} is a zone on more than one site: {where}; give the id"
            )
        ids.append(zones[0].id)
    return tuple(ids)


def class_id_by_name(register: RegisterReading, name: str) -> int:
    found = register.asset_class_named(name)
    if found is None:
        raise Invalid(f"--class: no asset class named {name!r}")
    return found.id


def _is_id(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 18
