"""Read zones as the appliance runs them, over a real LLRP connection on loopback: two
shelf antennas of one emulated reader, each covering a shelf bay; a tag read at both is
kept where it is on a near tie, and moves once the other antenna has read it clearly
stronger for the dwell (``[plugin.rfid.placement]``, time from the manual clock).

Cost: one appliance and an emulated reader, about two seconds."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from floki_core.config import AppConfig, parse_config
from floki_core.testing import Floki
from tests.plugins.rfid.llrp_peer import READER_US, EmulatedReader, tag_report
from tests.plugins.rfid.test_portal_in_the_appliance import call, made

pytestmark = pytest.mark.floki_entry_points("rfid")
FAST = {"backoff_initial": 0.02, "backoff_max": 0.1, "max_failures": 1000}
EPC = "E28011700000020A1B2C3D4E"
DWELL = 4.0


@pytest.fixture
def floki_config(llrp_reader: EmulatedReader) -> AppConfig:
    reader = {"name": "shelves", "host": "127.0.0.1", "port": llrp_reader.port}
    rfid = {
        "readers": [reader],
        "batch_seconds": 0.05,
        "placement": {"dwell_seconds": DWELL, "hysteresis_db": 6.0},
    }
    return parse_config(
        {
            "discovery": {"enabled": False},
            "server": {"tls": False},
            "plugins": {"supervision": FAST},
            "plugin": {"rfid": rfid},
        }
    )


async def shelves(floki: Floki) -> int:
    site = await made(floki, "/sites", {"name": "St Elsewhere"})
    for port, name in ((1, "Shelf A"), (2, "Shelf B")):
        zone = await made(floki, "/zones", {"site_id": site, "name": name, "type": "store"})
        receiver = {
            "name": f"shelf antenna {port}",
            "technology": "rfid",
            "identifier": f"shelves:{port}",
            "zone_id": zone,
        }
        await made(floki, "/receivers", receiver)
    pumps = await made(floki, "/asset-classes", {"name": "Infusion pump"})
    pump = await made(
        floki, "/assets", {"asset_number": "E10001", "description": "pump", "class_id": pumps}
    )
    await made(floki, "/identifiers", {"asset_id": pump, "technology": "rfid", "value": EPC})
    await floki.core.locations.reindex()
    return pump


async def location(floki: Floki, asset_id: int) -> dict[str, Any]:
    status, where = await call(floki, "GET", f"/api/v1/assets/{asset_id}/location")
    return where if status == 200 else {}


async def read_at_both(
    floki: Floki, reader: EmulatedReader, pump: int, second: int, a: int, b: int
) -> str:
    """The clock at ``second``; shelf A reads the tag at ``a`` dBm, shelf B at ``b``, in one
    report; where the appliance then has the pump, once it has taken the read."""
    floki.advance((START + dt.timedelta(seconds=second) - floki.clock.now()).total_seconds())
    at_us = READER_US + second * 1_000_000
    await reader.report(tag_report(EPC, 1, a, at_us=at_us), tag_report(EPC, 2, b, at_us=at_us))
    now = floki.clock.now()

    async def taken() -> bool:
        seen = (await location(floki, pump)).get("last_seen")
        return seen is not None and dt.datetime.fromisoformat(seen) == now

    await floki.eventually(taken, f"the read at {second} s to be taken")
    return str((await location(floki, pump))["zone"]["name"])


START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


async def test_a_near_tie_keeps_the_shelf_and_a_clear_lead_moves_after_the_dwell(
    floki: Floki, llrp_reader: EmulatedReader
) -> None:
    pump = await shelves(floki)
    await floki.eventually(lambda: llrp_reader.inventorying, "the reader to inventory")
    assert floki.clock.now() == START
    assert await read_at_both(floki, llrp_reader, pump, 0, -58, -75) == "Shelf A"
    # Shelf B 4 dB stronger, second after second: within the margin, shelf A keeps it.
    near_tie = [await read_at_both(floki, llrp_reader, pump, s, -60, -56) for s in range(1, 8)]
    assert set(near_tie) == {"Shelf A"}
    # Shelf B 15 dB stronger: it moves once that has lasted the dwell (from 8 s).
    lead = [await read_at_both(floki, llrp_reader, pump, s, -70, -55) for s in range(8, 14)]
    assert lead == ["Shelf A"] * 4 + ["Shelf B"] * 2
