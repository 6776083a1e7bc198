"""Fixtures of the QR plugin's tests: the plugin loaded and configured, a small register.

Override ``qr_settings`` (the ``[plugin.qr]`` section) or ``qr_config_extra`` (other
sections of the configuration) in a test module to configure the appliance.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
import pytest_asyncio

import floki_qr
from floki_core.config import AppConfig, parse_config
from floki_core.testing import Floki, installed_plugins
from tests.plugins.qr.qr_register import BASE_URL, QrRegister, build_qr_register


@pytest.fixture
def floki_plugins() -> list[tuple[str, object]]:
    """The QR plugin: from its entry point when installed, else given directly."""
    return [] if "qr" in installed_plugins() else [("qr", floki_qr)]


@pytest.fixture
def floki_entry_points(request: pytest.FixtureRequest) -> Sequence[str] | None:
    """Of the installed plugins, the QR plugin only (a test's ``floki_entry_points``
    marker may name others): another plugin's listeners (GPS ports) have no part in
    these tests, and two appliances running side by side would fight over them."""
    marker = request.node.get_closest_marker("floki_entry_points")
    if marker is not None:
        return [str(name) for name in marker.args]
    return ["qr"] if "qr" in installed_plugins() else []


@pytest.fixture
def qr_settings() -> dict[str, Any]:
    """The ``[plugin.qr]`` section."""
    return {"labels": {"base_url": BASE_URL}}


@pytest.fixture
def qr_config_extra() -> dict[str, Any]:
    """Other sections of the configuration, merged over the test defaults."""
    return {}


@pytest.fixture
def floki_config(qr_settings: dict[str, Any], qr_config_extra: dict[str, Any]) -> AppConfig:
    return parse_config(
        {
            "discovery": {"enabled": False},
            "server": {"tls": False},
            "plugin": {"qr": qr_settings},
            **qr_config_extra,
        }
    )


@pytest_asyncio.fixture
async def qr_register(floki: Floki) -> QrRegister:
    """The register of ``qr_register.QrRegister``, on the ``floki`` appliance."""
    return await build_qr_register(floki)
