"""Plugins given to the console tests' appliance for RFID: a reader source that says how
it is doing (``details()``, as the RFID readers answer it in ``GET /api/v1/plugins``),
and a stand-in for the RFID plugin's stock-take API (``/api/v1/rfid/stocktakes…``: the
routes, role policies, bodies and answers agreed for it) for as long as the plugin does not
serve it.

The stand-in keeps its sweeps in memory and knows a small register of its own: which
assets an EPC is, and where each is expected. It answers what the contract says, the
refusals (a bad row or column named) included; it does not check what the real one decides.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from floki_core.sdk import ApiError, Param, hookimpl, json_response, principal_of, read_raw

FLOKI_PLUGIN_API = ">=1.0,<2"


class ReaderSource:
    """Runs until stopped; ``details()`` is whatever the test sets."""

    def __init__(self, details: dict[str, Any] | None) -> None:
        self.said = details
        self._stopped: asyncio.Event | None = None

    async def run(self, sink: Any) -> None:
        self._stopped = asyncio.Event()
        await self._stopped.wait()

    async def stop(self) -> None:
        if self._stopped is not None:
            self._stopped.set()

    def details(self) -> dict[str, Any] | None:
        return self.said


class ReadersPlugin:
    """Registers each (name, source) given."""

    FLOKI_PLUGIN_API = FLOKI_PLUGIN_API

    def __init__(self, sources: dict[str, Any]) -> None:
        self.sources = sources

    @hookimpl
    def floki_register_sources(self, registry: Any) -> None:
        for name, source in self.sources.items():
            registry.add(name, source)


# --- the stock-take API stand-in ----------------------------------------------------------


@dataclass(frozen=True)
class Tagged:
    """An asset of the stand-in's register: its EPC and where it is expected."""

    asset_id: int
    asset_number: str
    name: str
    class_name: str
    epc: str
    expected_zone: int
    last_seen_zone: str | None = None
    last_seen: str | None = None


HEADERS = {
    "epc": ("epc", "tag id", "idhex", "tagid"),
    "rssi": ("rssi", "peakrssi"),
    "seen_at": ("time", "timestamp", "lastseen"),
    "count": ("count", "readcount"),
}
PDF = b"%PDF-1.4\n% stock-take stand-in\n%%EOF\n"


