"""``make test`` runs the smallest scenario through a real appliance: shape and no loss.

The figures themselves are not judged here (this machine may be busy with other tests);
docs/performance.md records them from ``make bench``.
"""

from __future__ import annotations

import functools
import json
import time

import pytest

import bench.cli
from bench.cli import main

BASELINE_SECONDS = 1.0
KEYS = (
    "scenario",
    "offered_per_s",
    "sightings_per_s",
    "baseline_per_s",
    "ratio",
    "latency_p50_ms",
    "latency_p99_ms",
    "rss_bytes_per_asset",
    "db_bytes_per_hour",
    "lost",
    "transitions",
    "rejected_503",
    "seconds",
)


def test_smoke_scenario_prints_the_figures_and_loses_nothing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The bare-decoder baseline burns a core for ten seconds in make bench; its figure is
    # not judged here, so one second shows it is measured and reported.
    options = functools.partial(bench.cli.ProductOptions, baseline_budget_s=BASELINE_SECONDS)
    monkeypatch.setattr(bench.cli, "ProductOptions", options)
    started = time.monotonic()
    # Six seconds: long enough that a busy CI machine still sees the small ward move.
    code = main(["--scenario", "smoke", "--seconds", "6", "--json"])
    took = time.monotonic() - started
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 1, out
    result = json.loads(lines[0])
    missing = [k for k in KEYS if k not in result]
    assert not missing, missing
    assert result["scenario"] == "smoke"
    for key in KEYS[1:]:
        assert isinstance(result[key], int | float), (key, result[key])
        assert not isinstance(result[key], bool), key
    assert result["sightings_per_s"] > 0
    assert result["baseline_per_s"] > 0
    assert result["lost"] == 0
    assert result["transitions"] >= 1, result
    assert took < 60
