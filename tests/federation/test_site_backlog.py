"""What a site keeps for the hub: only what committed, and within its bound while the
hub is out of reach, dropping only location moves a later one supersedes."""

from __future__ import annotations

import json

from floki_core.storage import outbox
from floki_core.testing import Floki
from tests.core.workflow.workflow_builder import (
    Hospital,
    add_asset,
    build_hospital,
    scan,
    set_state,
)
from tests.federation.conftest import NatsHub, Sites, committed_seq, drained, link_status


async def pumps_on_the_ward(floki: Floki) -> Hospital:
    hospital = await build_hospital(floki)
    for number in ("E1001", "E1002"):
        await add_asset(floki, hospital, number)
    return hospital


async def moves(floki: Floki, hospital: Hospital, rounds: int) -> None:
    for n in range(rounds):
        for number in hospital.assets:
            await scan(floki, hospital, number, "bay7a" if n % 2 == 0 else "bay7b")
        await floki.settle()
        await floki.core.locations.flush()
        floki.advance(60)


async def test_a_refused_change_keeps_nothing_for_the_hub(nats_hub: NatsHub, sites: Sites) -> None:
    nats_hub.stop()  # the hub's state plays no part here
    async with sites.run("north", nats_hub.federation("north")) as floki:
        hospital = await pumps_on_the_ward(floki)
        status, body = await set_state(floki, hospital.assets["E1001"], "dirty")
        assert status == 200, body
        before = await committed_seq(floki)
        status, body = await set_state(floki, hospital.assets["E1001"], "in_use")
        after = await committed_seq(floki)
        waiting = (await link_status(floki))["backlog_events"]
    assert status == 409, body  # a dirty pump is cleaned before it is used
    assert before is not None and after == before
    assert waiting == before  # the hub was never reached: everything committed waits


async def test_past_its_bound_the_backlog_drops_superseded_moves_and_nothing_else(
    nats_hub: NatsHub, sites: Sites
) -> None:
    await nats_hub.make_stream()
    nats_hub.stop()
    settings = nats_hub.federation("north", max_backlog_events=100)
    async with sites.run("north", settings) as floki:
        hospital = await pumps_on_the_ward(floki)
        await moves(floki, hospital, 30)
        for to_state in ("dirty", "available"):
            status, body = await set_state(floki, hospital.assets["E1002"], to_state)
            assert status == 200, body
        await moves(floki, hospital, 20)
        committed = await committed_seq(floki)
        link = floki.core.federation
        assert link is not None
        await floki.eventually(lambda: link.status.coalesced_total > 0, "moves to be dropped")
        kept = await floki.core.read(outbox.pending, 1000)
        status_body = await link_status(floki)
        nats_hub.start()
        await drained(floki)
    assert committed is not None and committed > 100
    bodies = [json.loads(row.payload) for row in kept]
    assert len(bodies) <= 100
    assert status_body["coalesced_total"] == committed - len(bodies)
    assert status_body["backlog_events"] == len(bodies)
    assert status_body["over_bound"] is False
    # Every event that is not a move is still there, and each pump's newest move.
    assert sum(1 for b in bodies if b["type"] == "asset.state_changed") == 2
    assert sum(1 for b in bodies if b["type"] == "asset.created") == 2
    newest = {}
    for b in bodies:
        if b["type"] == "location.changed":
            newest[b["entity_id"]] = b["data"]["zone"]
    assert newest == {hospital.assets["E1001"]: "Bay 7B", hospital.assets["E1002"]: "Bay 7B"}
    # The hub then gets exactly what was kept, in order (gaps where moves were dropped).
    sent = [json.loads(m.data) for m in await nats_hub.read_stream()]
    assert [b["seq"] for b in sent] == [b["seq"] for b in bodies]