@dataclass
class StocktakeStandIn:
    zones: dict[int, str]
    assets: list[Tagged]
    now: dt.datetime = dt.datetime(2026, 1, 5, 9, 30, tzinfo=dt.UTC)
    reports: list[dict[str, Any]] = field(default_factory=list)
    exports: list[tuple[str, int]] = field(default_factory=list)

    FLOKI_PLUGIN_API = FLOKI_PLUGIN_API

    @hookimpl
    def floki_register_routes(self, registry: Any) -> None:
        base = "/api/v1/rfid/stocktakes"
        ident = (Param("id", type="integer"),)
        registry.add("POST", base, self._post, policy="engineer", status=201)
        registry.add(
            "GET",
            base,
            self._list,
            policy="viewer",
            query=(
                Param("zone_id", type="integer"),
                Param("limit", type="integer"),
                Param("offset", type="integer"),
            ),
        )
        registry.add("GET", base + r"/{id:\d+}", self._get, policy="viewer", path_params=ident)
        for suffix in ("csv", "pdf"):
            registry.add(
                "GET",
                base + r"/{id:\d+}." + suffix,
                self._export(suffix),
                policy="engineer",
                path_params=ident,
                produces="text/csv" if suffix == "csv" else "application/pdf",
            )

    # --- reading a sweep -----------------------------------------------------------

    def _zone(self, value: Any) -> int:
        try:
            zone = int(value)
        except (TypeError, ValueError):
            raise ApiError(400, f"zone_id: expected an integer, got {value!r}") from None
        if zone not in self.zones:
            raise ApiError(400, f"zone_id: no zone {zone}")
        return zone

    def _csv_reads(self, raw: bytes, columns: str | None) -> list[dict[str, Any]]:
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
        if not rows:
            raise ApiError(400, "the file is empty")
        headers = [h.strip() for h in rows[0]]
        wanted: dict[str, str] = {}
        for pair in (columns or "").split(","):
            if not pair.strip():
                continue
            name, sep, header = pair.partition("=")
            if not sep or name.strip() not in HEADERS:
                raise ApiError(400, f"columns: {pair!r} is not <field>=<header>")
            wanted[name.strip()] = header.strip()
        where: dict[str, int] = {}
        for name, usual in HEADERS.items():
            if name in wanted:
                if wanted[name] not in headers:
                    raise ApiError(
                        400,
                        f"columns: {name}={wanted[name]}: the file has no column "
                        f"{wanted[name]!r} (it has {', '.join(headers)})",
                    )
                where[name] = headers.index(wanted[name])
                continue
            for i, header in enumerate(headers):
                if header.lower() in usual:
                    where[name] = i
        if "epc" not in where:
            raise ApiError(
                400,
                f"no EPC column (headers: {', '.join(headers)}); map it with columns=epc=<header>",
            )
        reads = []
        for line, row in enumerate(rows[1:], start=2):
            epc = row[where["epc"]].strip() if where["epc"] < len(row) else ""
            if not epc or any(c not in "0123456789abcdefABCDEF" for c in epc):
                column = headers[where["epc"]]
                raise ApiError(400, f"row {line}: column {column}: not an EPC: {epc!r}")
            reads.append({"epc": epc.upper()})
        return reads

    async def _post(self, request: web.Request) -> web.Response:
        by = principal_of(request).username
        if request.content_type == "text/csv":
            zone = self._zone(request.query.get("zone_id"))
            reads = self._csv_reads(await read_raw(request, 1 << 20), request.query.get("columns"))
            device, note = "handheld CSV", None
        else:
            body = await request.json()
            zone = self._zone(body.get("zone_id"))
            reads = [{"epc": str(r["epc"]).upper()} for r in body.get("reads") or []]
            device, note = body.get("device"), body.get("note")
        report = self._report(zone, {r["epc"] for r in reads}, by, device, note)
        self.reports.append(report)
        response = json_response(report, status=201)
        response.headers["Location"] = f"/api/v1/rfid/stocktakes/{report['id']}"
        return response

    def _report(
        self, zone: int, epcs: set[str], by: str, device: str | None, note: str | None
    ) -> dict[str, Any]:
        def asset(a: Tagged) -> dict[str, Any]:
            return {
                "asset_id": a.asset_id,
                "asset_number": a.asset_number,
                "name": a.name,
                "class": a.class_name,
            }

        known = {a.epc: a for a in self.assets}
        found = [a for a in self.assets if a.expected_zone == zone and a.epc in epcs]
        missing = [a for a in self.assets if a.expected_zone == zone and a.epc not in epcs]
        unexpected = [a for a in self.assets if a.expected_zone != zone and a.epc in epcs]
        unknown = sorted(e for e in epcs if e not in known)
        kinds = {"34": "giai", "30": "sgtin", "31": "sscc"}
        taken = self.now + dt.timedelta(minutes=len(self.reports))
        return {
            "id": len(self.reports) + 1,
            "zone_id": zone,
            "zone": self.zones[zone],
            "taken_at": taken.isoformat().replace("+00:00", "Z"),
            "by": by,
            "device": device,
            "note": note,
            "counts": {
                "expected": len(found) + len(missing),
                "found": len(found),
                "missing": len(missing),
                "unexpected": len(unexpected),
                "unknown": len(unknown),
            },
            "found": [{**asset(a), "epc": a.epc} for a in found],
            "missing": [
                {**asset(a), "last_seen_zone": a.last_seen_zone, "last_seen": a.last_seen}
                for a in missing
            ],
            "unexpected": [
                {
                    **asset(a),
                    "epc": a.epc,
                    "expected_zone": self.zones[a.expected_zone],
                    "last_seen_zone": a.last_seen_zone,
                    "last_seen": a.last_seen,
                }
                for a in unexpected
            ],
            "unknown": [{"epc": e, "kind": kinds.get(e[:2], "raw")} for e in unknown],
        }

    # --- reading them back ---------------------------------------------------------

    async def _list(self, request: web.Request) -> web.Response:
        zone = request.query.get("zone_id")
        limit = int(request.query.get("limit", "50"))
        offset = int(request.query.get("offset", "0"))
        chosen = [r for r in reversed(self.reports) if zone is None or r["zone_id"] == int(zone)]
        keys = ("id", "zone_id", "zone", "taken_at", "by", "device", "counts")
        items = [{k: r[k] for k in keys} for r in chosen[offset : offset + limit]]
        return json_response(
            {"items": items, "total": len(chosen), "limit": limit, "offset": offset}
        )

    def _one(self, request: web.Request) -> dict[str, Any]:
        wanted = int(request.match_info["id"])
        for report in self.reports:
            if report["id"] == wanted:
                return report
        raise ApiError(404, f"no stock-take {wanted}")

    async def _get(self, request: web.Request) -> web.Response:
        return json_response(self._one(request))

    def _export(self, suffix: str) -> Any:
        async def export(request: web.Request) -> web.Response:
            report = self._one(request)
            self.exports.append((suffix, report["id"]))
            if suffix == "pdf":
                return web.Response(body=PDF, content_type="application/pdf")
            lines = ["section,asset_number,epc"]
            for section in ("found", "missing", "unexpected", "unknown"):
                for row in report[section]:
                    lines.append(f"{section},{row.get('asset_number', '')},{row.get('epc', '')}")
            return web.Response(text="\r\n".join(lines) + "\r\n", content_type="text/csv")

        return export
