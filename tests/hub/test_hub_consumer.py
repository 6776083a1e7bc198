"""The trust hub reads every site's events from JetStream into PostgreSQL, each once in
effect, and serves where every asset is now (docs/hub.md).

Real processes: nats-server (TLS, per-site users, JetStream) and PostgreSQL from
tests/fixtures; a site appliance with [federation] and a hub appliance with [hub]."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import text

from floki_core.testing import Floki
from tests.core.workflow.workflow_builder import Hospital, add_asset, build_hospital, scan
from tests.hub.conftest import (
    STREAM,
    Hubs,
    NatsHub,
    Sites,
    all_applied,
    applied_through,
    committed_seq,
    drained,
    hub_get,
    site_figures,
)


async def pumps_moved(floki: Floki, zones: list[str]) -> Hospital:
    """The register and two pumps scanned from zone to zone."""
    hospital = await build_hospital(floki)
    await add_asset(floki, hospital, "E1001", "Infusion pump")
    await add_asset(floki, hospital, "E1002", "Bladder scanner")
    await more_moves(floki, hospital, zones)
    return hospital


async def more_moves(floki: Floki, hospital: Hospital, zones: list[str]) -> None:
    for zone in zones:
        for number in hospital.assets:
            await scan(floki, hospital, number, zone)
        await floki.settle()
        await floki.core.locations.flush()
        floki.advance(60)


async def sent(site: Floki) -> int:
    await drained(site)
    last = await committed_seq(site)
    assert last is not None
    return last


def located(body: dict[str, object]) -> dict[str, object]:
    return {a["asset_number"]: a["zone"] for a in body["assets"]}  # type: ignore[attr-defined,index]


async def test_a_move_at_a_site_shows_in_the_hub_s_trust_wide_view(
    nats_hub: NatsHub, sites: Sites, hubs: Hubs
) -> None:
    async with hubs.run() as hub, sites.run("north", nats_hub.federation("north")) as north:
        await pumps_moved(north, ["bay7a", "bay7b"])
        last = await sent(north)
        await applied_through(hub, "north", last)
        status, everything = await hub_get(hub, "assets")
        by_site = await hub_get(hub, "assets?site=north")
        by_text = await hub_get(hub, "assets?q=bladder")
        by_number = await hub_get(hub, "assets?site=north&q=e1001")
        unknown_site = await hub_get(hub, "assets?site=south")
        bad_site = await hub_get(hub, "assets?site=north%20wing")
        bad_limit = await hub_get(hub, "assets?limit=0")
        status_sites, body_sites = await hub_get(hub, "sites")
        anonymous = await hub.client.get("/api/v1/hub/assets")
        not_a_hub = await hub_get(north, "assets")
    assert status == 200, everything
    assert located(everything) == {"E1001": "Bay 7B", "E1002": "Bay 7B"}
    pump = next(a for a in everything["assets"] if a["asset_number"] == "E1001")
    assert pump["site"] == "north" and pump["description"] == "Infusion pump"
    assert pump["located_at"].startswith("2026-01-05T")
    assert by_site[0] == 200 and located(by_site[1]) == located(everything)
    assert by_text[0] == 200 and located(by_text[1]) == {"E1002": "Bay 7B"}
    assert by_number[0] == 200 and located(by_number[1]) == {"E1001": "Bay 7B"}
    assert unknown_site[0] == 404
    assert unknown_site[1]["error"] == "no events from site 'south' have reached this hub"
    assert bad_site[0] == 400 and "query parameter site" in bad_site[1]["error"]
    assert bad_limit[0] == 400
    assert bad_limit[1]["error"] == "query parameter limit must be between 1 and 500"
    assert anonymous.status == 401
    assert not_a_hub[0] == 404 and "not a trust hub" in not_a_hub[1]["error"]
    assert status_sites == 200
    [figures] = body_sites["sites"]
    assert figures["site"] == "north"
    assert figures["applied_seq"] == last and figures["events_applied"] == last
    assert figures["history_events"] == last and figures["duplicates_skipped"] == 0
    assert figures["lag_seconds"] >= 0
    assert body_sites["consumer"]["connected"] is True


async def test_events_delivered_again_are_applied_once(
    nats_hub: NatsHub, sites: Sites, hubs: Hubs
) -> None:
    await nats_hub.make_stream()
    async with sites.run("north", nats_hub.federation("north")) as north:
        await pumps_moved(north, ["bay7a", "bay7b"])
        last = await sent(north)
    async with hubs.run() as hub:
        await applied_through(hub, "north", last)
    messages = await nats_hub.read_stream()
    async with nats_hub.admin() as js:
        # The hub's place in the stream lost: it reads everything again from the start.
        await js.delete_consumer(STREAM, "floki-hub")
        # And a site sending what it had sent before, after the stream's duplicate window.
        for message in messages:
            await js.publish(
                message.subject,
                message.data,
                headers={"Nats-Msg-Id": message.headers["Nats-Msg-Id"] + ":again"},
            )
    async with hubs.run() as hub:
        await hub.eventually(
            lambda: hub.core.hub is not None and hub.core.hub.status.skipped_total == 2 * last,
            "every event delivered again to be recognised",
            timeout=10,
        )
        figures = await site_figures(hub, "north")
        status, body = await hub_get(hub, "assets")
    assert figures is not None
    assert figures["events_applied"] == last and figures["history_events"] == last
    assert figures["duplicates_skipped"] == 2 * last
    assert status == 200 and located(body) == {"E1001": "Bay 7B", "E1002": "Bay 7B"}


async def test_a_hub_restarted_mid_stream_resumes_without_loss_or_duplicates(
    nats_hub: NatsHub, sites: Sites, hubs: Hubs
) -> None:
    await nats_hub.make_stream()
    async with sites.run("north", nats_hub.federation("north")) as north:
        hospital = await pumps_moved(north, ["bay7a", "bay7b", "bay7a"])
        first = await sent(north)
        # Small batches, stopped as soon as some are applied: mid-stream.
        async with hubs.run(batch_events=2) as hub:
            await applied_through(hub, "north", 2)
        await more_moves(north, hospital, ["bay7b", "library"])
        last = await sent(north)
        assert last > first
        async with hubs.run() as hub:
            await all_applied(hub, "north", last)
            figures = await site_figures(hub, "north")
            status, body = await hub_get(hub, "assets")
    assert figures is not None
    assert figures["events_applied"] == last and figures["history_events"] == last
    assert status == 200
    assert located(body) == {"E1001": "Equipment Library", "E1002": "Equipment Library"}


async def test_history_older_than_its_days_is_forgotten_but_locations_stay(
    nats_hub: NatsHub, sites: Sites, hubs: Hubs
) -> None:
    async with (
        hubs.run(history_days=2) as hub,
        sites.run("north", nats_hub.federation("north")) as north,
    ):
        await pumps_moved(north, ["bay7a"])
        last = await sent(north)
        await applied_through(hub, "north", last)
        assert hub.core.hub is not None
        hub.advance(dt.timedelta(days=1).total_seconds())
        kept = await hub.core.hub.sweep()
        hub.advance(dt.timedelta(days=2).total_seconds())
        forgotten = await hub.core.hub.sweep()
        figures = await site_figures(hub, "north")
        status, body = await hub_get(hub, "assets")
    assert kept == 0 and forgotten == last
    assert figures is not None and figures["history_events"] == 0
    assert figures["events_applied"] == last
    assert status == 200 and located(body) == {"E1001": "Bay 7A", "E1002": "Bay 7A"}


async def test_a_message_that_is_not_a_site_event_is_refused_and_the_rest_applied(
    nats_hub: NatsHub, sites: Sites, hubs: Hubs
) -> None:
    await nats_hub.make_stream()
    async with nats_hub.admin() as js:
        forged = {
            "format": 1, "site": "south", "seq": 1, "type": "site.created",
            "occurred_at": "2026-01-05T09:00:00Z", "entity": "sites", "entity_id": 1, "data": {},
        }  # fmt: skip
        # A body naming another site than its subject's.
        await js.publish("floki.site.north.events.site.created", json.dumps(forged).encode())
    async with hubs.run() as hub, sites.run("north", nats_hub.federation("north")) as north:
        await pumps_moved(north, ["bay7a"])
        last = await sent(north)
        await applied_through(hub, "north", last)
        status, body = await hub_get(hub, "sites")
    assert status == 200
    assert [s["site"] for s in body["sites"]] == ["north"]
    assert body["consumer"]["refused_total"] == 1


def history_months(hub: Floki) -> list[str]:
    """The month partitions of the hub's history, by name."""
    with hub.core.db.engine.connect() as conn:
        names = conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'hub_history'")
        ).scalars()
        return sorted(names)


