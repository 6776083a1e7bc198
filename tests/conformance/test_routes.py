"""Conformance of the built-in plugins' HTTP routes: the BLE plugin's gateway routes and
the QR plugin's labels and phone pages each have a role policy, are described in
/api/v1/openapi.json with it, and answer every caller as it says."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from floki_core.conformance import RouteConformance


class TestBleRoutes(RouteConformance):
    # The plugin-wide checks (entry point, settings) run once, in test_ble_local_radio.py.
    test_loads_through_its_entry_point = None
    test_config_defaults_validate_and_every_key_is_documented = None

    plugin = "ble"
    documentation = ("docs/gateways.md", "docs/performance.md")


class TestQrRoutes(RouteConformance):
    # The plugin-wide checks (entry point, settings) run once, in test_qr_serial_scanner.py.
    test_loads_through_its_entry_point = None
    test_config_defaults_validate_and_every_key_is_documented = None

    plugin = "qr"
    documentation = ("docs/qr.md",)
    path_values: ClassVar[Mapping[str, str]] = {
        "code": "E1001",
        "giai": "50123451001",
        "gln": "5012345000015",
        "extension": "A1",
        "name": "phone.css",
    }

    def plugin_settings(self) -> Mapping[str, Any]:
        return {"labels": {"base_url": "https://floki.ward7.example.nhs.uk"}}
