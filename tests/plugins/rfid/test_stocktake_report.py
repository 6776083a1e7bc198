"""The stock-take report's rules on the facts gathered (pure): who is expected in the
swept zones, and what each list says of an asset placed off site, one never placed, one
read through two tags, and an EPC no asset has."""

from __future__ import annotations

import datetime as dt

from floki_rfid.epc import decode_epc_hex
from floki_rfid.stocktake_reads import SweepRead
from floki_rfid.stocktake_report import AssetFacts, compare, counts_of, expected_in

STORE, SHELF, WARD = 1, 2, 3
SWEPT = {STORE, SHELF}
SEEN = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
GIAI_1 = "341531EDE400000000002711"  # GIAI 501234510001
GIAI_9 = "341531EDE400000000002719"  # GIAI 501234510009: no asset has it
RAW = "E2801160600002A0B0C0D0E0"


def asset(
    number: str,
    *,
    zone: int | None = None,
    zone_name: str | None = None,
    placed: bool | None = None,
    home: int | None = None,
    home_name: str | None = None,
) -> AssetFacts:
    is_placed = zone is not None if placed is None else placed
    return AssetFacts(
        asset_id=int(number[-1]),
        asset_number=number,
        name=f"Pump {number[-1]}",
        class_name="Infusion pump",
        placed=is_placed,
        zone_id=zone,
        zone_name=zone_name,
        last_seen=SEEN if is_placed else None,
        home_zone_id=home,
        home_zone_name=home_name,
    )


def read(epc: str) -> SweepRead:
    return SweepRead(identity=decode_epc_hex(epc))


def test_who_is_expected_in_the_swept_zones() -> None:
    assert expected_in(SWEPT, asset("E1", zone=SHELF, zone_name="Shelf B"))
    assert expected_in(SWEPT, asset("E2", home=STORE))  # never placed, at home here
    # At home here, but placed elsewhere or off site: expected there, not here.
    assert not expected_in(SWEPT, asset("E3", zone=WARD, zone_name="Ward 7", home=STORE))
    off_site = asset("E4", placed=True, zone_name="off site", home=STORE)
    assert not expected_in(SWEPT, off_site)
    assert not expected_in(SWEPT, asset("E5"))  # no place, no home


def test_what_each_list_says() -> None:
    off_site = asset("E4", placed=True, zone_name="off site", home=STORE, home_name="Store")
    homeless = asset("E6", home=WARD, home_name="Ward 7")
    pump = asset("E1", zone=STORE, zone_name="Store")
    lists = compare(
        SWEPT,
        [pump],
        [
            (read(GIAI_1), pump),
            (read(RAW), pump),  # the same pump's factory EPC, bound to it too
            (read(GIAI_9), None),
            (read(RAW.replace("E2", "E3", 1)), off_site),
            (read("E2801160600002A0B0C0D0E6"), homeless),
        ],
    )
    assert lists["found"] == [
        {
            "asset_id": 1,
            "asset_number": "E1",
            "name": "Pump 1",
            "class": "Infusion pump",
            "epc": GIAI_1,
        }
    ]
    assert [
        (u["asset_number"], u["expected_zone"], u["last_seen_zone"]) for u in lists["unexpected"]
    ] == [("E4", "off site", "off site"), ("E6", "Ward 7", None)]
    assert lists["unknown"] == [{"epc": GIAI_9, "kind": "giai"}]
    assert counts_of(lists) == {
        "expected": 1,
        "found": 1,
        "missing": 0,
        "unexpected": 2,
        "unknown": 1,
    }
