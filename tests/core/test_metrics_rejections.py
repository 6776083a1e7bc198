"""Input a source refuses (``sink.reject``) is in ``/metrics`` beside the pipeline's own
refusals, as ``GET /api/v1/sources`` lists it."""

from __future__ import annotations

from floki_core.testing import Floki


async def test_a_sources_refusals_are_in_metrics_by_reason(floki: Floki) -> None:
    floki.core.ingest.sink("gw-7").reject("bad_frame", 3)
    floki.core.locations.admission.reject("gw-7", "queue_full", 2)
    text = await (await floki.client.get("/metrics", headers=await floki.headers())).text()
    assert 'floki_observations_rejected_total{source="gw-7",reason="bad_frame"} 3' in text
    assert 'floki_observations_rejected_total{source="gw-7",reason="queue_full"} 2' in text
