"""The phone page's "PPM done" takes a next-due date only inside the register's range
(1970-01-01 to 2999-12-31): outside it the asset page comes back with the reason and a
422, and no PPM is recorded."""

from __future__ import annotations

from floki_core.testing import Floki
from tests.plugins.qr.pages_fixtures import (  # noqa: F401  (fixtures are found by name)
    ENGINEER,
    Department,
    department_fixture,
    sign_in,
)


async def test_ppm_done_with_a_next_due_date_out_of_range_is_refused(
    floki: Floki, department: Department
) -> None:
    token = await sign_in(floki, ENGINEER)
    action = f"/phone/assets/{department.pump}/ppm"

    refused = await floki.client.post(
        action, data={"outcome": "pass", "next_due": "9999-12-31", "csrf": token}
    )

    assert refused.status == 422
    text = await refused.text()
    assert "Not done" in text
    assert "next_due: 9999-12-31 is out of range; 1970-01-01 to 2999-12-31" in text
    asset = await floki.client.get(
        f"/api/v1/assets/{department.pump}", headers=await floki.headers()
    )
    assert (await asset.json())["last_ppm"] is None
    orders = await floki.client.get(
        "/api/v1/work-orders",
        params={"asset_id": str(department.pump)},
        headers=await floki.headers(),
    )
    assert (await orders.json())["items"] == []  # no work order raised for it
