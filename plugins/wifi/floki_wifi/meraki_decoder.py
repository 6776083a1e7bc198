"""Cisco Meraki Scanning API v3 posts, decoded into records that keep no personal field.

The shape is Meraki's (https://developer.cisco.com/meraki/scanning-api/3-0, "Observation
Payloads"): ``{"version": "3.0", "secret", "type": "WiFi" | "BLE", "data": {"networkId",
"observations": [{"clientMac", "ipv4", "ipv6", "ssid", "os", "manufacturer", "userId",
"latestRecord": {"time", "nearestApMac", "nearestApRssi"}, "locations": [{"time", "lat",
"lng", "x", "y", "variance", "floorPlanId", "floorPlanName", "nearestApTags",
"rssiRecords": [{"apMac", "rssi"}]}]}]}}``. Numbers arrive as strings as often as not
(the documentation's own example sends ``"x": "7.97..."`` and ``"nearestApRssi": "-47"``),
and public receivers show ``latestRecord.time`` as epoch seconds as well as ISO text.

The structs below declare only what locating needs: the client's IPs, user id (an email,
a username or a phone number, says Meraki), OS and manufacturer are never decoded, so no
later code can copy them anywhere. ``variance`` is Meraki's uncertainty of the position
in metres (its overview: "~2m to 2.5m consistently" for v3).
"""

from __future__ import annotations

import datetime as dt
import hmac
import math

import msgspec

from floki_wifi.privacy import device_mac

BLE_TYPES = frozenset({"BLE", "Bluetooth"})
MAX_PLAN_ID = 100  # characters: a floor plan id longer is no id of Meraki's


