"""Shared fixtures: a real PostgreSQL server, and a database per backend; and the
``product`` marker (docs/development.md, Running the tests)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from floki_core.storage.database import Database

pytest_plugins = ["tests.fixtures.postgres"]

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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "product: a product-level test (demo, big import, benchmark smoke, a command run "
        'as a process, reliability drill); -m "not product" leaves them out',
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.nodeid.startswith(PRODUCT_LEVEL):
            item.add_marker(pytest.mark.product)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path) -> Iterator[Database]:  # type: ignore[no-untyped-def]
    """A migrated database on each supported backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/floki.db"
    else:
        url = request.getfixturevalue("postgres_url")
    db = Database(url)
    db.migrate()
    yield db
    db.close()
