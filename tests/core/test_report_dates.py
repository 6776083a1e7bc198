"""Report periods at the edges of the calendar: a 4xx naming the parameter, never a 500."""

from __future__ import annotations

import logging

import pytest

from floki_core.testing import Floki

REPORT = "/api/v1/reports/utilisation"
FORMATS = ("", ".csv", ".pdf")
OUT_OF_RANGE = [
    ({"to": "9999-12-31"}, "to"),
    ({"from": "0001-01-01T00:00:00+14:00"}, "from"),
    ({"from": "0001-01-01"}, "from"),
    ({"from": "0001-01-02", "to": "0001-01-03"}, "to"),
    ({"to": "9999-12-31T23:59:59-14:00"}, "to"),
    ({"from": "1900-01-01", "to": "1900-02-01"}, "to"),
]


async def test_dates_out_of_range_are_refused_in_every_format(
    floki: Floki, caplog: pytest.LogCaptureFixture
) -> None:
    headers = await floki.headers("engineer")
    for params, name in OUT_OF_RANGE:
        for ext in FORMATS:
            resp = await floki.client.get(REPORT + ext, params=params, headers=headers)
            assert resp.status == 400, (params, ext)
            error = (await resp.json())["error"]
            assert f"query parameter {name}" in error, error
            assert "out of range" in error and "1970-01-01" in error, error
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_dates_at_the_edges_of_the_range_still_answer(floki: Floki) -> None:
    headers = await floki.headers("engineer")
    resp = await floki.client.get(REPORT, params={"to": "2999-12-31"}, headers=headers)
    assert resp.status == 200  # the future is cut to now
    resp = await floki.client.get(
        REPORT, params={"from": "1970-01-01", "to": "1970-01-31"}, headers=headers
    )
    assert resp.status == 200
    assert (await resp.json())["period_from"].startswith("1970-01-01")
