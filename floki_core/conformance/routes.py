"""The conformance kit for a plugin's HTTP routes: every route has a role policy, is
described in ``/api/v1/openapi.json`` with it, and answers each caller as that policy
says; none answers a bare request with a server error.

::

    class TestWardRoutes(RouteConformance):
        plugin = "ward"
        path_values = {"code": "E1001"}  # what to put in {code} (default "1")
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from floki_core.api.keys import ROUTES
from floki_core.api.openapi import build_openapi
from floki_core.conformance.appliance import ConformanceFailure, Watched
from floki_core.conformance.common import PluginConformance
from floki_core.plugins.registry import POLICIES, RouteSpec

LADDER = ("viewer", "staff", "engineer", "admin")
_PLACEHOLDER = re.compile(r"\{(\w+)(?::[^}]*)?\}")


def openapi_path(path: str) -> str:
    """aiohttp's ``{name:regex}`` as OpenAPI writes it: ``{name}``."""
    return _PLACEHOLDER.sub(lambda m: "{" + m.group(1) + "}", path)


class RouteConformance(PluginConformance):
    """Inherited tests over every route the plugin registers."""

    # What to put in each path placeholder, by name (default "1").
    path_values: ClassVar[Mapping[str, str]] = {}

    def plugin_routes(self, run: Watched) -> list[RouteSpec]:
        routes = [r.item for r in run.core.plugins.registries.routes if r.plugin == self.plugin]
        if not routes:
            raise ConformanceFailure(f"plugin {self.plugin!r} registers no routes")
        return routes

    def url(self, spec: RouteSpec) -> str:
        return _PLACEHOLDER.sub(lambda m: self.path_values.get(m.group(1), "1"), spec.path)

    async def test_every_route_has_a_policy_and_is_in_openapi(
        self, tmp_path: Path, floki_migrated_database: Path
    ) -> None:
        async with self.appliance(tmp_path, floki_migrated_database) as run:
            # What GET /api/v1/openapi.json serves, built off the loop: building it takes
            # the core over 100 ms, which is not the plugin's doing.
            table = run.app[ROUTES]
            document = await asyncio.to_thread(build_openapi, table.routes)
            for spec in self.plugin_routes(run):
                name = f"{spec.method} {spec.path}"
                assert spec.policy in POLICIES, f"{name}: policy {spec.policy!r}"
                operation = (
                    document["paths"].get(openapi_path(spec.path), {}).get(spec.method.lower())
                )
                assert operation is not None, f"{name} is not in /api/v1/openapi.json"
                assert operation.get("x-floki-policy") == spec.policy, (
                    f"{name}: openapi.json says policy {operation.get('x-floki-policy')!r}, "
                    f"the route {spec.policy!r}"
                )
                assert operation.get("summary"), f"{name} has no summary in openapi.json"

    async def test_every_route_answers_as_its_policy_says(
        self, tmp_path: Path, floki_migrated_database: Path
    ) -> None:
        async with self.appliance(tmp_path, floki_migrated_database) as run:
            for spec in self.plugin_routes(run):
                await self._check_route(run, spec)

    async def _call(self, run: Watched, spec: RouteSpec, token: str | None) -> int:
        headers = run.floki.auth(token) if token is not None else {}
        resp = await run.floki.client.request(
            spec.method, self.url(spec), headers=headers, allow_redirects=False
        )
        await resp.read()
        return resp.status

    async def _check_route(self, run: Watched, spec: RouteSpec) -> None:
        name = f"{spec.method} {spec.path}"
        floki = run.floki
        anonymous = await self._call(run, spec, None)
        assert anonymous < 500, f"{name} answered {anonymous} to a bare request"
        if spec.session_role is not None:
            # A page that checks its own session: no session, no page.
            assert anonymous in (302, 303, 401), (
                f"{name} (a {spec.session_role} page) answered {anonymous} without a session"
            )
            return
        if spec.policy == "public":
            return
        assert anonymous == 401, f"{name} ({spec.policy}) answered {anonymous} with no token"
        below: Any
        if spec.policy == "device":
            below, allowed = await floki.token_for("engineer"), await self._device(run)
        else:
            rank = LADDER.index(spec.policy)
            below = await floki.token_for(LADDER[rank - 1]) if rank else None
            allowed = await floki.token_for(spec.policy)
        if below is not None:
            status = await self._call(run, spec, below)
            assert status == 403, f"{name} ({spec.policy}) answered {status} to a lesser role"
        status = await self._call(run, spec, allowed)
        assert status not in (401, 403) and status < 500, (
            f"{name} answered {status} to a caller its policy ({spec.policy}) lets in"
        )

    @staticmethod
    async def _device(run: Watched) -> str:
        return await run.floki.token_for("viewer", device=True)
