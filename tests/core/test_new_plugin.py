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


def run_its_tests(project: Path, venv: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    return subprocess.run(
        [venv / "bin" / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=PLUGIN_TESTS_SECONDS,
    )


@pytest.mark.parametrize("kind", ["source"])
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
