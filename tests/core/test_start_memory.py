"""What the appliance loads at start: libraries that only printing, a scan, a migration or a
trust hub need are loaded when first needed, not with the appliance (they were ~38 MB of
an empty appliance's memory: docs/performance.md, Estate)."""

from __future__ import annotations

import subprocess
import sys

LOADED_WHEN_NEEDED = ("reportlab", "biip", "segno", "alembic", "nats")


def test_the_core_its_api_and_every_plugin_load_without_what_only_some_requests_need() -> None:
    probe = (
        "import importlib.metadata, sys\n"
        "import floki_core.appliance, floki_core.api.app, floki_core.core\n"
        "for entry in importlib.metadata.entry_points(group='floki'):\n"
        "    entry.load()\n"
        f"print(sorted(m for m in {LOADED_WHEN_NEEDED!r} if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
