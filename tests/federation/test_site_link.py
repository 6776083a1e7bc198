"""A site appliance sends what it commits to the trust hub's JetStream stream: in order,
each event once, through outages and restarts, and only under its own site's name.

Real nats-server processes (TLS, per-site users, JetStream) from tests/fixtures/nats.py."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from floki_core.storage import outbox
from floki_core.testing import Floki
from tests.core.workflow.workflow_builder import (
    Hospital,
    add_asset,
    build_hospital,
    ok,
    scan,
    set_state,
)
from tests.federation.conftest import NatsHub, Sites, committed_seq, drained, link_status


def payloads(messages: list[Any]) -> list[dict[str, Any]]:
    return [json.loads(m.data) for m in messages]


async def ward_activity(floki: Floki) -> Hospital:
    """A small ward's morning: the register, two pumps scanned from bay to bay, a pump
    marked dirty."""
    hospital = await build_hospital(floki)
    for number in ("E1001", "E1002"):
        await add_asset(floki, hospital, number)
    await moves(floki, hospital, ["bay7a", "bay7b", "bay7a"])
    status, body = await set_state(floki, hospital.assets["E1001"], "dirty")
    assert status == 200, body
    return hospital


async def moves(floki: Floki, hospital: Hospital, zones: list[str]) -> None:
    for zone in zones:
        for number in hospital.assets:
            await scan(floki, hospital, number, zone)
        await floki.settle()
        await floki.core.locations.flush()
        floki.advance(60)


def assert_exact(messages: list[Any], site: str, last_seq: int) -> None:
    """Every event 1..last_seq once, in sequence order, each with its message id."""
    ids = [m.headers["Nats-Msg-Id"] for m in messages]
    assert ids == [f"{site}:{n}" for n in range(1, last_seq + 1)]
    seqs = [p["seq"] for p in payloads(messages)]
    assert seqs == list(range(1, last_seq + 1))


async def test_committed_events_reach_the_hub_in_order_under_the_site_s_subjects(
    nats_hub: NatsHub, sites: Sites
) -> None:
    await nats_hub.make_stream()
    async with sites.run("north", nats_hub.federation("north")) as floki:
        hospital = await ward_activity(floki)
        await drained(floki)
        last = await committed_seq(floki)
        status = await link_status(floki)
    assert last is not None
    messages = await nats_hub.read_stream()
    assert_exact(messages, "north", last)
    assert status["connected"] is True
    assert status["published_total"] == last
    assert status["backlog_events"] == 0
    for message, body in zip(messages, payloads(messages), strict=True):
        assert message.subject == f"floki.site.north.events.{body['type']}"
        assert body["site"] == "north" and body["format"] == 1
        assert body["occurred_at"].startswith("2026-01-05T")
    bodies = payloads(messages)
    types = [b["type"] for b in bodies]
    assert types[0] == "site.created"
    assert types.count("asset.created") == 2
    state = next(b for b in bodies if b["type"] == "asset.state_changed")
    assert state["entity_id"] == hospital.assets["E1001"]
    assert state["data"]["to_state"] == "dirty"
    zones = [b["data"]["zone"] for b in bodies if b["type"] == "location.changed"]
    assert zones == ["Bay 7A"] * 2 + ["Bay 7B"] * 2 + ["Bay 7A"] * 2


async def test_a_hub_outage_delays_events_and_loses_none(nats_hub: NatsHub, sites: Sites) -> None:
    await nats_hub.make_stream()
    async with sites.run("north", nats_hub.federation("north")) as floki:
        hospital = await ward_activity(floki)
        await drained(floki)
        nats_hub.stop()
        # The ward carries on while the WAN is down: moves and a clean are committed.
        await moves(floki, hospital, ["bay7b", "bay7a", "bay7b"])
        status, body = await set_state(floki, hospital.assets["E1001"], "available")
        assert status == 200, body
        waiting = await link_status(floki)
        await floki.eventually(
            lambda: (
                floki.core.federation is not None and not floki.core.federation.status.connected
            ),
            "the link to be seen down",
        )
        down = await link_status(floki)
        nats_hub.start()
        await drained(floki)
        last = await committed_seq(floki)
    assert last is not None
    assert waiting["backlog_events"] > 0
    assert down["connected"] is False and down["last_error"]
    messages = await nats_hub.read_stream()
    assert_exact(messages, "north", last)
    per_asset: dict[int, list[int]] = defaultdict(list)
    for body in payloads(messages):
        if body["type"] == "location.changed":
            per_asset[body["entity_id"]].append(body["seq"])
    assert all(seqs == sorted(seqs) and len(seqs) == 6 for seqs in per_asset.values())


async def test_a_site_restarted_mid_backlog_sends_each_event_exactly_once(
    nats_hub: NatsHub, sites: Sites
) -> None:
    await nats_hub.make_stream()
    async with sites.run("north", nats_hub.federation("north")) as floki:
        hospital = await ward_activity(floki)
        await drained(floki)
        messages = await nats_hub.read_stream()
        sent = [
            {"seq": body["seq"], "subject": m.subject, "payload": m.data, "coalesce_key": None}
            for m, body in zip(messages, payloads(messages), strict=True)
        ]
        nats_hub.stop()
        await moves(floki, hospital, ["bay7b"])
        assert (await floki.core.read(outbox.backlog)).rows == 2  # the two pumps' moves
    # Stopped with a backlog, and as if it had crashed between the hub's acknowledgement
    # and deleting the rows: the already-sent events are back in the outbox.
    nats_hub.start()
    async with sites.run("north", nats_hub.federation("north")) as floki:
        await floki.core.store.write(_put_back, sent)
        link = floki.core.federation
        assert link is not None
        link.on_events(())
        await drained(floki)
        last = await committed_seq(floki)
        status = link.status
    assert last is not None
    assert_exact(await nats_hub.read_stream(), "north", last)
    assert status.duplicates_total == len(sent)
    assert status.published_total == last - len(sent)


async def test_a_site_using_another_site_s_name_is_refused_and_keeps_its_backlog(
    nats_hub: NatsHub, sites: Sites
) -> None:
    await nats_hub.make_stream()
    # South's appliance signing in as north: the hub lets north publish only north's subjects.
    async with sites.run("south", nats_hub.federation("south", as_user="north")) as floki:
        await ok(floki, "POST", "/sites", json={"name": "South Hospital"})

        async def refused() -> bool:
            error = str((await link_status(floki))["last_error"])
            return "permissions violation for publish" in error.lower()

        await floki.eventually(refused, "the hub's refusal to be reported")
        status = await link_status(floki)
    assert "floki.site.south.events.site.created" in status["last_error"]
    assert status["backlog_events"] == 1 and status["published_total"] == 0
    assert await nats_hub.read_stream() == []


async def test_without_federation_nothing_is_kept_for_a_hub(sites: Sites) -> None:
    async with sites.run("alone", None) as floki:
        await ok(floki, "POST", "/sites", json={"name": "Cottage Hospital"})
        resp = await floki.client.get("/api/v1/federation", headers=await floki.headers("engineer"))
        body = await resp.json()
        kept = await committed_seq(floki)
        metrics = await (
            await floki.client.get("/metrics", headers=await floki.headers("viewer"))
        ).text()
    assert resp.status == 200 and body["enabled"] is False
    assert kept is None
    assert "floki_federation_" not in metrics


def _put_back(session: Any, rows: list[dict[str, Any]]) -> None:
    from floki_core.storage.outbox import OutboxRow

    if rows:
        session.execute(OutboxRow.__table__.insert(), rows)


async def test_two_sites_share_the_hub_s_stream_each_under_its_own_name(
    nats_hub: NatsHub, sites: Sites
) -> None:
    await nats_hub.make_stream()
    async with (
        sites.run("north", nats_hub.federation("north")) as north,
        sites.run("south", nats_hub.federation("south")) as south,
    ):
        await ok(north, "POST", "/sites", json={"name": "North General"})
        await ok(south, "POST", "/sites", json={"name": "South Infirmary"})
        await ok(north, "POST", "/sites", json={"name": "North Clinic"})
        await drained(north)
        await drained(south)
    by_site: dict[str, list[tuple[str, int, str]]] = defaultdict(list)
    for message in await nats_hub.read_stream():
        body = json.loads(message.data)
        by_site[message.subject.split(".")[2]].append(
            (message.headers["Nats-Msg-Id"], body["seq"], body["data"]["name"])
        )
    assert by_site == {
        "north": [("north:1", 1, "North General"), ("north:2", 2, "North Clinic")],
        "south": [("south:1", 1, "South Infirmary")],
    }
