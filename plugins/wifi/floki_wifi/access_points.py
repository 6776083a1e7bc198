"""``GET /api/v1/wifi/access-points`` (engineer and up): every access point the plugin
knows of, for an engineer checking the feeds and the APs' zones.

Listed: each receiver of technology ``wifi`` registered (its name, MAC and zone), then
each access point a feed named that no receiver is registered as (by the MAC or name the
feed gave: its devices are refused as ``unknown_receiver`` until it is registered). For
each, the tracked devices on it now (their assets: id, asset number, description, since
when) and the last message a feed sent from or about it (when, which feed).

Only assets' devices are ever in the association book (``privacy.DeviceFilter`` drops
every other before a feed records anything), and a device is shown by its asset, never by
its MAC, so nothing here names anyone's phone.
"""

from __future__ import annotations

import datetime as dt

import msgspec
from aiohttp import web

from floki_core.sdk import (
    ApiError,
    Asset,
    PluginContext,
    Receiver,
    RegisterSnapshot,
    RouteRegistry,
    json_response,
)
from floki_wifi import state
from floki_wifi.associations import AccessPointRecord, AssociationBook
from floki_wifi.privacy import TECHNOLOGY, device_mac

PATH = "/api/v1/wifi/access-points"


class ZoneRef(msgspec.Struct, kw_only=True):
    id: int
    name: str


class AssociatedDevice(msgspec.Struct, kw_only=True):
    """A tracked device on the access point, by its asset."""

    asset_id: int
    asset_number: str
    description: str
    since: dt.datetime  # when the feed reported it on this access point


class AccessPoint(msgspec.Struct, kw_only=True):
    key: str  # the registered MAC, or the MAC or name a feed gave
    name: str | None  # the registered receiver's name; None when not registered
    mac: str | None  # spelt AA:BB:CC:DD:EE:FF; None when a feed named it only by name
    registered: bool
    receiver_id: int | None
    zone: ZoneRef | None
    devices: list[AssociatedDevice]
    last_message_at: dt.datetime | None  # None: no feed has named it since the start
    feed: str | None  # the source of that message ("wifi-syslog", "wifi-radius", ...)


class AccessPointList(msgspec.Struct, kw_only=True):
    items: list[AccessPoint]
    registered: int
    unregistered: int  # named by a feed, not registered as a receiver


def _receiver_keys(receivers: list[Receiver]) -> dict[str, Receiver]:
    """Each Wi-Fi receiver under its MAC (as the feeds spell it) and its name."""
    keys: dict[str, Receiver] = {}
    for receiver in receivers:
        keys[receiver.name] = receiver
        keys[receiver.name.casefold()] = receiver
    for receiver in receivers:  # a MAC wins over another receiver's name
        keys[device_mac(receiver.identifier) or receiver.identifier] = receiver
    return keys


def _devices(
    record: AccessPointRecord | None, book: AssociationBook, assets: dict[int, Asset]
) -> list[AssociatedDevice]:
    if record is None:
        return []
    found: list[AssociatedDevice] = []
    for mac, since in record.devices.items():
        device = book.devices.get(mac)
        asset = None if device is None else assets.get(device.asset_id)
        if asset is None:
            continue  # its asset retired since: nothing left to say which device it was
        found.append(
            AssociatedDevice(
                asset_id=asset.id,
                asset_number=asset.asset_number,
                description=asset.description,
                since=since,
            )
        )
    return sorted(found, key=lambda d: d.asset_number)


def access_points(book: AssociationBook, register: RegisterSnapshot) -> AccessPointList:
    """The listing: registered access points by name, then the others by key."""
    receivers = [r for r in register.receivers if r.technology == TECHNOLOGY]
    zones = {z.id: z for z in register.zones}
    assets = {a.id: a for a in register.assets}
    keys = _receiver_keys(receivers)
    records: dict[int, list[AccessPointRecord]] = {}
    strangers: list[AccessPointRecord] = []
    for record in book.access_points.values():
        receiver = keys.get(record.key) or keys.get(record.key.casefold())
        if receiver is None:
            strangers.append(record)
        else:
            records.setdefault(receiver.id, []).append(record)

    items: list[AccessPoint] = []
    for receiver in sorted(receivers, key=lambda r: r.name):
        heard = records.get(receiver.id, [])
        latest = max(heard, key=lambda r: r.last_message_at, default=None)
        zone = zones.get(receiver.zone_id)
        devices = [d for record in heard for d in _devices(record, book, assets)]
        items.append(
            AccessPoint(
                key=device_mac(receiver.identifier) or receiver.identifier,
                name=receiver.name,
                mac=device_mac(receiver.identifier),
                registered=True,
                receiver_id=receiver.id,
                zone=None if zone is None else ZoneRef(id=zone.id, name=zone.name),
                devices=devices,
                last_message_at=None if latest is None else latest.last_message_at,
                feed=None if latest is None else latest.feed,
            )
        )
    for record in sorted(strangers, key=lambda r: r.key):
        items.append(
            AccessPoint(
                key=record.key,
                name=None,
                mac=device_mac(record.key),
                registered=False,
                receiver_id=None,
                zone=None,
                devices=_devices(record, book, assets),
                last_message_at=record.last_message_at,
                feed=record.feed,
            )
        )
    return AccessPointList(items=items, registered=len(receivers), unregistered=len(strangers))


def register_routes(registry: RouteRegistry, context: PluginContext) -> None:
    """``GET /api/v1/wifi/access-points``."""

    async def listing(request: web.Request) -> web.Response:
        register = context.register
        if register is None:
            raise ApiError(503, "the register is not loaded yet")
        snapshot = await register.snapshot()
        return json_response(access_points(state.association_book(context), snapshot))

    registry.add(
        "GET",
        PATH,
        listing,
        policy="engineer",
        summary=(
            "Wi-Fi access points: each registered one with its zone, then those the feeds "
            "named that are not registered; the tracked devices on each now (by asset) and "
            "the last message a feed sent from or about it"
        ),
        response=AccessPointList,
    )
