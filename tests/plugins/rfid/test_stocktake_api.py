"""Stock-takes as the appliance runs them (``/api/v1/rfid/stocktakes``): a handheld's
sweep of a zone gives the report of what the register expected there and what was read
(found, missing, unexpected, unknown), every read tag is placed in the swept zone at
fixed-point confidence, unknown EPCs reach the unknown tags, the report is kept across a
restart and every stock-take is audited. Roles: engineers and admins record and export,
viewers read."""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from floki_rfid.encoding import giai_96_epc

from floki_core.clock import ManualClock
from floki_core.config import AppConfig, parse_config
from floki_core.observations import Observation
from floki_core.storage.database import DB_FILE
from floki_core.testing import Floki, installed_plugins, running_appliance
from tests.fixtures.full_disk import FullDisk

pytestmark = pytest.mark.floki_entry_points("rfid")

API = "/api/v1"
PATH = f"{API}/rfid/stocktakes"
PREFIX = "5012345"  # the trust's GS1 Company Prefix
SGTIN_EPC = "3074257BF7194E4000001A85"  # GTIN 80614141123458, serial 6789
UDI = "(01)80614141123458(21)6789"
RAW_EPC = "E2801160600002A0B0C0D0E0"  # a chip's factory EPC
SSCC_EPC = "3114257BF4000000000003E8"  # a pallet's SSCC
START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
SWEEP_AFTER = 600  # seconds after the assets were last seen


def epc_of(giai: str) -> str:
    """The GIAI-96 EPC ``floki-core rfid encode`` writes on the asset's label."""
    return giai_96_epc(giai, PREFIX)


def test_the_labels_are_the_ones_rfid_encode_prints() -> None:
    assert epc_of("501234510001") == "341531EDE400000000002711"  # as docs/rfid.md shows


@dataclass
class Store:
    """A main store with a shelf inside it, a ward, and six assets (see ``build_store``)."""

    site: int
    zones: dict[str, int]
    classes: dict[str, int]
    assets: dict[str, int]
    seen_at: dt.datetime  # when the assets with a location were last seen
    epcs: dict[str, str] = field(default_factory=dict)


async def call(
    floki: Floki, method: str, path: str, role: str = "admin", **kwargs: Any
) -> tuple[int, Any]:
    resp = await floki.client.request(method, path, headers=await floki.headers(role), **kwargs)
    if resp.content_type == "application/json":
        return resp.status, await resp.json()
    return resp.status, await resp.read()


async def made(floki: Floki, path: str, body: dict[str, Any]) -> int:
    status, answer = await call(floki, "POST", API + path, json=body)
    assert status == 201, (path, answer)
    return int(answer["id"])


