"""The ``wifi`` scenario's site and traffic: a ward block's access points, the pumps bound
to assets, the phones around them, and the syslog lines a controller sends about them
(``bench/wifi.py`` runs it).

Lines come in the three built-in dialects in turn, as RFC 5424 messages (times to the
microsecond): hostapd (the access point is the sending host), Cisco AireOS (the AP by
its base radio MAC) and Aruba (the AP by BSSID and name). A phone's line is one of a
fixed pool; a pump's line is written as it is sent, its time unique to the microsecond,
so that every one is a new observation the core must admit (none is a replay of another).
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from bench.site_rows import CaptureLines, insert_rows
from floki_core.config import CONFIG_FILE
from floki_core.storage.database import Database
from floki_core.storage.models import AssetRow, IdentifierRow, ReceiverRow, SiteRow, ZoneRow

TECHNOLOGY = "wifi"
SOURCE = "wifi-syslog"
BLOCK = 1000  # lines a sender writes at a time


@dataclass(frozen=True)
class WifiOptions:
    seconds: float = 10.0  # each phase's length
    rate: float = 50_000.0  # lines a second offered over UDP in the nominal phase
    known_share: float = 0.05  # the pumps' share of the lines; the rest are phones
    pumps: int = 500  # devices bound to assets
    phones: int = 20_000  # devices no asset carries (a pool of their lines is cycled)
    access_points: int = 60
    connections: int = 4  # TCP senders in the max phase
    baseline_budget_s: float = 3.0
    profile: bool = False
    seed: int = 15


def mac(prefix: int, n: int) -> str:
    return f"{prefix:02X}:1B:{(n >> 24) & 255:02X}:{(n >> 16) & 255:02X}:{(n >> 8) & 255:02X}:{n & 255:02X}"  # noqa: E501


def pump_mac(n: int) -> str:
    return mac(0x00, n)


def phone_mac(n: int) -> str:
    return mac(0x3C, n)


def ap_mac(n: int) -> str:
    return mac(0xF0, n)


def ap_name(n: int) -> str:
    return f"ward-ap-{n + 1:03d}"


def _stamp(at: dt.datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def line(kind: int, device: str, ap: int, at: dt.datetime) -> bytes:
    """One association line of dialect ``kind`` (0 hostapd, 1 Cisco, 2 Aruba)."""
    device = device.lower()
    if kind == 0:
        return (
            f"<30>1 {_stamp(at)} {ap_name(ap)} hostapd 812 - - wlan0: AP-STA-CONNECTED {device}"
        ).encode()
    if kind == 1:
        return (
            f"<134>1 {_stamp(at)} WLC01 apf - - - *apfReceiveTask: %APF-3-AUTHENTICATION_TRAP: "
            f"apf_80211.c:2460 Client Authenticated: MACAddress:{device} Base Radio "
            f"MAC:{ap_mac(ap).lower()} Slot:1 User Name:unknown Ip Address:unknown SSID:Staff"
        ).encode()
    return (
        f"<142>1 {_stamp(at)} MD01 stm 30085 - - <501100> <NOTI> <MD01 10.0.0.2>  Assoc "
        f"success @ {at:%H:%M:%S.%f}: {device}: AP 10.1.0.{ap % 250}-"
        f"{ap_mac(ap).lower()}-{ap_name(ap)}"
    ).encode()


class Traffic:
    """What the controllers send: blocks of lines, the pumps' share spread through them."""

    def __init__(self, opts: WifiOptions, anchor: dt.datetime) -> None:
        rng = random.Random(opts.seed)
        self.opts = opts
        self.anchor = anchor
        pool = []
        for n in range(min(opts.phones, 50_000)):
            pool.append(line(n % 3, phone_mac(n), rng.randrange(opts.access_points), anchor))
        self.phone_lines = pool
        self.known_per_block = max(1, round(BLOCK * opts.known_share))
        self.known_sent = 0  # pumps' lines written so far (each a unique microsecond)
        # While set: pump line number -> when it was written (perf_counter), for latency.
        self.sent_at: dict[int, float] | None = None
        self.unknown_sent = 0
        self._phone_at = 0

    @property
    def sent(self) -> int:
        return self.known_sent + self.unknown_sent

    def block(self, size: int = BLOCK) -> list[bytes]:
        """``size`` lines, the pumps' share among them."""
        opts = self.opts
        known = max(1, round(size * opts.known_share)) if size >= 20 else 1
        unknown = size - known
        pool, at = self.phone_lines, self._phone_at
        lines = [pool[(at + i) % len(pool)] for i in range(unknown)]
        self._phone_at = (at + unknown) % len(pool)
        step = max(unknown // known, 1)
        for k in range(known):
            n = self.known_sent + k
            when = self.anchor + dt.timedelta(microseconds=n)
            pump = n % opts.pumps
            lines.insert(
                min(k * (step + 1), len(lines)),
                line(n % 3, pump_mac(pump), n % opts.access_points, when),
            )
        if self.sent_at is not None:
            now = time.perf_counter()
            for k in range(known):
                self.sent_at[self.known_sent + k] = now
        self.known_sent += known
        self.unknown_sent += unknown
        return lines

    def line_number(self, at: dt.datetime) -> int:
        """Which pump line carried the observation time ``at`` (a microsecond each)."""
        delta = at - self.anchor
        return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds

    def sample(self, count: int) -> list[bytes]:
        """Lines like the max phase's, for the baseline (not counted as sent)."""
        known_sent, unknown_sent, at = self.known_sent, self.unknown_sent, self._phone_at
        found = [x for _ in range(max(count // BLOCK, 1)) for x in self.block()]
        self.known_sent, self.unknown_sent, self._phone_at = known_sent, unknown_sent, at
        return found


# --- the appliance's data -------------------------------------------------------------------


def load_register(db: Database, opts: WifiOptions, now: dt.datetime) -> None:
    """A zone per access point, the APs as receivers (their MAC and name), an asset per pump."""
    zones = [
        {"id": a + 1, "site_id": 1, "name": f"Ward bay {a + 1}", "type": "bay"}
        for a in range(opts.access_points)
    ]
    receivers = [
        {
            "id": a + 1,
            "name": ap_name(a),
            "technology": TECHNOLOGY,
            "identifier": ap_mac(a),
            "zone_id": a + 1,
            "notes": "",
            "rssi_offset": 0.0,
        }
        for a in range(opts.access_points)
    ]
    assets = [
        {
            "id": p + 1,
            "asset_number": f"PUMP{p:05d}",
            "description": "Infusion pump",
            "serial": f"S{p:08d}",
            "department": "Ward block",
            "state": "available",
            "created_at": now,
            "updated_at": now,
        }
        for p in range(opts.pumps)
    ]
    identifiers = [
        {"id": p + 1, "asset_id": p + 1, "technology": TECHNOLOGY, "value": pump_mac(p)}
        for p in range(opts.pumps)
    ]
    tables: list[tuple[type[Any], list[dict[str, Any]]]] = [
        (SiteRow, [{"id": 1, "name": "Bench wards", "code": "WARD", "timezone": "UTC"}]),
        (ZoneRow, zones),
        (ReceiverRow, receivers),
        (AssetRow, assets),
        (IdentifierRow, identifiers),
    ]
    insert_rows(db.engine, tables)


def configure_wifi(data_dir: Path, udp_port: int, tcp_port: int) -> None:
    """The syslog listener on loopback, and every admitted observation captured."""
    path = data_dir / CONFIG_FILE
    text = path.read_text(encoding="utf-8")
    text += "\n[location]\ncapture_sample = 1.0\n"
    text += '\n[plugin.wifi]\nlisten_host = "127.0.0.1"\n'
    text += (
        f'\n[plugin.wifi.syslog]\nudp_port = {udp_port}\ntcp_port = {tcp_port}\ntime_zone = "UTC"\n'
    )
    path.write_text(text, encoding="utf-8")


class _Captured(msgspec.Struct):
    source: str


class CaptureTail(CaptureLines):
    """The core's capture files read as they grow: the syslog source's observations."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.observations = 0
        self._decode = msgspec.json.Decoder(_Captured).decode

    def poll(self) -> int:
        self.observations += sum(
            1 for raw in self.new_lines() if self._decode(raw).source == SOURCE
        )
        return self.observations


def spread(values: Sequence[float]) -> float:
    return max(values) - min(values) if values else 0.0
