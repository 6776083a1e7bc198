"""Guided RSSI calibration: a reference tag left in a room for a minute, offsets proposed
per receiver with a reason, applied (audited), and assets then found in the right room.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from floki_core.events import DomainEvent
from floki_core.observations import Observation
from floki_core.testing import Floki
from tests.core.location.register_builder import (
    API,
    Register,
    get_json,
    location,
    steady,
    walk,
)

REFERENCE_TAG = "C0:FF:EE:00:00:99"  # a spare tag, bound to no asset
# Room 7A's own gateway hears a tag in the room *weaker* than Room 7B's gateway does
# (behind a cupboard, say): uncalibrated, the RSSI locator puts 7A's equipment in 7B.
IN_ROOM = [-77.0, -75.0, -73.0, -75.0, -76.0, -74.0]  # gw-7a, median -75
NEXT_DOOR = [-71.0, -70.0, -69.0, -70.0]  # gw-7b, median -70
CORRIDOR = [-86.0, -85.0, -84.0, -85.0]  # gw-corridor, median -85
LEVELS = {"gw-7a": IN_ROOM, "gw-7b": NEXT_DOOR, "gw-corridor": CORRIDOR}


async def hear(
    floki: Floki,
    reg: Register,
    seconds: int,
    levels: Mapping[str, Sequence[float]],
    *,
    tag: str = REFERENCE_TAG,
    receivers: Mapping[str, str] | None = None,
) -> None:
    """A gateway batch a second with the tag's readings, the clock moving with it."""
    extra = dict(receivers or {})
    identifiers = {name: extra.get(name) or reg.identifier(name) for name in levels}
    for second in range(seconds):
        floki.clock.advance(1)
        now = floki.clock.now()
        batch = [
            Observation(
                technology="ble",
                tag=tag,
                receiver=identifiers[name],
                rssi=values[second % len(values)],
                observed_at=now,
            )
            for name, values in levels.items()
        ]
        await floki.core.ingest.put("gateway-1", batch)
        await floki.core.ingest.join()
    await floki.settle()


async def start(
    floki: Floki, reg: Register, zone: str = "room_a", role: str = "engineer", **body: Any
) -> dict[str, Any]:
    payload = {"technology": "ble", "tag": REFERENCE_TAG, "zone_id": reg.zones[zone], **body}
    resp = await floki.client.post(
        f"{API}/calibrations", json=payload, headers=await floki.headers(role)
    )
    data = await resp.json()
    assert resp.status == 201, data
    assert isinstance(data, dict)
    return data


async def calibration(floki: Floki, cid: int) -> dict[str, Any]:
    data = await get_json(floki, f"/calibrations/{cid}")
    assert isinstance(data, dict)
    return data


async def post(
    floki: Floki, path: str, body: dict[str, Any] | None = None, role: str = "engineer"
) -> tuple[int, dict[str, Any]]:
    resp = await floki.client.post(API + path, json=body, headers=await floki.headers(role))
    return resp.status, await resp.json()


async def calibrated(floki: Floki, reg: Register, zone: str = "room_a") -> dict[str, Any]:
    """A complete one-minute session with the reference tag in ``zone``."""
    session = await start(floki, reg, zone)
    await hear(floki, reg, 60, LEVELS)
    return await calibration(floki, session["id"])


