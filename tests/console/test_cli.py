"""``floki-console --check URL`` still answers from a script, without a window."""

from __future__ import annotations

import pytest

from floki_console.__main__ import main
from tests.console.appliance import SITE, ThreadedAppliance


def test_check_says_the_appliance_is_ok(
    appliance: ThreadedAppliance, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--check", f"https://{appliance.address}"])

    assert code == 0
    assert capsys.readouterr().out.startswith(f"{SITE}: Floki ")


def test_check_of_nothing_is_one_line_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--check", "https://127.0.0.1:9"])

    assert code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("floki-console: error: https://127.0.0.1:9 did not answer")
    assert "\n" not in err
