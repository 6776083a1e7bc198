"""What the demo's simulated readers see: the readers, their portals, and the register's
kit on their shelves. Pure: the register is handed in.

The demo hospital (floki_core/demo/site.py, ``RFID_ANTENNAS``) registers each room's one
four-port reader as the rfid receivers ``<reader>:<port>``: port 1 inside the room's door,
port 2 outside it in the corridor (a portal), ports 3 and 4 over the shelves. Change both
together. The kit is every asset at home in a reader's room with a GIAI that encodes
as GIAI-96 under the demo's company prefix.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from floki_core.sdk import FlokiError, RegisterSnapshot
from floki_rfid.config import LlrpReaderSettings, PortalSettings
from floki_rfid.encoding import giai_96_epc
from floki_rfid.epc import RFID

READERS = ("library", "stores")  # the Equipment Library's reader, Main Stores'
DOOR_INSIDE, DOOR_OUTSIDE = 1, 2
SHELF_PORTS = (3, 4)
PORTS = (DOOR_INSIDE, DOOR_OUTSIDE, *SHELF_PORTS)
# The demo's made-up GS1 company prefix (floki_core/demo/site.py GS1_COMPANY_PREFIX).
COMPANY_PREFIX = "5012345"
# A factory-coded tag on something not in the register, read in the sample sweep.
STRAY_EPC = "E2801170000002000000D001"
TRAVELLERS = 3  # kit per room that goes out of the door and comes back
GONE = 2  # Main Stores kit that went without anyone noticing: missing in the sweep
MISPLACED = 2  # library kit left on the stores shelves: unexpected in the sweep


def portal_name(reader: str) -> str:
    return f"{reader}-door"


def reader_settings(reader: str, port: int) -> LlrpReaderSettings:
    """The LLRP source's settings for the emulated reader ``reader`` on ``port``: reads
    reported as they happen, as portals want."""
    return LlrpReaderSettings(name=reader, host="127.0.0.1", port=port, antennas=list(PORTS))


def portal_settings(reader: str) -> PortalSettings:
    return PortalSettings(
        name=portal_name(reader), inner=f"{reader}:{DOOR_INSIDE}", outer=f"{reader}:{DOOR_OUTSIDE}"
    )


@dataclass(frozen=True)
class Kit:
    asset_id: int
    asset_number: str
    epc: str  # its GIAI-96 label, hex
    shelf: int  # the antenna port over its shelf


@dataclass(frozen=True)
class Room:
    reader: str
    zone_id: int  # the room: the door's inside antenna's zone
    kit: tuple[Kit, ...]  # on its shelves (its own, less the gone and the misplaced)
    travellers: tuple[Kit, ...]  # of ``kit``, those that go out and come back


@dataclass(frozen=True)
class Layout:
    rooms: tuple[Room, ...]
    stores_zone_id: int | None  # where the sample sweep is taken
    gone: tuple[Kit, ...]  # stores kit read nowhere
    misplaced: tuple[Kit, ...]  # library kit on the stores shelves


def _label(giai: str | None) -> str | None:
    if not giai:
        return None
    try:
        return giai_96_epc(giai, COMPANY_PREFIX)
    except FlokiError:  # another prefix, or a GIAI that does not fit GIAI-96
        return None


def build_layout(snapshot: RegisterSnapshot, seed: int) -> Layout:
    """The rooms whose readers' receivers are registered, and their kit; ``ValueError``
    saying what is missing when there is none."""
    zone_of = {r.identifier: r.zone_id for r in snapshot.receivers if r.technology == RFID}
    rng = random.Random(seed)
    rooms: dict[str, tuple[int, list[Kit]]] = {}
    for reader in READERS:
        ports = [f"{reader}:{port}" for port in PORTS]
        if not all(port in zone_of for port in ports):
            continue
        zone_id = zone_of[ports[0]]
        kit = [
            Kit(a.id, a.asset_number, epc, SHELF_PORTS[n % len(SHELF_PORTS)])
            for n, (a, epc) in enumerate(
                (a, _label(a.giai))
                for a in sorted(snapshot.assets, key=lambda a: a.asset_number)
                if a.home_zone_id == zone_id
            )
            if epc is not None
        ]
        rooms[reader] = (zone_id, kit)
    if not rooms:
        wanted = ", ".join(f"{r}:1-{len(PORTS)}" for r in READERS)
        raise ValueError(f"no rfid receivers {wanted} in the register (the demo hospital's)")
    gone: list[Kit] = []
    misplaced: list[Kit] = []
    if "stores" in rooms and "library" in rooms:
        stores, library = rooms["stores"][1], rooms["library"][1]
        gone, misplaced = stores[-GONE:], library[-MISPLACED:]
        del stores[-GONE:], library[-MISPLACED:]
        stores += [Kit(k.asset_id, k.asset_number, k.epc, SHELF_PORTS[0]) for k in misplaced]
    built = []
    away = {k.asset_id for k in misplaced}
    for reader, (zone_id, kit) in rooms.items():
        own = [k for k in kit if k.asset_id not in away]
        travellers = rng.sample(own, min(TRAVELLERS, len(own)))
        built.append(Room(reader, zone_id, tuple(kit), tuple(travellers)))
    stores_zone = rooms["stores"][0] if "stores" in rooms else None
    return Layout(tuple(built), stores_zone, tuple(gone), tuple(misplaced))


def sweep_reads(layout: Layout) -> Sequence[str]:
    """The EPCs a handheld sweep of Main Stores reads: what is on its shelves (its own kit,
    less the gone, and the misplaced library kit) and a stray factory-coded tag."""
    stores = next((r for r in layout.rooms if r.reader == "stores"), None)
    if stores is None:
        return []
    return [*(k.epc for k in stores.kit), STRAY_EPC]