async def build_store(floki: Floki) -> Store:
    """Main Stores (with Shelf B inside it) and Ward 7; QR readers in each.

    - E10001 (pump, GIAI label) was last seen in Main Stores;
    - E10002 (pump, GIAI label) was last seen on Shelf B, inside Main Stores;
    - E10003 (scanner, maker's SGTIN tag, its UDI entered) lives in Main Stores, never seen;
    - E10004 (scanner) lives in Main Stores, never seen;
    - E10005 (pump, GIAI label) was last seen on Ward 7;
    - E10006 (pump) lives in Main Stores but was last seen on Ward 7.
    """
    site = await made(floki, "/sites", {"name": "St Elsewhere"})
    zones: dict[str, int] = {}
    for key, name, kind, parent in (
        ("stores", "Main Stores", "store", None),
        ("shelf", "Shelf B", "store", "stores"),
        ("ward", "Ward 7", "ward", None),
    ):
        body = {"site_id": site, "name": name, "type": kind}
        if parent is not None:
            body["parent_id"] = zones[parent]
        zones[key] = await made(floki, "/zones", body)
        await made(
            floki,
            "/receivers",
            {
                "name": f"qr-{key}",
                "technology": "qr",
                "identifier": f"QR-{key.upper()}",
                "zone_id": zones[key],
            },
        )
    classes = {
        name: await made(floki, "/asset-classes", {"name": name})
        for name in ("Infusion pump", "Bladder scanner")
    }
    assets: dict[str, int] = {}
    sightings: list[Observation] = []
    now = floki.clock.now()
    for number, cls, giai, home, seen in (
        ("E10001", "Infusion pump", "501234510001", "stores", "stores"),
        ("E10002", "Infusion pump", "501234510002", "stores", "shelf"),
        ("E10003", "Bladder scanner", None, "stores", None),
        ("E10004", "Bladder scanner", None, "stores", None),
        ("E10005", "Infusion pump", "501234510005", "ward", "ward"),
        ("E10006", "Infusion pump", None, "stores", "ward"),
    ):
        body = {
            "asset_number": number,
            "description": f"{cls} {number[-1]}",
            "class_id": classes[cls],
            "home_zone_id": zones[home],
        }
        if giai is not None:
            body["giai"] = giai
        assets[number] = await made(floki, "/assets", body)
        if seen is not None:
            label = f"QR-{number}"
            await made(
                floki,
                "/identifiers",
                {"asset_id": assets[number], "technology": "qr", "value": label},
            )
            sightings.append(
                Observation(
                    technology="qr", tag=label, receiver=f"QR-{seen.upper()}", observed_at=now
                )
            )
    await made(
        floki, "/identifiers", {"asset_id": assets["E10003"], "technology": "udi", "value": UDI}
    )
    await floki.core.locations.reindex()
    await floki.inject(sightings)
    floki.advance(SWEEP_AFTER)  # the sweep comes ten minutes later
    return Store(site=site, zones=zones, classes=classes, assets=assets, seen_at=now)


@dataclass(frozen=True)
class PreparedStore:
    database: Path  # an SQLite file holding the store's register; copied, never changed
    store: Store
    tokens: dict[str, str]  # the test users' tokens the build made
    now: dt.datetime  # the clock when the build ended


def only_rfid() -> AppConfig:
    others = [name for name in installed_plugins() if name != "rfid"]
    return parse_config(
        {"discovery": {"enabled": False}, "server": {"tls": False}, "plugins": {"disabled": others}}
    )


@pytest.fixture(scope="session")
def prepared_store(
    tmp_path_factory: pytest.TempPathFactory, floki_migrated_database: Path
) -> PreparedStore:
    """``build_store`` once per run (about twenty requests); each test that asks for
    ``store`` starts its appliance on a copy of the database it left."""
    data = tmp_path_factory.mktemp("stocktake-store") / "data"
    clock = ManualClock(START)

    async def build() -> tuple[Store, dict[str, str]]:
        async with running_appliance(
            data, only_rfid(), clock=clock, database=floki_migrated_database
        ) as floki:
            return await build_store(floki), dict(floki.tokens)

    store, tokens = asyncio.run(build())
    return PreparedStore(data / DB_FILE, store, tokens, clock.now())


@pytest.fixture
def floki_database(request: pytest.FixtureRequest, floki_migrated_database: Path) -> Path:
    if "store" in request.fixturenames:
        prepared: PreparedStore = request.getfixturevalue("prepared_store")
        return prepared.database
    return floki_migrated_database


@pytest.fixture
def floki_clock() -> ManualClock:
    return ManualClock(START + dt.timedelta(seconds=SWEEP_AFTER))


@pytest.fixture
def store(floki: Floki, prepared_store: PreparedStore) -> Store:
    """The store ``build_store`` makes, ten minutes after its assets were last seen."""
    assert floki.clock.now() == prepared_store.now
    floki.tokens.update(prepared_store.tokens)
    return copy.deepcopy(prepared_store.store)


def sweep_reads() -> list[dict[str, Any]]:
    return [
        {"epc": epc_of("501234510001"), "rssi": -52.0, "count": 3},
        {"epc": SGTIN_EPC, "rssi": -61.0},
        {"epc": epc_of("501234510005"), "rssi": -58.5},
        {"epc": epc_of("501234510001"), "rssi": -49.0},  # read again: one read
        {"epc": RAW_EPC},
        {"epc": SSCC_EPC},
    ]


