"""The ``rfid`` scenario's site and data: the readers' stores, corridors and doors, the
tags on their shelves and the movers passing the doors, the appliance's register and
settings, and the core's capture file read back as it grows (``bench/rfid.py`` runs it)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from bench.product import HOST
from bench.rfid_readers import Read, epc_hex, reader_name, report_frame
from bench.site_rows import CaptureLines, insert_rows
from floki_core.config import CONFIG_FILE
from floki_core.storage.database import Database
from floki_core.storage.models import AssetRow, IdentifierRow, ReceiverRow, SiteRow, ZoneRow

ANTENNAS = 4
OUTER, INNER = 1, 2  # each reader's door: a portal into its store
SHELVES = (3, 4)  # the store's shelf antennas: a shelf tag is heard by both
CROSSING_S = 0.4  # a mover read at the outer antenna, then this much later at the inner
TECHNOLOGY = "rfid"


@dataclass(frozen=True)
class RfidOptions:
    readers: int = 20
    tags: int = 2000  # in view, spread evenly over the readers
    seconds: float = 10.0  # each phase's length
    # Reads a second per reader in the nominal phase: its 100 shelf tags each read about
    # once a second at each of its two antennas (session 1: a tag answers again after its
    # inventoried flag decays).
    read_rate: float = 200.0
    movers: int = 100  # tags passing a door into a store in the nominal phase (the latency)
    reports_per_frame: int = 100  # tag reports per RO_ACCESS_REPORT in the max phase
    batch_seconds: float = 0.25  # [plugin.rfid] batch_seconds
    baseline_budget_s: float = 3.0
    profile: bool = False


def asset_of(tag: int) -> int:
    return tag + 1


def shelf_reads(opts: RfidOptions, reader: int) -> list[Read]:
    """Every (tag, antenna) reader ``reader`` sees, with an RSSI each."""
    per = opts.tags // opts.readers + (1 if reader < opts.tags % opts.readers else 0)
    first = reader * (opts.tags // opts.readers) + min(reader, opts.tags % opts.readers)
    return [
        Read(tag, antenna, -48 - 6 * k - tag % 11)
        for tag in range(first, first + per)
        for k, antenna in enumerate(SHELVES)
    ]


def crossing(opts: RfidOptions, mover: int, at_us: int) -> tuple[int, bytes, bytes]:
    """(reader, the outer read at ``at_us``, the inner read ``CROSSING_S`` later) of mover
    ``mover``, the tag ``tags + mover``, going through its reader's door into the store."""
    tag = opts.tags + mover
    later = at_us + round(CROSSING_S * 1e6)
    outer = report_frame([Read(tag, OUTER, -55)], at_us)
    return mover % opts.readers, outer, report_frame([Read(tag, INNER, -50)], later)


def store_zone(reader: int) -> int:
    return 2 * reader + 1


def corridor_zone(reader: int) -> int:
    return 2 * reader + 2


# --- the appliance's data -------------------------------------------------------------------


def load_register(db: Database, opts: RfidOptions, now: dt.datetime) -> None:
    """A store and the corridor outside it per reader, a receiver per antenna (the outer
    one's in the corridor), an asset per tag (movers included)."""
    zones = [
        {"id": zone(r), "site_id": 1, "name": f"{name} {r + 1}", "type": "room"}
        for r in range(opts.readers)
        for zone, name in ((store_zone, "Store"), (corridor_zone, "Corridor"))
    ]
    receivers = [
        {
            "id": r * ANTENNAS + a,
            "name": f"{reader_name(r)} antenna {a}",
            "technology": TECHNOLOGY,
            "identifier": f"{reader_name(r)}:{a}",
            "zone_id": corridor_zone(r) if a == OUTER else store_zone(r),
            "notes": "",
            "rssi_offset": 0.0,
        }
        for r in range(opts.readers)
        for a in range(1, ANTENNAS + 1)
    ]
    count = opts.tags + opts.movers
    assets = [
        {
            "id": asset_of(t),
            "asset_number": f"RF{t:07d}",
            "description": "Stores item",
            "serial": f"S{t:08d}",
            "department": "Stores",
            "state": "available",
            "created_at": now,
            "updated_at": now,
        }
        for t in range(count)
    ]
    identifiers = [
        {"id": t + 1, "asset_id": asset_of(t), "technology": TECHNOLOGY, "value": epc_hex(t)}
        for t in range(count)
    ]
    tables: list[tuple[type[Any], list[dict[str, Any]]]] = [
        (SiteRow, [{"id": 1, "name": "Bench stores", "code": "STORE", "timezone": "UTC"}]),
        (ZoneRow, zones),
        (ReceiverRow, receivers),
        (AssetRow, assets),
        (IdentifierRow, identifiers),
    ]
    insert_rows(db.engine, tables)


def configure_rfid(data_dir: Path, opts: RfidOptions, ports: Sequence[int]) -> None:
    """The readers as ``[[plugin.rfid.readers]]``, and every admitted observation captured."""
    path = data_dir / CONFIG_FILE
    text = path.read_text(encoding="utf-8")
    text += "\n[location]\ncapture_sample = 1.0\n"
    text += f"\n[plugin.rfid]\nbatch_seconds = {opts.batch_seconds}\n"
    for r, port in enumerate(ports):
        text += (
            "\n[[plugin.rfid.readers]]\n"
            f'name = "{reader_name(r)}"\n'
            f'host = "{HOST}"\n'
            f"port = {port}\n"
            f"antennas = {list(range(1, ANTENNAS + 1))}\n"
            "\n[[plugin.rfid.portals]]\n"
            f'name = "door-{r + 1}"\n'
            f'inner = "{reader_name(r)}:{INNER}"\n'
            f'outer = "{reader_name(r)}:{OUTER}"\n'
        )
    path.write_text(text, encoding="utf-8")


class _Captured(msgspec.Struct):
    source: str
    extras: dict[str, Any] = {}


class CaptureTail(CaptureLines):
    """The core's capture files, read as they grow: the readers' observations and the raw
    reports their seen counts add up to."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.observations = 0
        self.reports = 0
        self._decode = msgspec.json.Decoder(_Captured).decode

    def poll(self) -> int:
        for line in self.new_lines():
            record = self._decode(line)
            if record.source.startswith("rfid-llrp-"):
                self.observations += 1
                self.reports += int(record.extras.get("seen_count", 1))
        return self.reports


def max_frames(opts: RfidOptions, reads: Sequence[Read]) -> list[bytes]:
    """The max phase's frames of one reader (and the baseline's): ``reports_per_frame``
    reports each, round its shelves in whole rounds."""
    size = opts.reports_per_frame
    total = -(-max(len(reads), size) // size) * size
    cycle = [reads[i % len(reads)] for i in range(total)]
    return [report_frame(cycle[i : i + size]) for i in range(0, total, size)]
