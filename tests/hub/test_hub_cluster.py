"""The hub's JetStream as a three-node cluster with a replicated (R3) stream: one node
killed while a site publishes and the hub consumes loses nothing and doubles nothing.

Real processes: three nats-server nodes (tests/fixtures/nats.py, NatsCluster), PostgreSQL,
a site appliance with [federation] and a hub appliance with [hub] replicas = 3."""

from __future__ import annotations

from pathlib import Path

from floki_core.clock import ManualClock
from tests.fixtures.nats import STREAM, NatsCluster, nats_cluster
from tests.hub.conftest import (
    Hubs,
    Sites,
    all_applied,
    applied_through,
    hub_get,
    site_figures,
)
from tests.hub.test_hub_consumer import located, more_moves, pumps_moved, sent

__all__ = ["nats_cluster"]

# A leader change may hold back what the failed connection had in hand until the
# consumer's acknowledgement wait (10 s) has passed.
WAIT_SECONDS = 20.0


async def test_one_node_killed_while_the_site_publishes_and_the_hub_consumes_loses_nothing(
    nats_cluster: NatsCluster,
    sites: Sites,
    tmp_path: Path,
    floki_clock: ManualClock,
    postgres_migrated_url: str,
) -> None:
    hubs = Hubs(tmp_path, floki_clock, postgres_migrated_url, nats_cluster)
    async with (
        hubs.run(replicas=3) as hub,
        sites.run("north", nats_cluster.federation("north")) as north,
    ):
        hospital = await pumps_moved(north, ["bay7a", "bay7b"])
        first = await sent(north)
        await applied_through(hub, "north", first, WAIT_SECONDS)
        async with nats_cluster.admin() as js:
            info = await js.stream_info(STREAM)
        assert info.config.num_replicas == 3
        leader = info.cluster.leader if info.cluster else None
        victim = next(n for n in nats_cluster.nodes if n.server_name == leader)
        # Moves under way while the stream's leader dies.
        await more_moves(north, hospital, ["bay7a"])
        victim.kill()
        await more_moves(north, hospital, ["library", "bay7b"])
        last = await sent(north)
        await all_applied(hub, "north", last, WAIT_SECONDS)
        figures = await site_figures(hub, "north")
        status, body = await hub_get(hub, "assets")
    assert figures is not None
    assert figures["events_applied"] == last and figures["history_events"] == last
    assert status == 200 and located(body) == {"E1001": "Bay 7B", "E1002": "Bay 7B"}
    async with nats_cluster.admin() as js:
        stored = (await js.stream_info(STREAM)).state
    # Each event stored once (the ids de-duplicated through the leader change); the
    # order may differ there, which the hub does not rely on.
    assert stored.messages == last
