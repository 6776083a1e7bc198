"""Input a source drops by design (``sink.reject(..., expected=True)``: a Wi-Fi feed's
phones nobody tracks) is counted as any refusal but logged at INFO: a WARNING a minute
for ordinary traffic would teach operators to ignore warnings."""

from __future__ import annotations

import logging

import pytest

from floki_core.testing import Floki


async def test_expected_drops_are_counted_and_logged_at_info(
    floki: Floki, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="floki_core.ingest")
    sink = floki.core.ingest.sink("wifi-feed")
    sink.reject("unknown_device", 950, expected=True)
    sink.reject("bad_line", 2)

    resp = await floki.client.get("/api/v1/sources", headers=await floki.headers("engineer"))
    [source] = [s for s in (await resp.json())["items"] if s["name"] == "wifi-feed"]
    assert source["rejected"] == {"unknown_device": 950, "bad_line": 2}
    levels = {
        record.getMessage().split(" as ")[1].split(" ")[0]: record.levelno
        for record in caplog.records
        if record.getMessage().startswith("source wifi-feed refused")
    }
    assert levels == {"unknown_device": logging.INFO, "bad_line": logging.WARNING}


async def test_expected_drops_of_an_upload_are_logged_at_info(
    floki: Floki, caplog: pytest.LogCaptureFixture
) -> None:
    # An HTTP upload's refusals (a decoder's Decoded.rejected) are counted by the pipeline's
    # admission; those the decoder names as expected are logged at INFO there too.
    caplog.set_level(logging.INFO)
    floki.core.locations.admission.reject("meraki", "unknown_device", 40, expected=True)
    floki.core.locations.admission.reject("meraki", "bad_post")
    levels = {
        record.getMessage().split(" as ")[1].split(" ")[0]: record.levelno
        for record in caplog.records
        if record.getMessage().startswith("source meraki refused")
    }
    assert levels == {"unknown_device": logging.INFO, "bad_post": logging.WARNING}
