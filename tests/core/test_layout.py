"""The repository's shape (DESIGN.md §3, §5, §10; issue 2, §1, §2).

``floki_core`` never imports a plugin or Qt, so the appliance installs neither; every
hook is documented for plugin authors; every distribution is typed and installable;
the built-in BLE plugin is registered exactly as a third party's would be.
"""

from __future__ import annotations

import ast
import importlib.metadata
import inspect
import json
import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from floki_core import hookspecs

REPO = Path(__file__).resolve().parents[2]
CORE = REPO / "floki_core"
FORBIDDEN = (
    "floki_ble",
    "floki_rfid",
    "floki_gps",
    "floki_qr",
    "floki_wifi",
    "floki_console",
    "PySide6",
    "PyQt5",
    "PyQt6",
    "qasync",
    "shiboken6",
)
DISTRIBUTIONS = {
    ".": ("floki-core", "floki_core"),
    "plugins/ble": ("floki-ble", "floki_ble"),
    "console": ("floki-console", "floki_console"),
}


def _forbidden(module: str) -> bool:
    top = module.split(".")[0]
    return top in FORBIDDEN or top.startswith("PyQt")


def forbidden_imports(source: str) -> list[tuple[int, str]]:
    """(line, module) for every import of a plugin or Qt, including dynamic ones."""
    found = []
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif (
            isinstance(node, ast.Call)
            and _called_name(node.func) in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names = [node.args[0].value]
        line = getattr(node, "lineno", 0)
        found += [(line, n) for n in names if _forbidden(n)]
    return sorted(found)


def _called_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return None


def test_scanner_catches_every_import_form() -> None:
    sample = textwrap.dedent(
        """
        import os
        import floki_ble
        from PySide6.QtCore import QObject
        import PyQt6.QtWidgets as widgets
        from qasync import asyncSlot
        import importlib
        importlib.import_module("floki_rfid.decoders")
        from .floki_gps import nothing
        def later():
            import shiboken6
        """
    )
    assert forbidden_imports(sample) == [
        (3, "floki_ble"),
        (4, "PySide6.QtCore"),
        (5, "PyQt6.QtWidgets"),
        (6, "qasync"),
        (8, "floki_rfid.decoders"),
        (11, "shiboken6"),
    ]


def test_floki_core_source_imports_no_plugin_and_no_qt() -> None:
    files = sorted(CORE.rglob("*.py"))
    assert len(files) > 20  # the scan really looked at the package
    offenders = [
        f"{path.relative_to(REPO)}:{line}: {module}"
        for path in files
        for line, module in forbidden_imports(path.read_text(encoding="utf-8"))
    ]
    assert offenders == [], "floki_core must not import these:\n" + "\n".join(offenders)


def test_importing_all_of_floki_core_loads_no_plugin_and_no_qt() -> None:
    code = textwrap.dedent(
        f"""
        import importlib, json, pkgutil, sys
        import floki_core
        failed = []
        for info in pkgutil.walk_packages(floki_core.__path__, "floki_core."):
            if info.name.startswith("floki_core.storage.migrations"):
                continue  # env.py and revisions only run inside Alembic
            try:
                importlib.import_module(info.name)
            except Exception as exc:
                failed.append(f"{{info.name}}: {{exc!r}}")
        loaded = sorted(
            m for m in sys.modules
            if m.split(".")[0] in {list(FORBIDDEN)!r} or m.startswith("PyQt")
        )
        imported = sorted(m for m in sys.modules if m.startswith("floki_core"))
        print(json.dumps({{"loaded": loaded, "failed": failed, "imported": imported}}))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["failed"] == []
    assert "floki_core.cli" in result["imported"]
    assert "floki_core.testing" in result["imported"]
    assert result["loaded"] == []


# --- hooks and their documentation --------------------------------------------------------


def hook_names() -> list[str]:
    return [
        name
        for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
        if name.startswith("floki_")
    ]


def test_hookspecs_are_found() -> None:
    assert {"floki_startup", "floki_register_sources", "floki_events"} <= set(hook_names())


@pytest.mark.parametrize("hook", hook_names())
def test_every_hook_is_documented_in_plugins_md(hook: str) -> None:
    docs = REPO / "docs" / "plugins.md"
    assert docs.exists(), "docs/plugins.md is missing"
    headings = [
        line for line in docs.read_text(encoding="utf-8").splitlines() if line.startswith("#")
    ]
    pattern = re.compile(rf"^#+ .*`{re.escape(hook)}`")
    assert any(pattern.match(line) for line in headings), (
        f"docs/plugins.md has no heading for `{hook}` (e.g. '### `{hook}`')"
    )


@pytest.mark.parametrize("hook", hook_names())
def test_every_hookspec_says_when_and_since_when(hook: str) -> None:
    doc = inspect.getdoc(getattr(hookspecs, hook)) or ""
    assert len(doc.splitlines()[0] if doc else "") > 10, f"{hook} has no summary line"
    assert "versionadded" in doc, f"{hook}'s docstring lacks '.. versionadded::'"


def test_hookspecs_carry_the_hookspec_marker() -> None:
    unmarked = [n for n in hook_names() if not hasattr(getattr(hookspecs, n), "floki_spec")]
    assert unmarked == []


# --- distributions ----------------------------------------------------------------------


@pytest.mark.parametrize("where", list(DISTRIBUTIONS))
def test_every_distribution_has_a_pyproject_and_a_typed_package(where: str) -> None:
    name, package = DISTRIBUTIONS[where]
    root = REPO / where
    pyproject = root / "pyproject.toml"
    assert pyproject.exists(), f"{where}/pyproject.toml is missing"
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    assert project["name"] == name
    assert (root / package / "__init__.py").exists()
    assert (root / package / "py.typed").exists(), f"{where}/{package}/py.typed is missing"


def test_ble_plugin_is_registered_in_the_floki_entry_point_group() -> None:
    pyproject = tomllib.loads((REPO / "plugins/ble/pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["entry-points"]["floki"] == {"ble": "floki_ble"}
    assert "floki-core" in " ".join(pyproject["project"]["dependencies"])
    # And the installed metadata says the same, which is what the appliance reads.
    installed = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="floki")}
    assert installed.get("ble") == "floki_ble"


def test_core_distribution_depends_on_no_plugin_and_no_qt() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    requirements = pyproject["project"]["dependencies"]
    for extra in pyproject["project"].get("optional-dependencies", {}).values():
        requirements = [*requirements, *extra]
    names = {re.split(r"[<>=\[ ;!~]", r, maxsplit=1)[0].lower() for r in requirements}
    banned = {"floki-ble", "floki-console", "pyside6", "pyqt5", "pyqt6", "qasync", "bleak"}
    assert names & banned == set()
