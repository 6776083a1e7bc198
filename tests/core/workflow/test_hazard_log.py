"""The hazard log names the tests that prove each control: every name must exist, so a
renamed or deleted test cannot leave a hazard silently uncontrolled."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).parents[3]
LOG = ROOT / "docs" / "safety" / "hazard-log.md"


def _test_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test_")
    }


def _find(name: str) -> Path:
    if "/" in name:
        return ROOT / name
    found = list((ROOT / "tests").rglob(name))
    assert len(found) == 1, f"{name}: {len(found)} files of that name"
    return found[0]


def test_every_test_named_in_the_hazard_log_exists() -> None:
    problems = []
    for line in LOG.read_text().splitlines():
        if not line.startswith("| H"):
            continue
        proven_by = line.split("|")[5]
        current: Path | None = None
        for ref in re.findall(r"`([^`]+)`", proven_by):
            where, _, test = ref.partition("::")
            if where:
                current = _find(where)
                if not current.exists():
                    problems.append(f"{line[:5]}: {where} does not exist")
                    continue
            if test:
                assert current is not None, ref
                if test not in _test_names(current):
                    problems.append(f"{line[:5]}: {current.name}::{test} does not exist")
    assert problems == []
