"""Shared fixtures: a real PostgreSQL server, and a database per backend; and the
``product`` marker (docs/development.md, Running the tests)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from floki_core.storage.database import Database

pytest_plugins = [
    "tests.fixtures.postgres",
    "tests.fixtures.demo",
    "tests.fixtures.location_register",
]

# Product-level tests: the demo hospital, five-thousand-row imports, benchmark smoke runs,
# the installed commands run as processes, appliances announcing on a network, the
# reliability drills. `pytest -m "not product"` leaves them out for a quick inner loop;
# `make test` runs everything. A new one is marked in its own file
# (`@pytest.mark.product`); these are the ones in modules that mix both kinds.
PRODUCT_LEVEL = (
    "tests/bench/",
    "tests/e2e/",
    "tests/reliability/",
    "tests/console/test_bench_smoke.py",
    "tests/console/test_discovery_netns.py",
    "tests/core/test_demo.py",
    "tests/core/test_demo_simulation.py",
    "tests/core/test_demo_rfid.py",
    "tests/core/workflow/test_alerts_demo.py",
    "tests/core/workflow/test_ppm_demo.py",
    "tests/plugins/ble/test_simulator.py",
    "tests/core/test_discovery.py",
    "tests/core/test_register_csv.py::test_five_thousand_rows_import_in_one_transaction",
    "tests/core/test_register_csv.py::test_a_failure_on_the_last_of_five_thousand_rows_leaves",
    "tests/core/test_register_import_lock.py::test_other_writers_get_in_while_the_file_is_planned",
    "tests/core/test_check_damaged.py::test_the_installed_command_reports_a_directory_without",
    "tests/core/test_cli.py::test_init_refuses_a_too_short_environment_password",
    "tests/core/test_cli.py::test_init_twice_is_refused_in_one_line",
    "tests/core/test_cli.py::test_token_for_an_unknown_user_is_refused_in_one_line",
    "tests/core/test_cli.py::test_check_on_a_data_dir_never_initialised_says_so",
    "tests/core/test_cli.py::test_serve_on_a_data_dir_never_initialised_is_one_line",
    "tests/core/test_cli.py::test_unknown_config_key_is_one_line_naming_section_and_key",
    "tests/core/test_cli.py::test_import_site_with_a_bad_file_is_one_line",
    "tests/core/test_tls.py::test_configured_certificate_replaces_the_generated_one",
    "tests/core/test_tls.py::test_half_a_configured_pair_is_one_line_naming_both_keys",
    "tests/core/test_tls.py::test_unusable_configured_certificate_is_one_line",
    "tests/core/test_tls.py::test_tls_off_serves_plain_http",
)


def _share_compiled_modules() -> None:
    """Where ``PYTHONDONTWRITEBYTECODE`` is set (as on the CI machine), every Python the
    tests start (the pytest workers, each ``floki-core`` run as a process, a plugin's own
    test run) would compile the project from source again: a second or two each. Such
    processes keep their bytecode in one cache outside the source tree instead
    (``PYTHONPYCACHEPREFIX``), so only the first compiles. An explicit prefix is kept."""
    if not os.environ.get("PYTHONDONTWRITEBYTECODE") or os.environ.get("PYTHONPYCACHEPREFIX"):
        return
    prefix = Path(tempfile.gettempdir()) / f"floki-test-pycache-{os.getuid()}"
    os.environ["PYTHONPYCACHEPREFIX"] = str(prefix)
    del os.environ["PYTHONDONTWRITEBYTECODE"]


def pytest_configure(config: pytest.Config) -> None:
    # Before xdist starts its workers, which inherit the environment.
    _share_compiled_modules()
    config.addinivalue_line(
        "markers",
        "product: a product-level test (demo, big import, benchmark smoke, a command run "
        'as a process, reliability drill); -m "not product" leaves them out',
    )
    config.addinivalue_line(
        "markers",
        "packages: builds the Debian packages and installs them on this machine for real "
        "(root); run by `make test-packages` (CI runs it after `make test`), not `make test`",
    )


# Modules holding the longest single tests (tens of seconds: benchmark smoke runs, a
# plugin's own test run, network namespaces, commands run as processes), longest first.
# They start first: a long test drawn late keeps one worker busy while the others have
# run out of work. Whole modules move, in their own order, so module fixtures are set up
# once. Measured with `pytest -n 2 --durations=0`; a new long test belongs here.
LONG_FIRST = (
    "tests/packaging/test_appliance_package.py",
    "tests/packaging/test_console_package.py",  # its build, in `make test-packages`
    "tests/bench/test_bench_espresense.py",
    "tests/bench/test_bench_smoke.py",
    "tests/console/test_discovery_netns.py",
    "tests/reliability/test_import_beside_writes.py",
    "tests/bench/test_bench_community.py",
    "tests/e2e/test_serve_discovery.py",
    "tests/core/test_new_plugin.py",
    "tests/e2e/test_serve_https.py",
    "tests/reliability/test_kill9.py",
    "tests/reliability/test_restore_drill.py",
    "tests/packaging/test_service_sandbox.py",
    "tests/bench/test_bench_rfid.py",
    "tests/plugins/ble/test_espresense.py",
    "tests/reliability/test_database_at_start.py",
    "tests/core/test_demo.py",
    "tests/core/workflow/test_ppm_demo.py",
    "tests/core/test_demo_simulation.py",
    "tests/core/test_demo_rfid.py",
    "tests/conformance/test_kit_sources.py",
    "tests/console/test_bench_smoke.py",
    "tests/core/test_tls.py",
    "tests/core/test_cli.py",
)


def _long_first_rank(item: pytest.Item) -> int:
    path = item.nodeid.split("::", 1)[0]
    return LONG_FIRST.index(path) if path in LONG_FIRST else len(LONG_FIRST)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.nodeid.startswith(PRODUCT_LEVEL) or item.get_closest_marker("packages"):
            item.add_marker(pytest.mark.product)
    # A stable sort: every other test keeps its place; each xdist worker collects the
    # same order, as xdist requires.
    items.sort(key=_long_first_rank)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated database on each supported backend: a copy of one migrated once per
    session (the migrations themselves are checked against the models in
    tests/core/test_storage.py), so a test pays for a copy, not for every migration."""
    if request.param == "sqlite":
        shutil.copyfile(request.getfixturevalue("floki_migrated_database"), tmp_path / "floki.db")
        url = f"sqlite:///{tmp_path}/floki.db"
    else:
        url = request.getfixturevalue("postgres_migrated_url")
    db = Database(url)
    db.migrate()  # nothing to do: the copy is at the newest revision already
    yield db
    db.close()