def by_name(reg: Register, items: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    names = {rx["id"]: name for name, rx in reg.receivers.items()}
    return {names[item["receiver_id"]]: item for item in items}


async def offset_of(floki: Floki, reg: Register, receiver: str) -> float:
    data = await get_json(floki, f"/receivers/{reg.receivers[receiver]['id']}")
    return float(data["rssi_offset"])


# --- the walkthrough ---------------------------------------------------------------


async def test_calibration_puts_equipment_back_in_its_own_room(floki: Floki, reg: Register) -> None:
    room_a_levels = {"gw-7a": -75.0, "gw-7b": -70.0, "gw-corridor": -85.0}
    await walk(floki, reg, "PUMP-001", 30, steady(**room_a_levels))
    assert (await location(floki, reg, "PUMP-001"))["zone"]["name"] == "Room 7B"

    # The engineer types the tag as printed on its label; the gateway reports it its own way.
    session = await start(floki, reg, tag="c0-ff-ee-00-00-99")
    assert session["tag"] == REFERENCE_TAG
    assert session["status"] == "collecting"
    assert session["seconds_left"] == 60
    assert session["asset_id"] is None

    await hear(floki, reg, 30, LEVELS)
    halfway = await calibration(floki, session["id"])
    assert halfway["status"] == "collecting"
    assert halfway["seconds_left"] == 30
    assert halfway["proposal"] is None

    await hear(floki, reg, 30, LEVELS)
    done = await calibration(floki, session["id"])
    assert done["status"] == "complete"
    assert done["message"] == "proposal ready: 2 offsets to change"
    proposal = by_name(reg, done["proposal"]["offsets"])
    assert proposal["gw-7a"]["proposed_offset"] == 10.0  # -75 + 10 = the -65 dBm target
    assert proposal["gw-7b"]["proposed_offset"] == -2.0  # -70 - 2 = 7 dB under gw-7a
    assert "lowered by 2.0 dB" in proposal["gw-7b"]["reason"]
    assert proposal["gw-corridor"]["proposed_offset"] == 0.0
    assert proposal["gw-corridor"]["reason"].endswith("unchanged")

    status, applied = await post(floki, f"/calibrations/{session['id']}/apply")
    assert status == 200, applied
    assert applied["status"] == "applied"
    assert applied["applied_by"] == "test-engineer"
    assert await offset_of(floki, reg, "gw-7a") == 10.0
    assert await offset_of(floki, reg, "gw-7b") == -2.0
    assert await offset_of(floki, reg, "gw-corridor") == 0.0

    # The same readings now put the pump where it is ...
    await walk(floki, reg, "PUMP-001", 60, steady(**room_a_levels))
    assert (await location(floki, reg, "PUMP-001"))["zone"]["name"] == "Room 7A"
    # ... and a pump first seen there is placed right at once.
    await walk(floki, reg, "PUMP-002", 3, steady(**room_a_levels))
    assert (await location(floki, reg, "PUMP-002"))["zone"]["name"] == "Room 7A"


async def test_readings_are_summarised_per_receiver(floki: Floki, reg: Register) -> None:
    session = await start(floki, reg)
    # Other tags heard meanwhile are no part of it; an unregistered gateway is reported.
    await walk(floki, reg, "PUMP-001", 5, steady(**{"gw-7a": -40.0}))
    await hear(
        floki,
        reg,
        40,
        {**LEVELS, "gw-new": [-80.0]},
        receivers={"gw-new": "AA:BB:CC:00:00:99"},
    )
    summary = await calibration(floki, session["id"])
    assert summary["seconds_left"] == 15
    receivers = summary["receivers"]
    assert [r["name"] for r in receivers] == ["gw-7b", "gw-7a", "gw-corridor"]  # loudest first
    room_a = by_name(reg, receivers)["gw-7a"]
    assert room_a == {
        "receiver_id": reg.receivers["gw-7a"]["id"],
        "name": "gw-7a",
        "zone_id": reg.zones["room_a"],
        "zone": "Room 7A",
        "in_reference_zone": True,
        "count": 40,
        "median_rssi": -75.0,
        "mean_rssi": room_a["mean_rssi"],
        "min_rssi": -77.0,
        "max_rssi": -73.0,
        "spread_db": room_a["spread_db"],
        "current_offset": 0.0,
    }
    assert -75.5 < room_a["mean_rssi"] < -74.5
    assert 1.0 < room_a["spread_db"] < 2.0
    assert by_name(reg, receivers)["gw-7b"]["in_reference_zone"] is False
    assert summary["unregistered_receivers"] == {"AA:BB:CC:00:00:99": 40}


async def test_a_bound_reference_tag_is_fine(floki: Floki, reg: Register) -> None:
    session = await start(floki, reg, tag=reg.tags["SCAN-001"]["ble"])
    assert session["asset_id"] == reg.assets["SCAN-001"]
    await hear(floki, reg, 60, LEVELS, tag=reg.tags["SCAN-001"]["ble"])
    done = await calibration(floki, session["id"])
    assert by_name(reg, done["proposal"]["offsets"])["gw-7a"]["proposed_offset"] == 10.0


async def test_applied_offsets_are_audited_with_who_did_it(floki: Floki, reg: Register) -> None:
    done = await calibrated(floki, reg)
    status, _ = await post(floki, f"/calibrations/{done['id']}/apply", role="admin")
    assert status == 200
    audit = await get_json(floki, "/audit", role="admin", entity="receivers", action="update")
    changes = {
        e["entity_id"]: (e["actor"], e["before"]["rssi_offset"], e["after"]["rssi_offset"])
        for e in audit["items"]
    }
    assert changes == {
        str(reg.receivers["gw-7a"]["id"]): ("test-admin", 0.0, 10.0),
        str(reg.receivers["gw-7b"]["id"]): ("test-admin", 0.0, -2.0),
    }
    session_entry = await get_json(floki, "/audit", role="admin", entity="calibrations")
    [entry] = session_entry["items"]
    assert entry["action"] == "apply"
    assert entry["actor"] == "test-admin"
    assert entry["entity_id"] == str(done["id"])


async def test_apply_only_the_chosen_receivers(floki: Floki, reg: Register) -> None:
    done = await calibrated(floki, reg)
    gw_7a = reg.receivers["gw-7a"]["id"]
    status, applied = await post(floki, f"/calibrations/{done['id']}/apply", {"receivers": [gw_7a]})
    assert status == 200, applied
    assert applied["applied_receivers"] == [gw_7a]
    assert await offset_of(floki, reg, "gw-7a") == 10.0
    assert await offset_of(floki, reg, "gw-7b") == 0.0

    status, again = await post(floki, f"/calibrations/{done['id']}/apply")
    assert status == 409
    assert "applied" in again["error"]


async def test_apply_refuses_a_receiver_without_a_proposal(floki: Floki, reg: Register) -> None:
    done = await calibrated(floki, reg)
    status, body = await post(
        floki,
        f"/calibrations/{done['id']}/apply",
        {"receivers": [reg.receivers["gw-7d"]["id"]]},
    )
    assert status == 422
    assert f"receiver {reg.receivers['gw-7d']['id']}" in body["error"]
    assert await offset_of(floki, reg, "gw-7a") == 0.0


# --- when the data does not allow a proposal ----------------------------------------


async def test_no_receiver_in_the_reference_zone_heard_the_tag(floki: Floki, reg: Register) -> None:
    session = await start(floki, reg, zone="room_d")
    await hear(floki, reg, 60, LEVELS)
    done = await calibration(floki, session["id"])
    assert done["status"] == "complete"
    assert done["message"] == "no receiver in Room 2D heard the tag"
    assert done["proposal"] is None
    assert len(done["receivers"]) == 3  # what was heard is still shown
    status, body = await post(floki, f"/calibrations/{session['id']}/apply")
    assert status == 409
    assert "no receiver in Room 2D heard the tag" in body["error"]


async def test_receivers_that_heard_too_little_get_no_proposal(floki: Floki, reg: Register) -> None:
    session = await start(floki, reg)
    await hear(floki, reg, 5, LEVELS)  # the corridor gateway hears only these ...
    await hear(floki, reg, 55, {"gw-7a": IN_ROOM, "gw-7b": NEXT_DOOR})  # ... then not
    done = await calibration(floki, session["id"])
    corridor = by_name(reg, done["proposal"]["offsets"])["gw-corridor"]
    assert corridor["proposed_offset"] is None
    assert corridor["reason"] == "heard the tag only 5 times (at least 10 needed); no proposal"
    assert by_name(reg, done["proposal"]["offsets"])["gw-7a"]["proposed_offset"] == 10.0


async def test_too_few_readings_in_the_room_means_no_proposal(floki: Floki, reg: Register) -> None:
    session = await start(floki, reg)
    await hear(floki, reg, 4, LEVELS)
    floki.advance(60)
    done = await calibration(floki, session["id"])
    assert done["proposal"] is None
    assert done["message"].startswith("receivers in Room 7A heard the tag too rarely (gw-7a 4;")


async def test_a_far_too_quiet_receiver_is_clamped_and_flagged(floki: Floki, reg: Register) -> None:
    session = await start(floki, reg)
    await hear(floki, reg, 60, {"gw-7a": [-95.0], "gw-7b": [-70.0]})
    done = await calibration(floki, session["id"])
    proposal = by_name(reg, done["proposal"]["offsets"])
    assert proposal["gw-7a"]["proposed_offset"] == 20.0
    assert proposal["gw-7a"]["clamped"] is True
    assert "clamped to +20.0 dB" in proposal["gw-7a"]["reason"]
    # Measured against what the room's gateway will really read (-75), not the target.
    assert proposal["gw-7b"]["proposed_offset"] == -12.0


# --- starting, cancelling, listing --------------------------------------------------


async def test_start_is_validated(floki: Floki, reg: Register) -> None:
    async def refused(body: dict[str, Any]) -> tuple[int, str]:
        payload = {"technology": "ble", "tag": REFERENCE_TAG, "zone_id": reg.zones["room_a"]}
        status, data = await post(floki, "/calibrations", payload | body)
        return status, data["error"]

    status, reason = await refused({"zone_id": 9999})
    assert (status, reason) == (422, "zone_id: zone 9999 does not exist")
    status, reason = await refused({"seconds": 5})
    assert status == 422 and "seconds" in reason
    status, reason = await refused({"seconds": 3600})
    assert status == 422 and "seconds" in reason
    status, reason = await refused({"zone_id": reg.zones["ward"]})  # only a Wi-Fi AP there
    assert status == 422
    assert reason == "zone_id: Ward 7 has no ble receiver; the reference zone must have one"

    first = await start(floki, reg)
    status, reason = await refused({"zone_id": reg.zones["room_b"]})
    assert status == 409
    assert reason.startswith(f"calibration {first['id']} is already collecting readings of")
    status, data = await post(floki, f"/calibrations/{first['id']}/apply")
    assert status == 409
    assert data["error"] == f"calibration {first['id']} is still collecting (60 s left)"
    status, data = await post(floki, "/calibrations/9999/apply")
    assert status == 404


async def test_viewers_read_but_cannot_start_or_apply(floki: Floki, reg: Register) -> None:
    payload = {"technology": "ble", "tag": REFERENCE_TAG, "zone_id": reg.zones["room_a"]}
    for role in ("viewer", "staff"):
        status, data = await post(floki, "/calibrations", payload, role=role)
        assert status == 403, role
        assert data["error"] == "this needs the engineer role"
    done = await calibrated(floki, reg)
    assert (await get_json(floki, f"/calibrations/{done['id']}", role="viewer"))["id"] == done["id"]
    for action in ("apply", "cancel"):
        status, _ = await post(floki, f"/calibrations/{done['id']}/{action}", role="viewer")
        assert status == 403
    assert await offset_of(floki, reg, "gw-7a") == 0.0


async def test_cancel_stops_collecting(floki: Floki, reg: Register) -> None:
    session = await start(floki, reg)
    await hear(floki, reg, 20, LEVELS)
    status, cancelled = await post(floki, f"/calibrations/{session['id']}/cancel")
    assert status == 200
    assert cancelled["status"] == "cancelled"
    await hear(floki, reg, 50, LEVELS)
    after = await calibration(floki, session["id"])
    assert after["status"] == "cancelled"
    assert by_name(reg, after["receivers"])["gw-7a"]["count"] == 20
    status, body = await post(floki, f"/calibrations/{session['id']}/apply")
    assert status == 409
    assert body["error"] == f"calibration {session['id']} is cancelled; nothing to apply"
    assert (await start(floki, reg))["status"] == "collecting"  # the tag is free again


async def test_completion_is_announced_once(floki: Floki, reg: Register) -> None:
    seen: list[DomainEvent] = []
    floki.core.events.add_observer("test", lambda batch: seen.extend(batch))
    session = await start(floki, reg)
    await hear(floki, reg, 65, LEVELS)  # completes on the hot path, at the 60 s mark
    await calibration(floki, session["id"])

    # The announcement goes out from the ingest round.
    await floki.eventually(
        lambda: any(e.type == "calibration.completed" for e in seen), "the announcement"
    )
    completed = [e for e in seen if e.type == "calibration.completed"]
    assert len(completed) == 1
    event = completed[0]
    assert event.entity_id == session["id"]
    assert event.at == dt.datetime.fromisoformat(session["ends_at"])
    assert event.data["zone"] == "Room 7A"
    assert event.data["offsets_to_change"] == 2
    assert event.data["message"] == "proposal ready: 2 offsets to change"


async def test_completes_when_asked_even_if_the_tag_went_silent(
    floki: Floki, reg: Register
) -> None:
    session = await start(floki, reg)
    await hear(floki, reg, 30, LEVELS)
    floki.advance(30)
    done = await calibration(floki, session["id"])
    assert done["status"] == "complete"
    assert by_name(reg, done["receivers"])["gw-7a"]["count"] == 30
    assert done["seconds_left"] == 0


async def test_recent_sessions_are_listed_newest_first(floki: Floki, reg: Register) -> None:
    ids = []
    for _ in range(52):
        ids.append((await start(floki, reg))["id"])
        status, _ = await post(floki, f"/calibrations/{ids[-1]}/cancel")
        assert status == 200
    listing = await get_json(floki, "/calibrations")
    assert [s["id"] for s in listing["items"]] == ids[::-1][:50]
    resp = await floki.client.get(
        f"{API}/calibrations/{ids[0]}", headers=await floki.headers("viewer")
    )
    assert resp.status == 404


async def test_apply_refuses_when_an_offset_changed_meanwhile(floki: Floki, reg: Register) -> None:
    done = await calibrated(floki, reg)
    gw_7b = reg.receivers["gw-7b"]["id"]
    resp = await floki.client.patch(
        f"{API}/receivers/{gw_7b}", json={"rssi_offset": 3.0}, headers=await floki.headers()
    )
    assert resp.status == 200
    status, body = await post(floki, f"/calibrations/{done['id']}/apply")
    assert status == 409
    assert body["error"] == (
        f"receiver gw-7b's offset changed since calibration {done['id']} completed "
        "(+0.0 dB then, +3.0 dB now): run the calibration again"
    )
    assert await offset_of(floki, reg, "gw-7a") == 0.0  # nothing written
    assert await offset_of(floki, reg, "gw-7b") == 3.0
    status, _ = await post(
        floki, f"/calibrations/{done['id']}/apply", {"receivers": [reg.receivers["gw-7a"]["id"]]}
    )
    assert status == 200
    assert await offset_of(floki, reg, "gw-7a") == 10.0
