"""``floki-core new-plugin``: the distribution it writes installs and passes its own
conformance tests as written; a bad or taken name, or a directory that exists, is one
line on stderr, exit status 2, and nothing written."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

from floki_core.cli import main

PLUGIN_TESTS_SECONDS = 300


def install_editable(project: Path, venv: Path) -> None:
    """What ``pip install -e`` leaves in ``venv``: the project on the path, and a
    dist-info with its metadata (README as the description) and entry points, all read
    from its pyproject.toml. (pip cannot build it offline here: no ``wheel`` package.)"""
    meta = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    site = Path(
        subprocess.check_output(
            [
                venv / "bin" / "python",
                "-c",
                "import sysconfig; print(sysconfig.get_path('purelib'))",
            ],
            text=True,
        ).strip()
    )
    name, version = meta["name"], meta["version"]
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    readme = (project / meta["readme"]).read_text()
    requires = "".join(f"Requires-Dist: {r}\n" for r in meta.get("dependencies", []))
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: "
        f"{meta['description']}\n{requires}Description-Content-Type: text/markdown\n\n{readme}"
    )
    groups = meta.get("entry-points", {})
    (info / "entry_points.txt").write_text(
        "".join(
            f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in points.items()) + "\n"
            for group, points in groups.items()
        )
    )
    (info / "INSTALLER").write_text("floki-test\n")
    (info / "RECORD").write_text("")
    (site / f"__editable__.{name}.pth").write_text(f"{project}\n")


@pytest.fixture
def throwaway_venv(tmp_path: Path) -> Path:
    """A venv of its own that sees this environment's packages (floki-core and its test
    kit, pytest, hypothesis) but has nothing installed itself."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    parent = sysconfig.get_path("purelib")
    site = subprocess.check_output(
        [venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        text=True,
    ).strip()
    # addsitedir, not a bare path: the parent's editable installs are .pth files too.
    Path(site, "floki-parent.pth").write_text(f"import site; site.addsitedir({parent!r})\n")
    return venv


# pytest plugins of this environment that a plugin's own tests neither use nor would have
# installed; each takes a second or more to import in every run.
UNRELATED_PLUGINS = ["-p", "no:schemathesis", "-p", "no:pytest-qt", "-p", "no:xdist"]


def run_its_tests(project: Path, venv: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    return subprocess.run(
        [
            *(venv / "bin" / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider"),
            *UNRELATED_PLUGINS,
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=PLUGIN_TESTS_SECONDS,
    )


@pytest.mark.parametrize("kind", ["source", "notifier", "rule"])
def test_a_new_plugin_installs_and_passes_its_own_tests(
    kind: str, tmp_path: Path, throwaway_venv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "floki-demo-gw"
    assert main(["new-plugin", "demo-gw", "--kind", kind, "--directory", str(target)]) == 0
    said = capsys.readouterr().out
    assert f"Wrote the {kind} plugin floki-demo-gw in {target}" in said
    package = target / "floki_demo_gw"
    assert (package / "__init__.py").is_file() and (package / "config.py").is_file()
    assert (target / "README.md").is_file() and (target / "tests" / "test_conformance.py").is_file()
    pyproject = tomllib.loads((target / "pyproject.toml").read_text())["project"]
    assert pyproject["entry-points"]["floki"] == {"demo-gw": "floki_demo_gw"}
    assert any(d.startswith("floki-core>=") and ",<" in d for d in pyproject["dependencies"])

    install_editable(target, throwaway_venv)
    ran = run_its_tests(target, throwaway_venv)
    assert ran.returncode == 0, ran.stdout[-6000:] + ran.stderr[-3000:]
    assert " passed" in ran.stdout and "failed" not in ran.stdout, ran.stdout[-3000:]


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("9lives", "'9lives' is not a plugin name: use lower-case letters and digits"),
        ("demo gw", "'demo gw' is not a plugin name"),
        ("demo--gw", "'demo--gw' is not a plugin name"),
        ("", "'' is not a plugin name"),
        ("class", "'class' is not a plugin name: 'class' is no Python name"),
        ("ble", "plugin 'ble' is already installed (from floki-ble); choose another name"),
        ("floki-qr", "plugin 'qr' is already installed (from floki-qr); choose another name"),
        ("Notify", "plugin 'notify' is already installed (from floki-notify)"),
    ],
)
def test_a_bad_or_taken_name_is_one_line_exit_2_and_nothing_written(
    name: str, reason: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "plugin"
    assert main(["new-plugin", name, "--kind", "source", "--directory", str(target)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.startswith(f"floki-core: error: {reason}"), err
    assert list(tmp_path.iterdir()) == []


def test_an_existing_directory_is_refused_and_left_as_it_was(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "floki-demo-gw"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    assert main(["new-plugin", "demo-gw", "--kind", "rule", "--directory", str(target)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"floki-core: error: {target} already exists; choose another directory\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["floki-demo-gw"]
    assert [p.name for p in target.iterdir()] == ["notes.txt"]


def test_the_default_directory_is_floki_name_in_the_current_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["new-plugin", "ward_sensors", "--kind", "notifier"]) == 0
    assert (tmp_path / "floki-ward-sensors" / "floki_ward_sensors" / "notifiers.py").is_file()
    assert "Wrote the notifier plugin floki-ward-sensors" in capsys.readouterr().out