async def post_sweep(floki: Floki, store: Store, role: str = "engineer") -> tuple[int, Any]:
    body = {
        "zone_id": store.zones["stores"],
        "reads": sweep_reads(),
        "device": "TC52 store handheld",
        "note": "January count",
    }
    return await call(floki, "POST", PATH, role, json=body)


def at(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


async def test_a_sweep_gives_the_stock_take_report(floki: Floki, store: Store) -> None:
    status, report = await post_sweep(floki, store)
    assert status == 201, report
    ids = store.assets
    assert report["counts"] == {
        "expected": 4,
        "found": 2,
        "missing": 2,
        "unexpected": 1,
        "unknown": 2,
    }
    assert report["found"] == [
        {
            "asset_id": ids["E10001"],
            "asset_number": "E10001",
            "name": "Infusion pump 1",
            "class": "Infusion pump",
            "epc": epc_of("501234510001"),
        },
        # At home in the store and seen nowhere else: expected there, found by its UDI.
        {
            "asset_id": ids["E10003"],
            "asset_number": "E10003",
            "name": "Bladder scanner 3",
            "class": "Bladder scanner",
            "epc": SGTIN_EPC,
        },
    ]
    assert report["missing"] == [
        # Expected on the shelf inside the swept store, where it was last seen.
        {
            "asset_id": ids["E10002"],
            "asset_number": "E10002",
            "name": "Infusion pump 2",
            "class": "Infusion pump",
            "last_seen_zone": "Shelf B",
            "last_seen": at(store.seen_at),
        },
        {
            "asset_id": ids["E10004"],
            "asset_number": "E10004",
            "name": "Bladder scanner 4",
            "class": "Bladder scanner",
            "last_seen_zone": None,
            "last_seen": None,
        },
    ]
    assert report["unexpected"] == [
        {
            "asset_id": ids["E10005"],
            "asset_number": "E10005",
            "name": "Infusion pump 5",
            "class": "Infusion pump",
            "epc": epc_of("501234510005"),
            "expected_zone": "Ward 7",
            "last_seen_zone": "Ward 7",
            "last_seen": at(store.seen_at),
        }
    ]
    assert report["unknown"] == [{"epc": RAW_EPC, "kind": "raw"}, {"epc": SSCC_EPC, "kind": "sscc"}]
    assert (report["zone_id"], report["zone"]) == (store.zones["stores"], "Main Stores")
    assert (report["by"], report["device"], report["note"]) == (
        "test-engineer",
        "TC52 store handheld",
        "January count",
    )
    assert report["taken_at"] == at(floki.clock.now())


async def test_every_tag_read_is_placed_in_the_swept_zone(floki: Floki, store: Store) -> None:
    status, report = await post_sweep(floki, store)
    assert status == 201, report
    await floki.settle()
    for number in ("E10005", "E10003", "E10001"):  # moved, first placed, still there
        status, where = await call(floki, "GET", f"{API}/assets/{store.assets[number]}/location")
        assert status == 200, where
        assert where["zone"]["name"] == "Main Stores", (number, where)
        assert where["last_seen"] == at(floki.clock.now()), (number, where)
        evidence = [(e["method"], e["technology"], e["receiver"]) for e in where["evidence"]]
        receiver = f"RFID stock-take: Main Stores (zone {store.zones['stores']})"
        assert ("fixed_point", "rfid", receiver) in evidence, (number, where)
        if number != "E10001":
            assert (where["method"], where["technology"], where["confidence"]) == (
                "fixed_point",
                "rfid",
                0.95,
            )
    status, history = await call(floki, "GET", f"{API}/assets/{store.assets['E10005']}/history")
    assert [h.get("zone_id") for h in history["items"]][:2] == [
        store.zones["stores"],
        store.zones["ward"],
    ], history
    # What was not read stays where it was.
    status, where = await call(floki, "GET", f"{API}/assets/{store.assets['E10002']}/location")
    assert where["zone"]["name"] == "Shelf B"
    status, unknown = await call(floki, "GET", f"{API}/unknown-tags")
    tags = {(t["technology"], t["tag"]) for t in unknown["items"]}
    assert {("rfid", RAW_EPC), ("rfid", SSCC_EPC)} <= tags, unknown


async def test_the_report_is_listed_read_back_and_audited(floki: Floki, store: Store) -> None:
    resp = await floki.client.post(
        PATH,
        json={"zone_id": store.zones["stores"], "reads": sweep_reads()},
        headers=await floki.headers("engineer"),
    )
    created = await resp.json()
    assert resp.headers["Location"] == f"{PATH}/{created['id']}"
    status, again = await call(floki, "GET", f"{PATH}/{created['id']}", "viewer")
    assert (status, again) == (200, created)
    # Another sweep, of the ward: listed newest first, and by zone.
    floki.advance(60)
    status, ward = await call(
        floki, "POST", PATH, "admin", json={"zone_id": store.zones["ward"], "reads": []}
    )
    assert status == 201, ward
    status, listed = await call(floki, "GET", PATH, "viewer")
    assert (listed["total"], [i["id"] for i in listed["items"]]) == (2, [ward["id"], created["id"]])
    assert listed["items"][1] == {
        "id": created["id"],
        "zone_id": store.zones["stores"],
        "zone": "Main Stores",
        "taken_at": created["taken_at"],
        "by": "test-engineer",
        "device": "",
        "counts": created["counts"],
    }
    assert ward["counts"] == {
        "expected": 1,
        "found": 0,
        "missing": 1,
        "unexpected": 0,
        "unknown": 0,
    }
    status, listed = await call(
        floki, "GET", PATH, "viewer", params={"zone_id": store.zones["stores"], "limit": 1}
    )
    assert (listed["total"], listed["limit"], [i["id"] for i in listed["items"]]) == (
        1,
        1,
        [created["id"]],
    )
    status, audit = await call(floki, "GET", f"{API}/audit", params={"entity": "rfid_stocktakes"})
    entries = {(a["action"], a["entity_id"], a["actor"]) for a in audit["items"]}
    assert ("create", str(created["id"]), "test-engineer") in entries, audit
    status, missing = await call(floki, "GET", f"{PATH}/999", "viewer")
    assert (status, missing["error"]) == (404, "stock-take 999 not found")


async def test_a_handhelds_csv_is_read_with_its_header_map(floki: Floki, store: Store) -> None:
    csv = (
        "Tag;Signal;Seen;Reads\r\n"
        f"{epc_of('501234510001')};-52;2026-01-05T09:05:00Z;3\r\n"
        f"{SGTIN_EPC};-61;2026-01-05T09:06:00Z;1\r\n"
        f"{epc_of('501234510001').lower()};-49;2026-01-05T09:07:00Z;1\r\n"
        f"{RAW_EPC};-70;2026-01-05T09:04:00Z;1\r\n"
    )
    resp = await floki.client.post(
        PATH,
        params={
            "zone_id": store.zones["stores"],
            "columns": "epc=Tag,rssi=Signal,seen_at=Seen,count=Reads",
        },
        data=csv.encode(),
        headers={**await floki.headers("engineer"), "Content-Type": "text/csv"},
    )
    report = await resp.json()
    assert resp.status == 201, report
    assert [f["asset_number"] for f in report["found"]] == ["E10001", "E10003"]
    assert report["counts"] == {
        "expected": 4,
        "found": 2,
        "missing": 2,
        "unexpected": 0,
        "unknown": 1,
    }
    assert report["taken_at"] == "2026-01-05T09:07:00Z"  # the sweep's last read


async def test_bad_sweeps_are_refused_with_the_reason_and_nothing_is_kept(
    floki: Floki, store: Store
) -> None:
    zone = store.zones["stores"]
    csv_headers = {**await floki.headers("engineer"), "Content-Type": "text/csv"}
    cases: list[tuple[dict[str, Any], str]] = [
        (
            {"json": {"zone_id": zone, "reads": [{"epc": SGTIN_EPC}, {"epc": "30XY"}]}},
            "reads[1].epc: EPC '30XY' has 'X' at position 3, which is not a hex digit",
        ),
        (
            {"json": {"zone_id": 9999, "reads": [{"epc": SGTIN_EPC}]}},
            "zone_id 9999: there is no such zone",
        ),
        (
            {"data": b"EPC\n" + RAW_EPC.encode() + b"\n", "headers": csv_headers},
            "zone_id is missing: post a CSV sweep to /api/v1/rfid/stocktakes?zone_id=<zone>",
        ),
        (
            {
                "params": {"zone_id": "stores"},
                "data": b"EPC\n" + RAW_EPC.encode() + b"\n",
                "headers": csv_headers,
            },
            "zone_id must be a zone's id (a whole number), got 'stores'",
        ),
        (
            {"params": {"zone_id": zone}, "data": b"", "headers": csv_headers},
            "the file is empty",
        ),
        (
            {
                "params": {"zone_id": zone, "columns": "epc=Tag"},
                "data": b"EPC\n" + RAW_EPC.encode() + b"\n",
                "headers": csv_headers,
            },
            "columns: epc=Tag names 'Tag', which is not a header of the file",
        ),
        (
            {"params": {"zone_id": zone}, "data": b"Antenna\n1\n", "headers": csv_headers},
            "no EPC column",
        ),
        (
            {"params": {"zone_id": zone}, "data": b"EPC\n\xff\xfe\n", "headers": csv_headers},
            "the file is not UTF-8 text: line 2",
        ),
    ]
    for kwargs, says in cases:
        resp = await floki.client.post(
            PATH, **{"headers": await floki.headers("engineer"), **kwargs}
        )
        answer = await resp.json()
        assert (resp.status, says in answer.get("error", "")) == (400, True), (kwargs, answer)
    resp = await floki.client.post(
        PATH, data=b"zone_id=3", headers={**csv_headers, "Content-Type": "text/plain"}
    )
    assert resp.status == 415
    status, listed = await call(floki, "GET", PATH, "viewer")
    assert listed["total"] == 0
    status, audit = await call(floki, "GET", f"{API}/audit", params={"entity": "rfid_stocktakes"})
    assert (status, audit["total"]) == (200, 0)


@pytest.mark.parametrize("role", ["viewer", "staff"])
async def test_only_engineers_and_admins_record_and_export(floki: Floki, role: str) -> None:
    status, zone_made = await call(floki, "POST", f"{API}/sites", json={"name": "Site"})
    zone = await made(floki, "/zones", {"site_id": zone_made["id"], "name": "Store"})
    body = {"zone_id": zone, "reads": [{"epc": RAW_EPC}]}
    status, answer = await call(floki, "POST", PATH, role, json=body)
    assert (status, answer["error"]) == (403, "this needs the engineer role")
    status, report = await call(floki, "POST", PATH, "engineer", json=body)
    assert status == 201
    for suffix in (".csv", ".pdf"):
        status, answer = await call(floki, "GET", f"{PATH}/{report['id']}{suffix}", role)
        assert status == 403, answer
    status, listed = await call(floki, "GET", PATH, role)
    assert (status, listed["total"]) == (200, 1)


async def test_the_routes_are_described_with_their_roles(floki: Floki) -> None:
    status, doc = await call(floki, "GET", f"{API}/openapi.json", "viewer")
    assert status == 200
    paths = doc["paths"]
    post = paths[PATH]["post"]
    assert set(post["requestBody"]["content"]) == {"application/json", "text/csv"}
    assert "201" in post["responses"]
    assert {p["name"] for p in post["parameters"]} >= {"zone_id", "columns"}
    assert set(paths[PATH]) == {"get", "post"}
    policies = {
        (method.upper(), path): paths[path][method]["x-floki-policy"]
        for path in paths
        if path.startswith(PATH)
        for method in paths[path]
    }
    assert policies == {
        ("POST", PATH): "engineer",
        ("GET", PATH): "viewer",
        ("GET", f"{PATH}/{{id}}"): "viewer",
        ("GET", f"{PATH}/{{id}}.csv"): "engineer",
        ("GET", f"{PATH}/{{id}}.pdf"): "engineer",
    }


async def test_stock_takes_are_kept_across_a_restart(
    tmp_path: Path, prepared_store: PreparedStore
) -> None:
    clock = ManualClock(prepared_store.now)
    data = tmp_path / "data"
    store = prepared_store.store
    async with running_appliance(
        data, only_rfid(), clock=clock, database=prepared_store.database
    ) as floki:
        floki.tokens.update(prepared_store.tokens)
        status, report = await post_sweep(floki, store)
        assert status == 201, report
        tokens = dict(floki.tokens)
    async with running_appliance(data, only_rfid(), clock=clock) as floki:
        floki.tokens.update(tokens)
        status, again = await call(floki, "GET", f"{PATH}/{report['id']}", "viewer")
        assert (status, again) == (200, report)
        status, listed = await call(floki, "GET", PATH, "viewer")
        assert [i["id"] for i in listed["items"]] == [report["id"]]
        # Ids go on from where they were.
        status, next_one = await call(
            floki, "POST", PATH, "engineer", json={"zone_id": store.zones["ward"], "reads": []}
        )
        assert next_one["id"] == report["id"] + 1


async def test_a_sweep_older_than_the_pipeline_takes_is_reported_but_places_nothing(
    floki: Floki, store: Store
) -> None:
    floki.advance(2 * 86400)  # posted two days after it was taken
    taken = store.seen_at + dt.timedelta(minutes=10)
    reads = [{"epc": epc_of("501234510005"), "seen_at": at(taken)}]
    status, report = await call(
        floki, "POST", PATH, "engineer", json={"zone_id": store.zones["stores"], "reads": reads}
    )
    assert status == 201, report
    assert (report["taken_at"], [u["asset_number"] for u in report["unexpected"]]) == (
        at(taken),
        ["E10005"],
    )
    await floki.settle()
    status, where = await call(floki, "GET", f"{API}/assets/{store.assets['E10005']}/location")
    assert where["zone"]["name"] == "Ward 7"
    status, sources = await call(floki, "GET", f"{API}/sources", "viewer")
    counted = {s["name"]: s for s in sources["items"]}["rfid-stocktake"]
    assert counted["quarantined"] == {"too_old": 1}, counted


async def test_a_sweep_places_at_once_an_asset_a_fixed_antenna_read_a_moment_ago(
    floki: Floki, store: Store
) -> None:
    await made(
        floki,
        "/receivers",
        {
            "name": "ward shelf antenna",
            "technology": "rfid",
            "identifier": "ward-shelf:1",
            "zone_id": store.zones["ward"],
        },
    )
    await floki.core.locations.reindex()
    epc = epc_of("501234510005")
    await floki.inject(
        [
            Observation(
                technology="rfid", tag=epc, receiver="ward-shelf:1", observed_at=floki.clock.now()
            )
        ]
    )
    floki.advance(1)  # carried through the door and swept in the store a second later
    status, report = await call(
        floki,
        "POST",
        PATH,
        "engineer",
        json={"zone_id": store.zones["stores"], "reads": [{"epc": epc}]},
    )
    assert status == 201, report
    await floki.settle()
    status, where = await call(floki, "GET", f"{API}/assets/{store.assets['E10005']}/location")
    assert where["zone"]["name"] == "Main Stores", where


async def test_a_sweep_that_cannot_be_audited_is_not_kept(
    floki: Floki, monkeypatch: pytest.MonkeyPatch, store: Store
) -> None:
    body = {"zone_id": store.zones["ward"], "reads": []}
    status, first = await call(floki, "POST", PATH, "engineer", json=body)
    assert status == 201, first
    disk = FullDisk(floki, monkeypatch)
    disk.full = True
    status, refused = await call(floki, "POST", PATH, "engineer", json=body)
    assert status == 503, refused
    assert "disk" in refused["error"], refused
    disk.full = False
    status, listed = await call(floki, "GET", PATH, "viewer")
    assert [i["id"] for i in listed["items"]] == [first["id"]]
    status, second = await call(floki, "POST", PATH, "engineer", json=body)
    assert (status, second["id"]) == (201, first["id"] + 1)
