"""A small fleet built through the API for the loan and utilisation tests: one site, a
ward, a community hub, a class of infusion pumps in one department."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from floki_core.testing import Floki

API = "/api/v1"
HUB_POLYGON = [[-1.55, 53.80], [-1.54, 53.80], [-1.54, 53.81], [-1.55, 53.81]]


@dataclass
class Fleet:
    site: int
    ward: int
    hub: int
    pump_class: int
    assets: dict[str, int]  # asset number -> id


async def post(
    floki: Floki, path: str, body: dict[str, Any], role: str = "admin", status: int = 201
) -> dict[str, Any]:
    resp = await floki.client.post(API + path, json=body, headers=await floki.headers(role))
    data = await resp.json()
    assert resp.status == status, (path, body, resp.status, data)
    assert isinstance(data, dict)
    return data


async def get(floki: Floki, path: str, role: str = "viewer", **params: Any) -> Any:
    resp = await floki.client.get(
        API + path,
        headers=await floki.headers(role),
        params={k: str(v) for k, v in params.items()},
    )
    assert resp.status == 200, (path, resp.status, await resp.text())
    return await resp.json()


async def build_fleet(
    floki: Floki,
    count: int = 4,
    *,
    department: str = "ICU",
    class_name: str = "Infusion pump",
    next_ppm_due: dt.date | None = None,
) -> Fleet:
    site = await post(floki, "/sites", {"name": "St Elsewhere"})
    ward = await post(floki, "/zones", {"site_id": site["id"], "name": "Ward 7", "type": "ward"})
    hub = await post(
        floki,
        "/zones",
        {
            "site_id": site["id"],
            "name": "North Community Hub",
            "type": "community_hub",
            "geo_polygon": HUB_POLYGON,
        },
    )
    pump = await post(floki, "/asset-classes", {"name": class_name, "ppm_interval_days": 365})
    due = next_ppm_due or floki.clock.now().date() + dt.timedelta(days=180)
    assets = {}
    for i in range(1, count + 1):
        number = f"PUMP-{i:03d}"
        asset = await post(
            floki,
            "/assets",
            {
                "asset_number": number,
                "class_id": pump["id"],
                "department": department,
                "home_zone_id": ward["id"],
                "next_ppm_due": due.isoformat(),
            },
        )
        assets[number] = asset["id"]
    return Fleet(site["id"], ward["id"], hub["id"], pump["id"], assets)


def loan_body(asset_id: int, **extra: Any) -> dict[str, Any]:
    return {
        "asset_id": asset_id,
        "reference": "L-123",
        "destination_type": "home",
        "due_back": "2026-01-19",
        **extra,
    }
