"""What makes a sighting a replay: the same tag, receiver, time and RSSI *and* the same
content. Two sightings that differ only in what the tag reported (a battery reading, a
GPS fix) are both kept; a batch posted twice is counted once.
"""

from __future__ import annotations

from typing import Any

from floki_core.testing import Floki
from tests.core.location.register_builder import API, source_stats

SOURCE = "http:test"


async def post_batch(floki: Floki, observations: list[dict[str, Any]]) -> None:
    device = floki.auth(await floki.token_for("admin", device=True))
    resp = await floki.client.post(
        f"{API}/ingest", json={"observations": observations}, headers=device
    )
    assert resp.status == 202, await resp.text()
    await floki.settle()


def sighting(at: str, **extra: Any) -> dict[str, Any]:
    # Admission comes before binding: a tag bound to nothing is admitted, or not, alike.
    return {
        "technology": "ble",
        "tag": "C0:FF:EE:00:00:01",
        "receiver": "AA:BB:CC:00:00:01",
        "rssi": -61,
        "observed_at": at,
        **extra,
    }


async def test_sightings_that_differ_only_in_what_was_reported_are_not_replays(
    floki: Floki,
) -> None:
    at = floki.clock.now().isoformat()
    batch = [
        sighting(at),
        sighting(at, extras={"battery_mv": 2950}),
        sighting(at, extras={"battery_mv": 2950, "temperature_c": 21.5}),
    ]
    await post_batch(floki, batch)
    stats = await source_stats(floki, SOURCE)
    assert (stats["accepted"], stats["duplicates"]) == (3, 0)

    # The gateway did not hear our answer and sends the batch again, keys in another order.
    again = [
        {**s, "extras": dict(reversed(list(s["extras"].items())))} if "extras" in s else s
        for s in batch
    ]
    await post_batch(floki, again)
    stats = await source_stats(floki, SOURCE)
    assert (stats["received"], stats["accepted"], stats["duplicates"]) == (6, 3, 3)


async def test_a_gps_tracker_reporting_two_fixes_in_one_second_keeps_both(
    floki: Floki,
) -> None:
    at = floki.clock.now().isoformat()
    fix = {"technology": "gps", "tag": "GPS-VAN-001", "observed_at": at}
    await post_batch(
        floki, [{**fix, "lat": 53.805, "lon": -1.545}, {**fix, "lat": 53.9, "lon": -1.4}]
    )
    stats = await source_stats(floki, SOURCE)
    assert (stats["accepted"], stats["duplicates"]) == (2, 0)
