"""Every route has an explicit role policy, and the policy is enforced before anything else."""

from __future__ import annotations

import re
import secrets

from floki_core.api.keys import ROUTES
from floki_core.api.routing import ApiRoute
from floki_core.testing import Floki

ROLES = ("viewer", "staff", "engineer", "admin")
LOGIN = "/api/v1/auth/login"


def _routes(floki: Floki) -> list[tuple[str, str, ApiRoute | None]]:
    """(method, canonical path, policy) for every route the router serves."""
    table = floki.client.app[ROUTES]
    found = []
    for route in floki.client.app.router.routes():
        if route.method == "HEAD":
            continue
        assert route.resource is not None
        found.append((route.method, route.resource.canonical, table.policy_for(route)))
    return found


def _concrete(path: str) -> str:
    return re.sub(r"\{\w+\}", "1", path)


def _below(policy: str) -> list[str]:
    if policy == "device":
        return ["viewer", "staff", "engineer"]  # admins may also post device data
    if policy in ROLES:
        return list(ROLES[: ROLES.index(policy)])
    return []


async def _call(floki: Floki, method: str, path: str, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    # An empty JSON object: refusal must come from the policy, not from body validation.
    kwargs = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
    return await floki.client.request(method, _concrete(path), headers=headers or {}, **kwargs)


async def test_every_route_has_a_policy(floki: Floki) -> None:
    routes = _routes(floki)
    assert len(routes) > 30  # the register, accounts and system routes are all there
    missing = [f"{m} {p}" for m, p, spec in routes if spec is None]
    assert missing == []
    # The table and the router describe the same routes.
    table = floki.client.app[ROUTES]
    assert {(m, p) for m, p, _ in routes} == {(r.method, r.path) for r in table.routes}


async def test_every_route_refuses_callers_below_its_policy(floki: Floki) -> None:
    tokens = {role: await floki.token_for(role) for role in ROLES}
    device = await floki.token_for("admin", device=True)
    garbage = "flk_" + secrets.token_urlsafe(32)
    problems: list[str] = []

    def expect(what: str, resp, status: int) -> None:  # type: ignore[no-untyped-def]
        if resp.status != status:
            problems.append(f"{what}: {resp.status}, expected {status}")

    checked = 0
    for method, path, spec in _routes(floki):
        assert spec is not None
        if spec.policy == "public":
            continue
        checked += 1
        name = f"{method} {path} ({spec.policy})"

        resp = await _call(floki, method, path)
        expect(f"{name} without a token", resp, 401)
        if resp.status == 401:
            assert resp.headers.get("WWW-Authenticate") == "Bearer", name
            body = await resp.json()
            assert body == {"error": "authentication required", "status": 401}, name

        resp = await _call(floki, method, path, floki.auth(garbage))
        expect(f"{name} with an unknown token", resp, 401)
        if resp.status == 401:
            assert resp.headers.get("WWW-Authenticate") == "Bearer", name
            assert "invalid, expired or revoked" in (await resp.json())["error"], name

        resp = await _call(floki, method, path, {"Authorization": "Basic YWRtaW46YWRtaW4="})
        expect(f"{name} with Basic credentials", resp, 401)

        for role in _below(spec.policy):
            resp = await _call(floki, method, path, floki.auth(tokens[role]))
            expect(f"{name} as {role}", resp, 403)
            if resp.status == 403:
                body = await resp.json()
                assert body == {"error": f"this needs the {spec.policy} role", "status": 403}

        resp = await _call(floki, method, path, floki.auth(device))
        if spec.policy != "device":
            expect(f"{name} with a device token", resp, 403)
        elif resp.status in (401, 403):
            problems.append(f"{name}: device token refused with {resp.status}")

    assert checked > 30
    assert problems == []


async def test_refused_writes_leave_nothing_behind(floki: Floki) -> None:
    viewer = floki.auth(await floki.token_for("viewer"))
    admin = floki.auth(await floki.token_for("admin"))
    before = (await (await floki.client.get("/api/v1/audit", headers=admin)).json())["total"]
    resp = await floki.client.post("/api/v1/sites", json={"name": "Sneaky"}, headers=viewer)
    assert resp.status == 403
    resp = await floki.client.post("/api/v1/sites", json={"name": "Sneaky"})
    assert resp.status == 401
    sites = await (await floki.client.get("/api/v1/sites", headers=viewer)).json()
    assert sites["total"] == 0
    after = (await (await floki.client.get("/api/v1/audit", headers=admin)).json())["total"]
    assert after == before


async def test_health_is_public(floki: Floki) -> None:
    resp = await floki.client.get("/api/v1/health")
    assert resp.status == 200
    body = await resp.json()
    assert body["status"] == "ok" and body["version"]
    # A bad token on a public route is ignored rather than refused.
    resp = await floki.client.get("/api/v1/health", headers=floki.auth("flk_nonsense"))
    assert resp.status == 200


async def test_only_health_and_login_are_public(floki: Floki) -> None:
    routes = [(m, p, spec) for m, p, spec in _routes(floki) if spec and spec.policy == "public"]
    core = {(m, p) for m, p, spec in routes if spec.plugin is None}
    assert core == {("GET", "/api/v1/health"), ("POST", LOGIN)}
    # Plugins' public routes are the phone pages, which check their own cookie session
    # and role (tests/plugins/qr/test_pages_access.py); nothing under /api is public.
    plugin = {(spec.plugin, p) for m, p, spec in routes if spec.plugin is not None}
    assert all(name == "qr" for name, _ in plugin)
    assert not any(p.startswith("/api/") for _, p in plugin)


async def test_unknown_route_is_404_not_500(floki: Floki) -> None:
    resp = await floki.client.get("/api/v1/nowhere")
    assert resp.status == 404
    assert (await resp.json())["status"] == 404


async def test_revoked_token_stops_working(floki: Floki) -> None:
    admin = floki.auth(await floki.token_for("admin"))
    resp = await floki.client.post("/api/v1/tokens", json={"name": "script"}, headers=admin)
    assert resp.status == 201
    issued = await resp.json()
    script = floki.auth(issued["token"])
    assert (await floki.client.get("/api/v1/auth/me", headers=script)).status == 200

    resp = await floki.client.delete(f"/api/v1/tokens/{issued['info']['id']}", headers=admin)
    assert resp.status == 200
    assert (await resp.json())["revoked_at"] is not None

    resp = await floki.client.get("/api/v1/auth/me", headers=script)
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"] == "Bearer"
    assert (await resp.json())["error"] == "token is invalid, expired or revoked"
    audit = await floki.client.get("/api/v1/audit?entity=tokens&action=revoke", headers=admin)
    entries = (await audit.json())["items"]
    assert [e["entity_id"] for e in entries] == [str(issued["info"]["id"])]
    assert entries[0]["actor"] == "test-admin"


async def test_expired_token_is_refused(floki: Floki) -> None:
    viewer = floki.auth(await floki.token_for("viewer"))
    resp = await floki.client.post(
        "/api/v1/tokens", json={"name": "short", "expires_days": 1}, headers=viewer
    )
    assert resp.status == 201
    short = floki.auth((await resp.json())["token"])
    assert (await floki.client.get("/api/v1/auth/me", headers=short)).status == 200
    floki.clock.advance(2 * 86400)
    resp = await floki.client.get("/api/v1/auth/me", headers=short)
    assert resp.status == 401
    assert (await resp.json())["error"] == "token is invalid, expired or revoked"
    # The long-lived token is unaffected by the passing of time.
    assert (await floki.client.get("/api/v1/auth/me", headers=viewer)).status == 200


async def test_an_id_filter_out_of_range_is_a_400_not_a_500(floki: Floki) -> None:
    engineer, admin = await floki.headers("engineer"), await floki.headers("admin")
    for path, body in (("/sites", {"name": "General"}), ("/zones", {"site_id": 1, "name": "W5"})):
        assert (await floki.client.post(f"/api/v1{path}", json=body, headers=admin)).status == 201
    for path in (
        "/api/v1/work-orders?asset_id=99999999999999999999",
        "/api/v1/reports/utilisation?class_id=0",
        "/api/v1/states/suggestions?asset_id=abc",
        # A state filter that names no state is a bad query too, as the document says.
        "/api/v1/assets?state=lost",
        "/api/v1/zones/1/assets?state=lost",
    ):
        resp = await floki.client.get(path, headers=engineer)
        assert resp.status == 400, (path, resp.status, await resp.text())
        assert "query parameter" in (await resp.json())["error"]
