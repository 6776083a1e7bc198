"""Printable QR labels: settings, ``GET /api/v1/qr/labels.pdf`` and ``floki-core labels``."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import re
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from aiohttp import web

from floki_core.sdk import (
    MAX_ID,
    ApiError,
    CommandContext,
    CommandRegistry,
    FlokiError,
    Param,
    PluginContext,
    Principal,
    RegisterWriting,
    Role,
    RouteRegistry,
    ServerConfig,
    SystemClock,
    plugin_section,
    principal_of,
)
from floki_qr.label_sheets import LAYOUTS, SheetLayout, render_labels, single_label
from floki_qr.label_subjects import (
    LabelOptions,
    LabelSelection,
    PreparedLabels,
    asset_ids_by_number,
    class_id_by_name,
    prepare_labels,
    zone_ids_by_name,
)
from floki_qr.resolve import register_resolve_route

__all__ = [
    "LabelSettings",
    "default_base_url",
    "register_label_commands",
    "register_label_routes",
]

BASE_URL_PATTERN = r"^https?://[A-Za-z0-9.\[\]:-]+(/[A-Za-z0-9._~/-]*)?$"
LAYOUT_NAMES = {"21": "21", "l7160": "21", "65": "65", "l7651": "65", "single": "single"}
LayoutName = Literal["21", "65", "single"]


class LabelSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``[plugin.qr.labels]``."""

    # Where phones reach the appliance; default: [server] public_url, else this host's
    # name with the server's scheme and port.
    base_url: Annotated[str, msgspec.Meta(pattern=BASE_URL_PATTERN)] | None = None
    site_name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None
    layout: LayoutName = "21"
    error_correction: Literal["M", "Q"] = "M"
    single_width_mm: Annotated[float, msgspec.Meta(ge=20, le=150)] = 62.0
    single_height_mm: Annotated[float, msgspec.Meta(ge=12, le=150)] = 29.0
    max_labels: Annotated[int, msgspec.Meta(ge=1, le=20_000)] = 1000


def default_base_url(server: ServerConfig) -> str:
    if server.public_url:
        return server.public_url.rstrip("/")
    scheme = "https" if server.tls else "http"
    host = socket.getfqdn() or socket.gethostname() or "localhost"
    port = "" if (scheme, server.port) in {("https", 443), ("http", 80)} else f":{server.port}"
    return f"{scheme}://{host}{port}"


def sheet_layout(settings: LabelSettings, name: str) -> SheetLayout:
    found = LAYOUT_NAMES.get(name.lower())
    if found is None:
        raise FlokiError(f"layout must be 21, 65 or single, got {name!r}")
    if found == "single":
        return single_label(settings.single_width_mm, settings.single_height_mm)
    return LAYOUTS[found]


def label_options(
    settings: LabelSettings, config: Any, *, gs1: bool, base_url: str | None = None
) -> LabelOptions:
    return LabelOptions(
        base_url=(base_url or settings.base_url or default_base_url(config.server)).rstrip("/"),
        gs1=gs1,
        site_name=settings.site_name,
        fallback_site=config.site.name,
        max_labels=settings.max_labels,
    )


def _check_skip(layout: SheetLayout, skip: int) -> None:
    if layout.per_page == 1 and skip:
        raise FlokiError("skip applies to sheets of labels, not to single labels")
    if not 0 <= skip < layout.per_page:
        raise FlokiError(
            f"skip must be between 0 and {layout.per_page - 1} for layout {layout.name}"
        )


def _pages(layout: SheetLayout, prepared: PreparedLabels, skip: int) -> int:
    return (skip + len(prepared.labels) - 1) // layout.per_page + 1


def summary(layout: SheetLayout, prepared: PreparedLabels, skip: int) -> str:
    text = (
        f"{len(prepared.labels)} labels ({prepared.assets} assets, {prepared.zones} locations; "
        f"{len(prepared.created)} new codes) on {_pages(layout, prepared, skip)} page(s)"
    )
    if prepared.short_code_fallbacks:
        text += f"; {prepared.short_code_fallbacks} without a GIAI or GLN carry the short-code URL"
    return text


# --- API ----------------------------------------------------------------------------

_DIGITS = re.compile(r"^[0-9]{1,19}$")
_ID_LIST = r"^\s*[0-9]{1,19}\s*(,\s*[0-9]{1,19}\s*)*$"
QUERY = ("assets", "zones", "class_id", "zone_id", "zones_in", "all", "layout", "gs1", "skip")