class MerakiRefused(Exception):
    """The whole post is refused: answered ``status`` with ``reason``, counted as
    ``counted_as``. The reason never quotes a client's MAC."""

    def __init__(self, status: int, reason: str, counted_as: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.counted_as = counted_as


class _RssiRecord(msgspec.Struct):
    apMac: str = ""
    rssi: float | None = None


class _Location(msgspec.Struct):
    time: str | float | None = None
    lat: float | None = None
    lng: float | None = None
    x: float | None = None
    y: float | None = None
    variance: float | None = None
    floorPlanId: str | None = None
    rssiRecords: list[_RssiRecord] = msgspec.field(default_factory=list)


class _LatestRecord(msgspec.Struct):
    time: str | float | None = None
    nearestApMac: str | None = None
    nearestApRssi: float | None = None


class _Observation(msgspec.Struct):
    clientMac: str
    locations: list[_Location] | None = None
    latestRecord: _LatestRecord | None = None


class _Data(msgspec.Struct):
    observations: list[msgspec.Raw]
    networkId: str = ""


class _Post(msgspec.Struct):
    version: str | float
    type: str
    data: _Data
    secret: str = ""


class _Secret(msgspec.Struct):
    secret: str = ""


class Position(msgspec.Struct, frozen=True, kw_only=True):
    """Where Meraki put the client: on a floor plan (metres from its top-left corner)
    and/or on the globe, with its uncertainty in metres."""

    x: float | None = None
    y: float | None = None
    floor_plan: str | None = None
    lat: float | None = None
    lon: float | None = None
    uncertainty_m: float | None = None


class ClientSeen(msgspec.Struct, frozen=True, kw_only=True):
    """One client of a post: its MAC spelt ``AA:BB:CC:DD:EE:FF`` (still to be filtered),
    the nearest AP, when, and where (None: no location, only the AP that heard it)."""

    mac: str
    access_point: str | None
    rssi: float | None
    at: dt.datetime | None
    position: Position | None = None


class MerakiPost(msgspec.Struct, frozen=True, kw_only=True):
    kind: str  # "WiFi" or "BLE"
    network: str
    clients: list[ClientSeen]
    refused: dict[str, int]


def secret_matches(sent: str, expected: str) -> bool:
    """In constant time, so that the answer's timing tells nothing of the secret."""
    return hmac.compare_digest(sent.encode("utf-8"), expected.encode("utf-8"))


def decode_post(raw: bytes, secret: str) -> MerakiPost:
    """The post's clients, or ``MerakiRefused`` (wrong secret 403, malformed 400)."""
    try:
        sent = msgspec.json.decode(raw, type=_Secret, strict=False).secret
    except msgspec.DecodeError:
        raise MerakiRefused(400, "the body is not a JSON object", "bad_post") from None
    if not secret_matches(sent, secret):
        raise MerakiRefused(403, "wrong or missing secret", "bad_secret")
    try:
        post = msgspec.json.decode(raw, type=_Post, strict=False)
    except msgspec.ValidationError as exc:
        # msgspec names the field (e.g. "Object missing required field `type`"), not a value.
        raise MerakiRefused(
            400, f"not a Scanning API post: {_field_only(exc)}", "bad_post"
        ) from None
    except msgspec.DecodeError:
        raise MerakiRefused(400, "the body is not JSON", "bad_post") from None
    version = str(post.version)
    if not version.startswith("3"):
        raise MerakiRefused(
            400,
            f"version {version[:10]!r}: set the receiver to Scanning API version 3",
            "bad_version",
        )
    kind = "BLE" if post.type in BLE_TYPES else post.type
    if kind not in ("WiFi", "BLE"):
        raise MerakiRefused(400, f"type {post.type[:20]!r}: WiFi or BLE expected", "bad_post")
    refused: dict[str, int] = {}
    clients: list[ClientSeen] = []
    if kind == "BLE":
        # Bluetooth tags are the BLE plugin's: counted, not located here.
        if post.data.observations:
            refused["ble_observation"] = len(post.data.observations)
        return MerakiPost(kind=kind, network=post.data.networkId, clients=[], refused=refused)
    for item in post.data.observations:
        seen = _client(item)
        if isinstance(seen, str):
            refused[seen] = refused.get(seen, 0) + 1
        else:
            clients.append(seen)
    return MerakiPost(kind=kind, network=post.data.networkId, clients=clients, refused=refused)


def _field_only(exc: msgspec.ValidationError) -> str:
    """The validation message up to the path: msgspec quotes no value, but keep it short."""
    return str(exc)[:120]


def _client(item: msgspec.Raw) -> ClientSeen | str:
    """One observation, or the reason it is refused."""
    try:
        obs = msgspec.json.decode(item, type=_Observation, strict=False)
    except msgspec.DecodeError:
        return "bad_observation"
    mac = device_mac(obs.clientMac)
    if mac is None:
        return "bad_client_mac"
    location = _newest(obs.locations or [])
    latest = obs.latestRecord
    if location is None:
        if latest is None:
            return "no_location"
        return ClientSeen(
            mac=mac,
            access_point=device_mac(latest.nearestApMac or ""),
            rssi=_rssi(latest.nearestApRssi),
            at=parse_time(latest.time),
        )
    nearest = max(
        (r for r in location.rssiRecords if r.rssi is not None and device_mac(r.apMac)),
        key=lambda r: r.rssi or -999.0,
        default=None,
    )
    if nearest is not None:
        access_point, rssi = device_mac(nearest.apMac), _rssi(nearest.rssi)
    elif latest is not None:
        access_point, rssi = device_mac(latest.nearestApMac or ""), _rssi(latest.nearestApRssi)
    else:
        access_point, rssi = None, None
    return ClientSeen(
        mac=mac,
        access_point=access_point,
        rssi=rssi,
        at=parse_time(location.time),
        position=_position(location),
    )


def _newest(locations: list[_Location]) -> _Location | None:
    """The latest of the client's recent locations (Meraki sends a short history)."""
    best: _Location | None = None
    best_at: dt.datetime | None = None
    for location in locations:
        at = parse_time(location.time)
        if best is None or (at is not None and (best_at is None or at >= best_at)):
            best, best_at = location, at
    return best


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _rssi(value: float | None) -> float | None:
    value = _finite(value)
    return value if value is not None and -150.0 <= value <= 50.0 else None


def _position(location: _Location) -> Position | None:
    x, y = _finite(location.x), _finite(location.y)
    if x is None or y is None:
        x = y = None
    lat, lon = _finite(location.lat), _finite(location.lng)
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        lat = lon = None
    if (lat == 0.0 and lon == 0.0) or (lat is None and x is None):
        # 0,0 is an unaligned floor plan's placeholder, not a place.
        lat = lon = None
        if x is None:
            return None
    variance = _finite(location.variance)
    plan = location.floorPlanId or None
    return Position(
        x=x,
        y=y,
        floor_plan=plan if plan is not None and len(plan) <= MAX_PLAN_ID else None,
        lat=lat,
        lon=lon,
        uncertainty_m=abs(variance) if variance is not None else None,
    )


def parse_time(value: str | float | None) -> dt.datetime | None:
    """ISO 8601 text (``2019-11-28T14:27:21Z``) or epoch seconds (milliseconds when
    that large), as an aware time; None when absent or unreadable."""
    if value is None or value == "":
        return None
    number: float | None
    if isinstance(value, float | int):
        number = float(value)
    else:
        try:
            number = float(value)
        except ValueError:
            number = None
    try:
        if number is not None:
            if not math.isfinite(number):
                return None
            seconds = number / 1000.0 if number > 1e11 else number
            return dt.datetime.fromtimestamp(seconds, dt.UTC)
        at = dt.datetime.fromisoformat(str(value))
    except (ValueError, OverflowError, OSError):
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)
