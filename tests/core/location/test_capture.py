"""Raw observations are stored only when asked, sampled, and kept for a limited time."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

import pytest

from floki_core.config import AppConfig, parse_config
from floki_core.location.capture import RawCapture
from floki_core.observations import Observation
from floki_core.testing import Floki

AT = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


def batch(n: int) -> list[Observation]:
    return [
        Observation(technology="ble", tag=f"T{i}", receiver="R1", rssi=-60.0, observed_at=AT)
        for i in range(n)
    ]


def test_off_by_default_writes_nothing(tmp_path: Path) -> None:
    capture = RawCapture(tmp_path / "capture", 0.0, 7)
    capture.offer("gw", batch(100))
    assert capture.write(AT.date()) == 0
    assert not (tmp_path / "capture").exists()


def test_sampled_lines_are_json_with_their_source(tmp_path: Path) -> None:
    capture = RawCapture(tmp_path / "capture", 0.1, 7, random.Random(3))
    capture.offer("gw-1", batch(2000))
    written = capture.write(AT.date())
    assert 120 < written < 280  # about a tenth
    lines = (tmp_path / "capture" / "observations-2026-01-05.jsonl").read_text().splitlines()
    assert len(lines) == written
    first = json.loads(lines[0])
    assert first["source"] == "gw-1" and first["receiver"] == "R1" and first["rssi"] == -60.0


def test_old_days_are_removed(tmp_path: Path) -> None:
    directory = tmp_path / "capture"
    directory.mkdir()
    (directory / "observations-2025-12-01.jsonl").write_text("{}\n")
    (directory / "observations-2026-01-01.jsonl").write_text("{}\n")
    capture = RawCapture(directory, 1.0, 7)
    capture.offer("gw", batch(1))
    capture.write(AT.date())
    names = sorted(p.name for p in directory.iterdir())
    assert names == ["observations-2026-01-01.jsonl", "observations-2026-01-05.jsonl"]


@pytest.fixture
def floki_config() -> AppConfig:
    return parse_config(
        {
            "discovery": {"enabled": False},
            "server": {"tls": False},
            "location": {"capture_sample": 1.0},
        }
    )


async def test_the_appliance_captures_when_configured(floki: Floki) -> None:
    observed = floki.clock.now()
    await floki.inject(
        [Observation(technology="ble", tag="NOT-BOUND", receiver="R9", observed_at=observed)],
        source="gw-7",
    )
    files = list((floki.core.data_dir / "capture").glob("observations-*.jsonl"))
    assert len(files) == 1
    assert json.loads(files[0].read_text().splitlines()[0])["source"] == "gw-7"


async def test_what_arrives_while_a_capture_is_written_is_in_the_next_write(
    floki: Floki, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The worker thread writes only lines already taken on the loop, where they are
    # added: a line added as the pending list changed hands on another thread was lost.
    capture = floki.core.locations.capture
    write_lines = capture.write_lines
    offered_meanwhile: list[int] = []

    def slow_write(lines: list[bytes], today: dt.date) -> int:
        # Another batch is offered while this write is under way.
        capture.offer("gw-8", batch(3))
        offered_meanwhile.append(3)
        return write_lines(lines, today)

    monkeypatch.setattr(capture, "write_lines", slow_write)
    await floki.inject(batch(2), source="gw-7")
    monkeypatch.setattr(capture, "write_lines", write_lines)
    await floki.core.locations.flush()

    [file] = (floki.core.data_dir / "capture").glob("observations-*.jsonl")
    sources = [json.loads(line)["source"] for line in file.read_text().splitlines()]
    assert sorted(sources) == ["gw-7"] * 2 + ["gw-8"] * sum(offered_meanwhile)