def _id(name: str, raw: str) -> int:
    if not _DIGITS.match(raw) or not 1 <= int(raw) <= MAX_ID:
        raise ApiError(400, f"query parameter {name} must be a record id, got {raw!r}")
    return int(raw)


def _ids(name: str, raw: str | None) -> tuple[int, ...]:
    if raw is None:
        return ()
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    if not parts:
        raise ApiError(400, f"query parameter {name} must be comma-separated ids")
    if len(parts) > 20_000:
        raise ApiError(400, f"query parameter {name} has too many ids")
    return tuple(_id(name, p) for p in parts)


def _flag(query: Mapping[str, str], name: str) -> bool:
    raw = query.get(name, "false").lower()
    if raw not in {"true", "false", "1", "0", "yes", "no"}:
        raise ApiError(400, f"query parameter {name} must be true or false, got {raw!r}")
    return raw in {"true", "1", "yes"}


def _one_id(query: Mapping[str, str], name: str) -> int | None:
    raw = query.get(name)
    return None if raw is None else _id(name, raw)


def parse_label_query(
    query: Mapping[str, str], settings: LabelSettings
) -> tuple[LabelSelection, SheetLayout, bool, int]:
    """(selection, layout, gs1, skip) from the query string; 400 with the reason."""
    unknown = sorted(set(query) - set(QUERY))
    if unknown:
        raise ApiError(400, f"unknown query parameter {unknown[0]}; known: {', '.join(QUERY)}")
    selection = LabelSelection(
        asset_ids=_ids("assets", query.get("assets")),
        zone_ids=_ids("zones", query.get("zones")),
        class_id=_one_id(query, "class_id"),
        assets_in_zone=_one_id(query, "zone_id"),
        zones_in=_one_id(query, "zones_in"),
        all_assets=_flag(query, "all"),
    )
    if selection.is_empty():
        raise ApiError(
            400, "say which labels: assets=, zones=, class_id=, zone_id=, zones_in= or all=true"
        )
    raw_skip = query.get("skip", "0")
    if not _DIGITS.match(raw_skip):
        raise ApiError(400, f"query parameter skip must be a whole number, got {raw_skip!r}")
    try:
        layout = sheet_layout(settings, query.get("layout", settings.layout))
        _check_skip(layout, int(raw_skip))
    except FlokiError as exc:
        raise ApiError(400, str(exc)) from None
    return selection, layout, _flag(query, "gs1"), int(raw_skip)


def register_label_routes(registry: RouteRegistry, context: PluginContext) -> None:
    async def labels_pdf(request: web.Request) -> web.Response:
        settings: LabelSettings = context.settings.labels
        selection, layout, gs1, skip = parse_label_query(request.query, settings)
        options = label_options(settings, context.config, gs1=gs1)
        # New codes are announced and bound before this returns: a scan straight after
        # printing finds its asset.
        prepared = await context.records.write(
            prepare_labels, selection, options, actor=principal_of(request)
        )
        pdf = await asyncio.to_thread(
            render_labels,
            prepared.labels,
            layout,
            skip=skip,
            error=settings.error_correction,
        )
        return web.Response(
            body=pdf,
            content_type="application/pdf",
            headers={
                "Content-Disposition": 'attachment; filename="floki-labels.pdf"',
                "Cache-Control": "no-store",
                "X-Floki-Labels": str(len(prepared.labels)),
                "X-Floki-Codes-Created": str(len(prepared.created)),
            },
        )

    registry.add(
        "GET",
        "/api/v1/qr/labels.pdf",
        labels_pdf,
        policy="engineer",
        summary=(
            "A PDF of QR labels: assets=1,2 | zones=3,4 | class_id= | zone_id= (assets whose "
            "home zone is in it) | zones_in= (a zone and the zones inside it) | all=true; "
            "layout=21|65|single, gs1=true for GS1 Digital Link URLs, skip=N used labels. "
            "Codes missing are created (audited); reprints reuse them."
        ),
        produces="application/pdf",
        query=(
            Param("assets", description="asset ids, comma-separated", pattern=_ID_LIST),
            Param("zones", description="zone ids, comma-separated", pattern=_ID_LIST),
            Param("class_id", "integer", "every asset of this class", minimum=1, maximum=MAX_ID),
            Param(
                "zone_id",
                "integer",
                "assets whose home zone is in this zone",
                minimum=1,
                maximum=MAX_ID,
            ),
            Param(
                "zones_in",
                "integer",
                "this zone and the zones inside it",
                minimum=1,
                maximum=MAX_ID,
            ),
            Param("all", "boolean", "every asset"),
            Param("layout", description="21, 65 or single", enum=tuple(LAYOUT_NAMES)),
            Param("gs1", "boolean", "GS1 Digital Link URLs (GIAI / GLN)"),
            Param("skip", "integer", "labels already used on the sheet", minimum=0),
        ),
        answers={422: "a selected asset, zone or class does not exist"},
    )
    register_resolve_route(registry, context)


