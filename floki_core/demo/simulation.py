"""Switching on the BLE plugin's simulated gateways for the demo, without importing it.

The demo hospital is static; movement comes from ``floki-ble``'s simulator, enabled
by the plugin's own config section. The core only writes that section into the data
directory's ``floki.toml``, where the user can see it and turn it off.
"""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from floki_core.config import CONFIG_FILE
from floki_core.plugins.host import ENTRY_POINT_GROUP

SIMULATOR_PLUGIN = "ble"
# Ten times real time: a ward bay's two-hour stay passes in twelve minutes, so a
# newcomer sees kit moving within the first minute.
SIMULATOR_SETTINGS: dict[str, Any] = {"simulate": True, "simulate_speedup": 10.0}

_SECTION = re.compile(r"^[ \t]*\[[ \t]*plugin[ \t]*\.[ \t]*ble[ \t]*\][ \t]*(#.*)?$", re.MULTILINE)


@dataclass(frozen=True)
class DemoMovement:
    moving: bool  # whether the demo's tags will move
    message: str  # one line for the user


def _section_text() -> str:
    lines = [
        "[plugin.ble]  # written by `floki-core demo`: simulated gateways move the demo tags",
        *_setting_lines(),
    ]
    return "\n".join(lines) + "\n"


def _setting_lines() -> list[str]:
    return [
        "simulate = true",
        f"simulate_speedup = {SIMULATOR_SETTINGS['simulate_speedup']}"
        "  # tags dwell and walk this many times faster than real time",
    ]


def plugin_installed(name: str = SIMULATOR_PLUGIN) -> bool:
    return any(ep.name == name for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP))


def enable_simulation(data_dir: Path, *, installed: bool | None = None) -> DemoMovement:
    """Make sure ``[plugin.ble] simulate = true`` is set, unless the user decided otherwise.

    A ``simulate`` the user wrote (true or false) is left alone; so is a config that
    defines the plugin's section in a way this edit cannot safely extend.
    """
    path = data_dir / CONFIG_FILE
    if not (plugin_installed() if installed is None else installed):
        return DemoMovement(
            False, "floki-ble is not installed: the demo's assets stay where they are."
        )
    text = path.read_text(encoding="utf-8")
    data = tomllib.loads(text)
    if SIMULATOR_PLUGIN in data.get("plugins", {}).get("disabled", []):
        return DemoMovement(
            False, f"The ble plugin is disabled in {path}: the demo's assets stay where they are."
        )
    section = data.get("plugin", {}).get(SIMULATOR_PLUGIN)
    if section is not None and "simulate" in section:
        if section["simulate"] is True:
            return DemoMovement(True, _moving(path))
        return DemoMovement(
            False, f"[plugin.ble] simulate is off in {path}: the demo's assets stay where they are."
        )
    header = _SECTION.search(text)
    if header is not None:
        insert = "\n" + "\n".join(_setting_lines())
        edited = text[: header.end()] + insert + text[header.end() :]
    elif section is None:
        edited = text + ("" if text.endswith("\n") else "\n") + "\n" + _section_text()
    else:
        return DemoMovement(
            False,
            f"Add `simulate = true` to the ble plugin's settings in {path} to see the demo's "
            "assets move.",
        )
    try:
        tomllib.loads(edited)
    except tomllib.TOMLDecodeError:
        return DemoMovement(
            False, f"Add [plugin.ble] simulate = true to {path} to see the demo's assets move."
        )
    path.write_text(edited, encoding="utf-8")
    return DemoMovement(True, _moving(path))


def _moving(path: Path) -> str:
    return (
        "Simulated BLE gateways move the demo's tags "
        f"([plugin.ble] simulate = true in {path}; set it to false to stop them)."
    )