async def test_history_is_kept_by_month_and_whole_months_are_dropped_past_its_days(
    nats_hub: NatsHub, sites: Sites, hubs: Hubs
) -> None:
    async with (
        hubs.run(history_days=30) as hub,
        sites.run("north", nats_hub.federation("north")) as north,
    ):
        hospital = await pumps_moved(north, ["bay7a"])
        january = await sent(north)
        await applied_through(hub, "north", january)
        months_before = history_months(hub)
        north.advance(dt.timedelta(days=60).total_seconds())  # now March
        assert hub.core.hub is not None
        forgotten = await hub.core.hub.sweep()
        await more_moves(north, hospital, ["bay7b"])
        march = await sent(north)
        await applied_through(hub, "north", march)
        months_after = history_months(hub)
        figures = await site_figures(hub, "north")
        status, body = await hub_get(hub, "assets")
    assert months_before == ["hub_events_y2026m01"]
    assert forgotten == january
    assert months_after == ["hub_events_y2026m03"]
    assert figures is not None and figures["history_events"] == march - january
    assert status == 200 and located(body) == {"E1001": "Bay 7B", "E1002": "Bay 7B"}


async def test_a_site_s_events_stored_out_of_order_are_all_applied_and_the_newest_move_shown(
    nats_hub: NatsHub, sites: Sites, hubs: Hubs
) -> None:
    """As after a stream leader change mid-round: a later message stored, the earlier
    one refused and sent again after it."""
    await nats_hub.make_stream()
    async with sites.run("north", nats_hub.federation("north")) as north:
        await pumps_moved(north, ["bay7a", "bay7b"])
        last = await sent(north)
    messages = await nats_hub.read_stream()
    bodies = [json.loads(m.data) for m in messages]
    moves = [i for i, b in enumerate(bodies) if b["type"] == "location.changed"]
    later = moves[-1]  # an asset's last move, and its move before
    asset = bodies[later]["data"]["asset_id"]
    earlier = max(i for i in moves if bodies[i]["data"]["asset_id"] == asset and i != later)
    order = list(range(len(messages)))
    order[earlier], order[later] = later, earlier
    async with nats_hub.admin() as js:
        await js.purge_stream(STREAM)
        for i in order:
            # A new id: the purged stream still remembers the old ones.
            again = {"Nats-Msg-Id": messages[i].headers["Nats-Msg-Id"] + ":r"}
            await js.publish(messages[i].subject, messages[i].data, headers=again)
    async with hubs.run() as hub:
        await applied_through(hub, "north", last)
        await hub.eventually(
            lambda: hub.core.hub is not None and hub.core.hub.status.applied_total == last,
            "every event to be applied",
            timeout=10,
        )
        figures = await site_figures(hub, "north")
        status, body = await hub_get(hub, "assets")
    assert figures is not None
    assert figures["events_applied"] == last and figures["history_events"] == last
    assert figures["duplicates_skipped"] == 0
    assert status == 200 and located(body) == {"E1001": "Bay 7B", "E1002": "Bay 7B"}
