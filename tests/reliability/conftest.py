"""Shared by the reliability tests: one data directory made by a real ``floki-core
init``, which each test copies rather than paying for an init of its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.appliance import init_data_dir


@pytest.fixture(scope="session")
def initialised(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh appliance's data directory (TLS and mDNS off); copy it, do not change it."""
    return init_data_dir(tmp_path_factory.mktemp("initialised") / "var")
