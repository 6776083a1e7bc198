"""The audit trail's head goes into the appliance's log when it starts and once a day, so
that a log kept off the box (journald forwarded, syslog) holds where the trail ended, for
``floki-core check --audit-head`` to test the trail against later."""

from __future__ import annotations

import datetime as dt
import logging
import re
from pathlib import Path

import pytest

from floki_core.clock import ManualClock
from floki_core.config import parse_config
from floki_core.core import Core
from floki_core.storage import audit
from floki_core.testing import Floki

HEAD = re.compile(r"^audit head: (\d+):([0-9a-f]{64}) ")


def _heads(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == audit.__name__ and HEAD.match(r.getMessage())
    ]


async def _head_now(floki: Floki) -> str:
    head = await floki.core.read(audit.read_audit_head)
    assert head is not None
    return str(head)


async def test_the_head_is_logged_when_the_appliance_starts(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=audit.__name__)
    clock = ManualClock(dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC))
    config = parse_config({"discovery": {"enabled": False}, "server": {"tls": False}})
    core = Core(tmp_path / "var", config, clock=clock)
    await core.start()
    try:
        [line] = _heads(caplog)
        head = await core.read(audit.read_audit_head)
        assert head is not None and line.startswith(f"audit head: {head} ")
        assert "--audit-head" in line  # says what the line is for
    finally:
        await core.stop()


async def test_the_head_is_logged_again_on_a_new_day_and_not_before(
    floki: Floki, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=audit.__name__)
    await floki.headers("admin")  # an account made and signed in: audited
    await floki.core.log_audit_head()
    assert _heads(caplog) == []  # logged at start already today

    floki.advance(24 * 3600)
    await floki.core.log_audit_head()
    [line] = _heads(caplog)
    assert line.startswith(f"audit head: {await _head_now(floki)} ")
    await floki.core.log_audit_head()
    assert len(_heads(caplog)) == 1


async def test_metrics_show_the_head_number_growing_with_each_audited_change(
    floki: Floki,
) -> None:
    admin = await floki.headers("admin")

    async def shown() -> int:
        text = await (await floki.client.get("/metrics", headers=admin)).text()
        [line] = [x for x in text.splitlines() if x.startswith("floki_audit_head_seq ")]
        return int(line.split()[1])

    before = await shown()
    assert str(before) == (await _head_now(floki)).split(":")[0]
    resp = await floki.client.post("/api/v1/sites", json={"name": "General"}, headers=admin)
    assert resp.status == 201
    assert await shown() == before + 1
