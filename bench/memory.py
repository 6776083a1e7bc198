"""Where the appliance's memory goes: the hot path's parts, measured in-process.

The scenario's batches are decoded as the ingest route decodes them and fed through
admission (replay memory), then the RSSI locator and the resolver (per-asset state),
with ``tracemalloc`` measuring what each part still holds afterwards. No appliance
process is started; the figures explain the product run's RSS, they do not replace it.
"""

from __future__ import annotations

import datetime as dt
import gc
import tracemalloc
from typing import Any

import msgspec

from bench.scenarios import Scenario, ScenarioSpec
from floki_core.api.routes.locations import IngestBatch
from floki_core.config import LocationConfig
from floki_core.location.admission import Admission, AdmissionPolicy
from floki_core.location.evidence import ReceiverInfo, Sighting
from floki_core.location.locators import RssiLocator
from floki_core.location.resolver import Resolver


def _held(before: int) -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0] - before


def run_memory(spec: ScenarioSpec, seconds: int = 30) -> dict[str, Any]:
    settings = LocationConfig()
    anchor = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=seconds)
    scenario = Scenario(spec, anchor)
    payloads = [b.payload for second in scenario.live(0, seconds) for b in second]
    receivers = {
        gid: ReceiverInfo(
            id=g + 1,
            name=gid,
            technology="ble",
            identifier=gid,
            zone_id=scenario.layout.room_zone[g],
        )
        for g, gid in enumerate(scenario.gateway_ids)
    }
    tags = scenario.tag_to_asset()
    decode = msgspec.json.Decoder(IngestBatch).decode

    tracemalloc.start()
    try:
        base = _held(0)
        admission = Admission(
            AdmissionPolicy(
                replay_window=dt.timedelta(seconds=settings.replay_window_seconds),
                future_tolerance=dt.timedelta(seconds=settings.future_tolerance_seconds),
                max_age=dt.timedelta(hours=settings.max_age_hours),
            )
        )
        remembered = 0
        now = dt.datetime.now(dt.UTC)
        for raw in payloads:
            remembered += len(admission.admit("bench", decode(raw).observations, now))
        admission_bytes = _held(base)

        base = _held(0)
        locator = RssiLocator(settings.rssi)
        resolver = Resolver(settings.resolver, lambda _zone: "room")
        for raw in payloads:
            sightings = [
                Sighting(
                    asset_id=tags[o.tag],
                    technology=o.technology,
                    tag=o.tag,
                    observed_at=o.observed_at,
                    receiver=receivers[o.receiver or ""],
                    rssi=o.rssi,
                )
                for o in decode(raw).observations
            ]
            resolver.apply(locator.locate(sightings))
        state_bytes = _held(base)
    finally:
        tracemalloc.stop()

    per_observation = admission_bytes / max(remembered, 1)
    window_obs = spec.nominal_per_s * settings.replay_window_seconds
    steady = min(window_obs, AdmissionPolicy().max_remembered)
    return {
        "bench": "memory",
        "scenario": spec.name,
        "observations": remembered,
        "admission_bytes_per_observation": round(per_observation),
        "admission_steady_state_bytes": round(per_observation * steady),
        "admission_steady_state_observations": round(steady),
        "locator_resolver_bytes_per_asset": round(state_bytes / spec.tags),
        "assets_tracked": len(resolver.tracks),
    }
