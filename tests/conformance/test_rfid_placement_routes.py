"""Conformance of the RFID plugin's routes, with a portal configured: the portal routes
(``/api/v1/rfid/portal-events``, ``/api/v1/rfid/portals``) and the plugin's others each
have a role policy, are described in /api/v1/openapi.json with it, and answer every caller
as it says."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from floki_core.conformance import RouteConformance


class TestRfidRoutes(RouteConformance):
    # The plugin-wide checks (entry point, settings) run once, in test_rfid_llrp.py.
    test_loads_through_its_entry_point = None
    test_config_defaults_validate_and_every_key_is_documented = None

    plugin = "rfid"
    documentation = ("docs/rfid-placement.md",)

    def plugin_settings(self) -> Mapping[str, Any]:
        door = {"name": "library-door", "inner": "library-door:1", "outer": "library-door:2"}
        return {"portals": [door]}

    async def test_the_portal_routes_are_among_them(
        self, tmp_path: Path, floki_migrated_database: Path
    ) -> None:
        async with self.appliance(tmp_path, floki_migrated_database) as run:
            paths = {spec.path for spec in self.plugin_routes(run)}
            assert {"/api/v1/rfid/portal-events", "/api/v1/rfid/portals"} <= paths, paths
