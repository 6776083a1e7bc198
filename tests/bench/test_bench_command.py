"""``floki-core bench`` takes the benchmark's own options as docs/performance.md writes
them (``floki-core bench --scenario hospital --rate max --seconds 15 --json``)."""

from __future__ import annotations

import pytest

from floki_core.cli import main


@pytest.mark.parametrize("before", [[], ["-v"], ["--data-dir", "var"]])
def test_the_documented_form_reaches_the_benchmark(
    before: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # A size the benchmark refuses: its own one-line error proves its parser read the options.
    assert main([*before, "bench", "--scenario", "community", "--idle", "-5", "--json"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.endswith("floki-core bench: error: --idle must be 0 or more\n")


def test_an_option_the_benchmark_does_not_know_is_its_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["bench", "--scenario", "smoke", "--bogus"])
    assert exited.value.code == 2
    assert "error: unrecognized arguments: --bogus" in capsys.readouterr().err


def test_other_commands_still_refuse_unknown_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["check", "--scenario", "smoke"])
    assert exited.value.code == 2
    assert "unrecognized arguments: --scenario smoke" in capsys.readouterr().err
