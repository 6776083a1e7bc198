"""Switching on the plugins' simulators for the demo, without importing them.

The demo hospital is static; movement comes from ``floki-ble``'s simulated gateways,
``floki-gps``'s simulated trackers, ``floki-rfid``'s emulated readers and
``floki-wifi``'s simulated access points, each enabled
by the plugin's own config section.
The core only writes those sections into the data directory's ``floki.toml``, where the
user can see them and turn them off.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from floki_core.config import config_path
from floki_core.plugins.installed import plugin_entry_points

SIMULATOR_PLUGIN = "ble"
COMMUNITY_PLUGIN = "gps"
# Ten times real time: a ward bay's two-hour stay passes in twelve minutes, so a
# newcomer sees kit moving within the first minute.
SIMULATOR_SETTINGS: dict[str, Any] = {"simulate": True, "simulate_speedup": 10.0}
# The GPS trackers' listeners on loopback only: the demo's simulated trackers connect to
# them there, and nothing outside the machine can.
COMMUNITY_SIMULATOR_SETTINGS: dict[str, Any] = {"listen_host": "127.0.0.1", **SIMULATOR_SETTINGS}
RFID_PLUGIN = "rfid"
# floki-rfid's simulated readers are LLRP emulators on free 127.0.0.1 ports, which its own
# reader sources connect to: nothing listens beyond the machine, so no address is needed.
RFID_SIMULATOR_SETTINGS: dict[str, Any] = dict(SIMULATOR_SETTINGS)

WIFI_PLUGIN = "wifi"
# floki-wifi's simulated access points send their syslog to the plugin's own listener,
# on loopback only: nothing outside the machine can reach it. The listener's port is
# one a user may bind (syslog's 514 needs root).
WIFI_SIMULATOR_SETTINGS: dict[str, Any] = {
    "listen_host": "127.0.0.1",
    "simulate": True,
    "syslog": {"udp_port": 5514},
}


@dataclass(frozen=True)
class DemoMovement:
    moving: bool  # whether the demo's tags will move
    message: str  # one line for the user


@dataclass(frozen=True)
class _Simulator:
    plugin: str
    package: str
    settings: dict[str, Any]
    comments: dict[str, str]
    header_comment: str
    what: str  # what moves: "the demo's assets"
    still: str  # what is said when it will not: "the demo's assets stay where they are"
    moving: str  # the sentence that says who moves them

    def section_header(self) -> re.Pattern[str]:
        return re.compile(
            rf"^[ \t]*\[[ \t]*plugin[ \t]*\.[ \t]*{self.plugin}[ \t]*\][ \t]*(#.*)?$",
            re.MULTILINE,
        )


_BLE = _Simulator(
    SIMULATOR_PLUGIN,
    "floki-ble",
    SIMULATOR_SETTINGS,
    {"simulate_speedup": "tags dwell and walk this many times faster than real time"},
    "simulated gateways move the demo tags",
    "the demo's assets",
    "the demo's assets stay where they are",
    "Simulated BLE gateways move the demo's tags",
)
_GPS = _Simulator(
    COMMUNITY_PLUGIN,
    "floki-gps",
    COMMUNITY_SIMULATOR_SETTINGS,
    {
        "listen_host": "the trackers' listeners, on loopback only",
        "simulate_speedup": "items stay and travel this many times faster than real time",
    },
    "simulated trackers move the community equipment",
    "the demo's community equipment",
    "the demo's community equipment stays where it is",
    "Simulated GPS trackers move the demo's community equipment",
)

_RFID = _Simulator(
    RFID_PLUGIN,
    "floki-rfid",
    RFID_SIMULATOR_SETTINGS,
    {"simulate_speedup": "kit goes in and out through the doors this many times faster"},
    "emulated LLRP readers, library and stores, on loopback",
    "the demo's RFID-labelled kit",
    "the Equipment Library's and Main Stores' RFID readers stay quiet",
    "Emulated RFID readers (LLRP on loopback) see the demo's labelled kit pass the "
    "Equipment Library and Main Stores doors",
)

_WIFI = _Simulator(
    WIFI_PLUGIN,
    "floki-wifi",
    WIFI_SIMULATOR_SETTINGS,
    {
        "listen_host": "the syslog listener, on loopback only",
        "syslog": "the port the simulated access points send their syslog to",
    },
    "simulated access points report the Wi-Fi pumps over syslog",
    "the demo's Wi-Fi pumps",
    "the demo's Wi-Fi pumps stay where they are",
    "Simulated access points report the demo's Wi-Fi pumps on Ward 5 through the syslog "
    "listener, among phones it counts and drops",
)


def _toml(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


def _setting_lines(simulator: _Simulator, missing: list[str]) -> list[str]:
    lines = []
    for key in missing:
        comment = simulator.comments.get(key)
        line = f"{key} = {_toml(simulator.settings[key])}"
        lines.append(f"{line}  # {comment}" if comment else line)
    return lines


def plugin_installed(name: str = SIMULATOR_PLUGIN) -> bool:
    return any(ep.name == name for ep in plugin_entry_points())


def enable_simulation(data_dir: Path, *, installed: bool | None = None) -> DemoMovement:
    """Make sure ``[plugin.ble] simulate = true`` is set, unless the user decided otherwise.

    A ``simulate`` the user wrote (true or false) is left alone; so is a config that
    defines the plugin's section in a way this edit cannot safely extend.
    """
    return _enable(_BLE, data_dir, installed)


def enable_community_simulation(data_dir: Path, *, installed: bool | None = None) -> DemoMovement:
    """Make sure ``[plugin.gps]`` listens on loopback with ``simulate = true``, so the
    GPS plugin's simulated trackers move the demo's community equipment through its real
    listeners; as :func:`enable_simulation`, a ``simulate`` the user wrote is obeyed, and a
    ``listen_host`` the user wrote is kept."""
    return _enable(_GPS, data_dir, installed)


def enable_rfid_simulation(data_dir: Path, *, installed: bool | None = None) -> DemoMovement:
    """Make sure ``[plugin.rfid] simulate = true`` is set: floki-rfid then emulates the
    Equipment Library's and Main Stores' LLRP readers on loopback and reads them through
    its real reader sources (docs/rfid-demo.md); as :func:`enable_simulation`, a
    ``simulate`` the user wrote is obeyed."""
    return _enable(_RFID, data_dir, installed)


def enable_wifi_simulation(data_dir: Path, *, installed: bool | None = None) -> DemoMovement:
    """Make sure ``[plugin.wifi]`` listens on loopback with ``simulate = true``, so
    floki-wifi's simulated access points report the demo's Wi-Fi pumps through its real
    syslog listener (docs/wifi-demo.md); as :func:`enable_simulation`, a ``simulate`` the
    user wrote is obeyed, and a ``listen_host`` or ``syslog`` table the user wrote is kept."""
    return _enable(_WIFI, data_dir, installed)


def _enable(simulator: _Simulator, data_dir: Path, installed: bool | None) -> DemoMovement:
    path = config_path(data_dir)
    name, what = simulator.plugin, simulator.what
    if not (plugin_installed(name) if installed is None else installed):
        return DemoMovement(False, f"{simulator.package} is not installed: {simulator.still}.")
    text = path.read_text(encoding="utf-8")
    data = tomllib.loads(text)
    if name in data.get("plugins", {}).get("disabled", []):
        return DemoMovement(False, f"The {name} plugin is disabled in {path}: {simulator.still}.")
    section = data.get("plugin", {}).get(name)
    if section is not None and "simulate" in section:
        if section["simulate"] is True:
            return DemoMovement(True, _moving(simulator, path))
        return DemoMovement(False, f"[plugin.{name}] simulate is off in {path}: {simulator.still}.")
    missing = [key for key in simulator.settings if section is None or key not in section]
    header = simulator.section_header().search(text)
    if header is not None:
        insert = "\n" + "\n".join(_setting_lines(simulator, missing))
        edited = text[: header.end()] + insert + text[header.end() :]
    elif section is None:
        lines = [
            f"[plugin.{name}]  # written by `floki-core demo`: {simulator.header_comment}",
            *_setting_lines(simulator, missing),
        ]
        edited = text + ("" if text.endswith("\n") else "\n") + "\n" + "\n".join(lines) + "\n"
    else:
        return DemoMovement(
            False,
            f"Add `simulate = true` to the {name} plugin's settings in {path} to see {what} move.",
        )
    try:
        tomllib.loads(edited)
    except tomllib.TOMLDecodeError:
        return DemoMovement(
            False, f"Add [plugin.{name}] simulate = true to {path} to see {what} move."
        )
    path.write_text(edited, encoding="utf-8")
    return DemoMovement(True, _moving(simulator, path))


def _moving(simulator: _Simulator, path: Path) -> str:
    return (
        f"{simulator.moving} ([plugin.{simulator.plugin}] simulate = true in {path}; "
        "set it to false to stop them)."
    )
