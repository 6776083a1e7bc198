"""``--scenario estate`` at a tiny size: memory per tracked asset is measured and printed
as one JSON line, every tag heard is tracked. The figures themselves are not judged here
(this machine may be busy); docs/performance.md records them."""

from __future__ import annotations

import json

import pytest

from bench import estate
from bench.cli import main

pytestmark = pytest.mark.product

FIGURES = (
    "rss_base_bytes",
    "rss_register_bytes",
    "rss_first_bytes",
    "rss_all_bytes",
    "rss_marginal_bytes_per_asset",
    "rss_register_bytes_per_asset",
)


def test_estate_scenario_prints_memory_per_tracked_asset(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(estate, "SETTLE_S", 0.2)  # the figures are not judged here
    argv = ["--scenario", "estate", "--assets", "600", "--tracked-first", "200", "--json"]
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 1, out
    result = json.loads(lines[0])
    assert result["scenario"] == "estate"
    assert (result["assets"], result["tracked_first"], result["tracked"]) == (600, 200, 600)
    for key in FIGURES:
        assert isinstance(result[key], int), key
    assert result["rss_base_bytes"] > 0 and result["rss_all_bytes"] >= result["rss_base_bytes"]


def test_tracked_first_outside_the_assets_is_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["--scenario", "estate", "--assets", "100", "--tracked-first", "100", "--json"]
    assert main(argv) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "floki-core bench: error: --tracked-first must be at least 1 and fewer than --assets\n"
    )
