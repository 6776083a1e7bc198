"""Fixtures of the QR plugin's tests: the plugin loaded and configured, a small register
and the phone pages' department, each built once per session and copied for each test.

Override ``qr_settings`` (the ``[plugin.qr]`` section) or ``qr_config_extra`` (other
sections of the configuration) in a test module to configure the appliance.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pytest

import floki_qr
from floki_core.config import AppConfig, parse_config
from floki_core.testing import Floki, installed_plugins
from tests.fixtures.prepared import Prepared, build_once
from tests.plugins.qr.pages_fixtures import Department, build_department
from tests.plugins.qr.qr_register import BASE_URL, QrRegister, build_qr_register

T = TypeVar("T")


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


def _qr_only(
    tmp_path_factory: pytest.TempPathFactory,
    template: Path,
    name: str,
    build: Callable[[Floki], Awaitable[T]],
) -> Prepared[T]:
    """``build`` run once (tests/fixtures/prepared.py) in an appliance with the QR plugin
    only. The plugin writes nothing when records are made, so the register is the same
    whatever a module's ``[plugin.qr]`` settings."""
    others = [plugin for plugin in installed_plugins() if plugin != "qr"]
    config = parse_config(
        {
            "discovery": {"enabled": False},
            "server": {"tls": False},
            "plugins": {"disabled": others},
            "plugin": {"qr": {"labels": {"base_url": BASE_URL}}},
        }
    )
    plugins = [] if "qr" in installed_plugins() else [("qr", floki_qr)]
    return build_once(tmp_path_factory, template, name, build, config=config, plugins=plugins)


@pytest.fixture(scope="session")
def prepared_qr_register(
    tmp_path_factory: pytest.TempPathFactory, floki_migrated_database: Path
) -> Prepared[QrRegister]:
    """``build_qr_register`` once per session."""
    return _qr_only(tmp_path_factory, floki_migrated_database, "qr-register", build_qr_register)


@pytest.fixture(scope="session")
def prepared_department(
    tmp_path_factory: pytest.TempPathFactory, floki_migrated_database: Path
) -> Prepared[Department]:
    """The phone pages' department (``pages_fixtures.build_department``: about twenty
    requests and a label code for each record) once per session."""
    return _qr_only(tmp_path_factory, floki_migrated_database, "department", build_department)


@pytest.fixture
def floki_database(request: pytest.FixtureRequest, floki_migrated_database: Path) -> Path:
    """A test with ``qr_register`` or ``department`` starts on a copy of the register
    prepared for it (the appliance reads it at start, as after any restart); every other
    test on the kit's empty one."""
    wanted = {"qr_register", "department"} & set(request.fixturenames)
    assert len(wanted) < 2, "qr_register and department are two registers: use one"
    if "qr_register" in wanted:
        register: Prepared[QrRegister] = request.getfixturevalue("prepared_qr_register")
        return register.database
    if "department" in wanted:
        department: Prepared[Department] = request.getfixturevalue("prepared_department")
        return department.database
    return floki_migrated_database


@pytest.fixture
def qr_register(floki: Floki, prepared_qr_register: Prepared[QrRegister]) -> QrRegister:
    """The register of ``qr_register.QrRegister``, on the ``floki`` appliance, which
    started on a copy of the one built once per session."""
    return prepared_qr_register.on(floki)
