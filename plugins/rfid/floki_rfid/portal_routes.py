"""The portals' API (docs/rfid-placement.md):

- ``GET /api/v1/rfid/portal-events?asset_id=&portal=&limit=`` (viewer and up): the latest
  crossings, newest first, as the ``rfid.portal`` events told of them;
- ``GET /api/v1/rfid/portals`` (viewer and up): each configured portal, the zones its
  antennas are in, and what is wrong with it (an antenna that is not a registered
  receiver: its reads are refused before they reach the portal).

``startup`` reads back the crossings kept before (``portal_events``), checks the portals
once the register is loaded and logs each problem.
"""

from __future__ import annotations

import msgspec
from aiohttp import web

from floki_core.sdk import (
    MAX_ID,
    ApiError,
    Param,
    PluginContext,
    RouteRegistry,
    json_response,
)
from floki_rfid.config import PortalSettings, RfidSettings
from floki_rfid.portal_events import portal_events

EVENTS_PATH = "/api/v1/rfid/portal-events"
PORTALS_PATH = "/api/v1/rfid/portals"
DEFAULT_LIMIT, MAX_LIMIT = 100, 500  # the API's pages are at most 500


class PortalEvent(msgspec.Struct, kw_only=True):
    """One crossing, as its ``rfid.portal`` event's data, with the asset and when."""

    asset_id: int
    portal: str
    direction: str  # entered | left
    zone_id: int  # the portal's inside zone
    zone: str | None  # ... its name
    read_at: str  # the deciding read, by the reader's clock (ISO 8601)
    epc: str
    antenna: str  # the deciding antenna's receiver identifier
    at: str  # when the deciding read reached the appliance (ISO 8601)


class PortalEventList(msgspec.Struct, kw_only=True):
    items: list[PortalEvent]
    limit: int


class ZoneRef(msgspec.Struct, kw_only=True):
    id: int
    name: str | None


class PortalStatus(msgspec.Struct, kw_only=True):
    """A configured portal as the register has its antennas."""

    name: str
    inner: str
    outer: str
    window_seconds: float
    clear_seconds: float
    inside: ZoneRef | None  # the inner antenna's zone (None: not a registered receiver)
    outside: ZoneRef | None  # the outer antenna's zone
    problems: list[str]  # empty when the portal works


class PortalList(msgspec.Struct, kw_only=True):
    items: list[PortalStatus]


def _int_query(request: web.Request, name: str, default: int | None, hi: int) -> int | None:
    raw = request.query.get(name, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(
            400, f"query parameter {name} must be an integer, got {raw[:40]!r}"
        ) from None
    if not 1 <= value <= hi:
        raise ApiError(400, f"query parameter {name} must be between 1 and {hi}")
    return value


async def portal_status(context: PluginContext) -> list[PortalStatus]:
    """Each configured portal with its antennas' zones and its problems."""
    settings: RfidSettings = context.settings
    events = portal_events(context)
    found: list[PortalStatus] = []
    for portal in settings.portals:
        zones: list[ZoneRef | None] = []
        problems: list[str] = []
        for side, identifier in (("inner", portal.inner), ("outer", portal.outer)):
            receiver = None
            if context.register is not None:
                receiver = await context.register.receiver_by_key("rfid", identifier)
            if receiver is None:
                zones.append(None)
                problems.append(
                    f"{side} antenna {identifier} is not a registered receiver: add a receiver "
                    f"of technology rfid with identifier {identifier}"
                )
            else:
                zones.append(ZoneRef(id=receiver.zone_id, name=events.zone_name(receiver.zone_id)))
        inside, outside = zones
        if inside is not None and outside is not None and inside.id == outside.id:
            problems.append(
                f"inner and outer antennas are both in zone {inside.name or inside.id}: "
                "a crossing would move nothing"
            )
        found.append(_status(portal, inside, outside, problems))
    return found


def _status(
    portal: PortalSettings, inside: ZoneRef | None, outside: ZoneRef | None, problems: list[str]
) -> PortalStatus:
    return PortalStatus(
        name=portal.name,
        inner=portal.inner,
        outer=portal.outer,
        window_seconds=portal.window_seconds,
        clear_seconds=portal.clear_seconds,
        inside=inside,
        outside=outside,
        problems=problems,
    )


async def startup(context: PluginContext) -> None:
    """Read back the crossings kept before this start, and log what is wrong with each
    portal, once the register is loaded."""
    await portal_events(context).load()
    for status in await portal_status(context):
        for problem in status.problems:
            context.log.warning("portal %s: %s", status.name, problem)


async def shutdown(context: PluginContext) -> None:
    """Let the crossings still being written reach the file before the appliance stops."""
    await portal_events(context).settle()


def register_routes(registry: RouteRegistry, context: PluginContext) -> None:
    """``GET /api/v1/rfid/portal-events`` and ``GET /api/v1/rfid/portals``."""
    events = portal_events(context)

    async def list_events(request: web.Request) -> web.Response:
        asset_id = _int_query(request, "asset_id", None, MAX_ID)
        limit = _int_query(request, "limit", DEFAULT_LIMIT, MAX_LIMIT)
        assert limit is not None
        portal = request.query.get("portal") or None
        items = [
            PortalEvent(
                asset_id=int(event.entity_id or 0),
                at=event.at.isoformat(),
                **event.data,
            )
            for event in events.latest(asset_id=asset_id, portal=portal, limit=limit)
        ]
        return json_response(PortalEventList(items=items, limit=limit))

    async def list_portals(request: web.Request) -> web.Response:
        return json_response(PortalList(items=await portal_status(context)))

    registry.add(
        "GET",
        EVENTS_PATH,
        list_events,
        policy="viewer",
        summary=(
            "Portal crossings, newest first (the latest 10,000 since the appliance started): "
            "which asset entered or left which portal's inside zone, and when"
        ),
        response=PortalEventList,
        query=(
            Param("asset_id", "integer", "only this asset's crossings", minimum=1, maximum=MAX_ID),
            Param("portal", description="only this portal's crossings", max_length=100),
            Param(
                "limit",
                "integer",
                "at most this many",
                minimum=1,
                maximum=MAX_LIMIT,
                default=DEFAULT_LIMIT,
            ),
        ),
    )
    registry.add(
        "GET",
        PORTALS_PATH,
        list_portals,
        policy="viewer",
        summary=(
            "The configured portals, the zones their antennas are in, and what is wrong with "
            "each (an antenna that is not a registered receiver)"
        ),
        response=PortalList,
    )
