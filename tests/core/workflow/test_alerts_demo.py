"""The demo hospital comes with alert rules, and a ward running short raises one alert."""

from __future__ import annotations

from typing import Any

from floki_core.demo.rules import PAR_CLASS, PAR_MINIMUM, PAR_WARD
from floki_core.testing import Floki
from tests.core.workflow.test_ppm_demo import demo_hospital, running

__all__ = ["demo_hospital", "running"]


async def _get(floki: Floki, path: str) -> Any:
    resp = await floki.client.get(f"/api/v1{path}", headers=await floki.headers("admin"))
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def test_the_demo_rules_are_there_and_sound(demo_hospital: Floki) -> None:
    rules = (await _get(demo_hospital, "/alert-rules"))["items"]
    assert {r["type"] for r in rules} == {
        "geofence_exit",
        "par_level",
        "low_battery",
        "gateway_offline",
        "ppm_overdue_in_clinical_area",
    }
    assert all(r.get("problem") is None for r in rules), rules


async def test_a_ward_running_short_of_pumps_raises_one_par_alert(running: Floki) -> None:
    zones = (await _get(running, f"/zones?limit=500&q={PAR_WARD}"))["items"]
    ward = next(z for z in zones if z["name"] == PAR_WARD)
    classes = (await _get(running, "/asset-classes?limit=500"))["items"]
    pump_class = next(c for c in classes if c["name"] == PAR_CLASS)
    there = (await _get(running, f"/zones/{ward['id']}/assets?class_id={pump_class['id']}"))[
        "items"
    ]
    ready = [a for a in there if a["state"] == "available"]
    engineer = await running.headers("engineer")
    # Leave the ward one short of its par level.
    broken = ready[: max(len(ready) - PAR_MINIMUM + 1, 0)]
    for asset in broken:
        resp = await running.client.post(
            f"/api/v1/assets/{asset['id']}/state",
            json={"state": "faulty", "reason": "alarm fault"},
            headers=engineer,
        )
        assert resp.status == 200, await resp.text()
    for _ in range(3):  # evaluations repeat; the condition stays one alert
        await running.core.workflow.alerts.evaluate()
    alerts = (await _get(running, "/alerts?status=open"))["items"]
    par = [a for a in alerts if a["rule_type"] == "par_level"]
    assert len(par) == 1, par

    # Repaired and back: the alert resolves by itself.
    for asset in broken:
        resp = await running.client.post(
            f"/api/v1/assets/{asset['id']}/state",
            json={"state": "available", "reason": "repaired"},
            headers=engineer,
        )
        assert resp.status == 200, await resp.text()
    await running.core.workflow.alerts.evaluate()
    if len(ready) >= PAR_MINIMUM:
        alert = await _get(running, f"/alerts/{par[0]['id']}")
        assert alert["status"] == "resolved"