# --- command line -------------------------------------------------------------------


def _names(raw: str | None) -> list[str]:
    return [p.strip() for p in raw.split(",") if p.strip()] if raw else []


def _configure(parser: argparse.ArgumentParser) -> None:
    what = parser.add_argument_group("which labels (any combination)")
    what.add_argument("--assets", metavar="NUMBERS", help="asset numbers, comma-separated")
    what.add_argument("--zones", metavar="NAMES", help="zone names or ids, comma-separated")
    what.add_argument("--class", dest="class_name", metavar="NAME", help="every asset of a class")
    what.add_argument(
        "--in-zone", metavar="NAME", help="every asset whose home zone is this zone or inside it"
    )
    what.add_argument("--zones-in", metavar="NAME", help="this zone and every zone inside it")
    what.add_argument("--all", action="store_true", help="every asset")
    parser.add_argument("--layout", help="21, 65 or single (default from [plugin.qr.labels])")
    parser.add_argument("--out", type=Path, required=True, help="the PDF file to write")
    parser.add_argument("--gs1", action="store_true", help="GS1 Digital Link URLs (GIAI / GLN)")
    parser.add_argument("--skip", type=int, default=0, help="labels already used on the sheet")
    parser.add_argument("--base-url", help="the appliance's address as phones reach it")


def _cli_actor() -> Principal:
    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        user = "unknown"
    return Principal(user_id=None, username=f"cli:{user}", role=Role.ADMIN)


def _write_pdf(path: Path, pdf: bytes) -> None:
    if path.is_dir():
        raise FlokiError(f"--out {path} is a directory; give a file name")
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_bytes(pdf)
        os.replace(partial, path)
    except OSError as exc:
        raise FlokiError(f"cannot write {path}: {exc.strerror or exc}") from None


def register_label_commands(registry: CommandRegistry) -> None:
    plugin = registry.plugin

    def run(args: argparse.Namespace, context: CommandContext) -> int:
        from floki_qr.config import QrSettings  # config imports this module

        settings = plugin_section(context.config, plugin, QrSettings).labels
        layout = sheet_layout(settings, args.layout or settings.layout)
        _check_skip(layout, args.skip)
        if args.base_url is not None and not re.match(BASE_URL_PATTERN, args.base_url):
            raise FlokiError(
                f"--base-url must look like https://floki.example.org, got {args.base_url!r}"
            )
        options = label_options(settings, context.config, gs1=args.gs1, base_url=args.base_url)
        with context.register_writing(SystemClock().now()) as register:
            selection = LabelSelection(
                asset_ids=asset_ids_by_number(register, _names(args.assets)),
                zone_ids=zone_ids_by_name(register, _names(args.zones), "--zones"),
                class_id=class_id_by_name(register, args.class_name) if args.class_name else None,
                assets_in_zone=_single_zone(register, args.in_zone, "--in-zone"),
                zones_in=_single_zone(register, args.zones_in, "--zones-in"),
                all_assets=args.all,
            )
            if selection.is_empty():
                raise FlokiError(
                    "say which labels: --assets, --zones, --class, --in-zone, --zones-in or --all"
                )
            prepared = prepare_labels(register, selection, options, actor=_cli_actor())
        pdf = render_labels(
            prepared.labels, layout, skip=args.skip, error=settings.error_correction
        )
        _write_pdf(args.out, pdf)
        print(f"Wrote {summary(layout, prepared, args.skip)} to {args.out}")
        return 0

    registry.add(
        "labels",
        "print QR labels for assets and locations to a PDF",
        configure=_configure,
        run=run,
    )


def _single_zone(register: RegisterWriting, name: str | None, option: str) -> int | None:
    return zone_ids_by_name(register, [name], option)[0] if name else None
