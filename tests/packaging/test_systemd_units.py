"""The appliance's systemd units, checked with systemd's own tools.

``systemd-analyze security --offline=true`` scores each service's sandbox (the lower the
better; the appliance must stay at 2.5 or below), ``systemd-analyze verify`` must have
nothing to say about any unit, and the hardening settings docs/operations.md explains must
stay in the files: dropping one is a test failure here, not a quiet regression.
"""

from __future__ import annotations

import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.fixtures.requirements import missing, require_binary

PACKAGING = Path(__file__).resolve().parents[2] / "packaging"
SERVICES = ("floki.service", "floki-backup.service")
UNITS = (*SERVICES, "floki-backup.timer")
MAX_EXPOSURE = 2.5
EXPOSURE = re.compile(r"Overall exposure level for \S+: (\d+\.\d+) ")
# Where systemd keeps the units every system has (targets the appliance's units order
# themselves after); verify needs them inside the root it checks.
SYSTEM_UNIT_DIRS = (Path("/usr/lib/systemd/system"), Path("/lib/systemd/system"))

BACKUP_COMMAND = (
    "/opt/floki/bin/floki-core --data-dir /var/lib/floki backup"
    " --dir /var/lib/floki/backups --keep 7"
)
# Settings both services must carry, exactly as written.
SHARED_HARDENING = {
    "User": ["floki"],
    "Group": ["floki"],
    "StateDirectory": ["floki"],
    "UMask": ["0077"],
    "NoNewPrivileges": ["true"],
    "ProtectSystem": ["strict"],
    "ProtectHome": ["true"],
    "PrivateTmp": ["true"],
    "PrivateMounts": ["true"],
    "ProtectProc": ["invisible"],
    "ProcSubset": ["pid"],
    "ProtectKernelTunables": ["true"],
    "ProtectKernelModules": ["true"],
    "ProtectKernelLogs": ["true"],
    "ProtectControlGroups": ["true"],
    "ProtectClock": ["true"],
    "ProtectHostname": ["true"],
    "RestrictNamespaces": ["true"],
    "RestrictRealtime": ["true"],
    "RestrictSUIDSGID": ["true"],
    "LockPersonality": ["true"],
    "MemoryDenyWriteExecute": ["true"],
    "RemoveIPC": ["true"],
    "SystemCallArchitectures": ["native"],
    "SystemCallFilter": ["@system-service", "~@privileged @resources"],
}
APPLIANCE_HARDENING = {
    **SHARED_HARDENING,
    "ExecStart": ["/opt/floki/bin/floki-core --data-dir /var/lib/floki serve"],
    "Restart": ["on-failure"],
    "Environment": ["FLOKI_CONFIG=/etc/floki/floki.toml"],
    "SupplementaryGroups": ["bluetooth dialout"],
    "CapabilityBoundingSet": ["CAP_NET_BIND_SERVICE"],
    "AmbientCapabilities": ["CAP_NET_BIND_SERVICE"],
    "RestrictAddressFamilies": ["AF_UNIX AF_INET AF_INET6 AF_NETLINK AF_BLUETOOTH"],
    "DevicePolicy": ["closed"],
    "DeviceAllow": ["char-ttyS rw", "char-ttyUSB rw", "char-ttyACM rw"],
}
BACKUP_HARDENING = {
    **SHARED_HARDENING,
    "StateDirectory": ["floki floki/backups"],
    "Type": ["oneshot"],
    "Environment": ["FLOKI_CONFIG=/etc/floki/floki.toml"],
    "ExecStart": [BACKUP_COMMAND],
    "CapabilityBoundingSet": [""],
    "PrivateDevices": ["true"],
    "RestrictAddressFamilies": ["AF_UNIX AF_INET AF_INET6"],
}
TIMER = {
    "OnCalendar": ["*-*-* 02:30:00"],
    "RandomizedDelaySec": ["30min"],
    "Persistent": ["true"],
    "Unit": ["floki-backup.service"],
}


def settings(unit: str, section: str) -> dict[str, list[str]]:
    """One section of a unit file: each key with its values in order (keys may repeat)."""
    found: dict[str, list[str]] = {}
    current = None
    for raw in (PACKAGING / unit).read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = line.strip("[]")
        elif current == section:
            key, _, value = line.partition("=")
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def analyze() -> str:
    return require_binary("systemd-analyze")


def exposure(unit: str) -> float:
    result = subprocess.run(
        [analyze(), "security", "--offline=true", "--no-pager", str(PACKAGING / unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    match = EXPOSURE.search(result.stdout)
    assert match, f"no exposure figure for {unit}:\n{result.stdout}{result.stderr}"
    return float(match.group(1))


def verify_root(root: Path, units: dict[str, str]) -> list[str]:
    """A root holding the system's own units, ``units`` and a stub at each ExecStart.

    ``verify`` checks that every ExecStart program exists and is executable, and
    /opt/floki is only there once the package is installed; inside ``--root`` the stub
    stands in for it, so everything else in the files is checked for real.
    """
    system = next((d for d in SYSTEM_UNIT_DIRS if (d / "sysinit.target").exists()), None)
    if system is None:
        missing("systemd's own units (sysinit.target)")
    shutil.copytree(system, root / "usr/lib/systemd/system", symlinks=True)
    unit_dir = root / "etc/systemd/system"
    unit_dir.mkdir(parents=True)
    for name, text in units.items():
        (unit_dir / name).write_text(text, encoding="utf-8")
        for command in settings_of(text).get("ExecStart", []):
            program = root / command.split()[0].lstrip("/")
            program.parent.mkdir(parents=True, exist_ok=True)
            program.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
            program.chmod(program.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    result = subprocess.run(
        [analyze(), "verify", f"--root={root}", *units],
        capture_output=True,
        text=True,
        timeout=60,
    )
    complaints = (result.stdout + result.stderr).splitlines()
    if result.returncode != 0 and not complaints:
        complaints = [f"systemd-analyze verify exited {result.returncode}"]
    return complaints


def settings_of(text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for raw in text.splitlines():
        key, sep, value = raw.partition("=")
        if sep and not raw.lstrip().startswith(("#", ";", "[")):
            found.setdefault(key.strip(), []).append(value.strip())
    return found


@pytest.mark.parametrize("unit", SERVICES)
def test_exposure_is_at_most_2_5(unit: str) -> None:
    score = exposure(unit)
    print(f"{unit}: exposure {score}")
    assert score <= MAX_EXPOSURE, f"{unit} scores {score}, above {MAX_EXPOSURE}"


def test_verify_has_no_complaints(tmp_path: Path) -> None:
    units = {name: (PACKAGING / name).read_text(encoding="utf-8") for name in UNITS}
    assert verify_root(tmp_path, units) == []


def test_verify_reports_a_mistyped_setting(tmp_path: Path) -> None:
    """The check above would pass vacuously if verify read nothing; a typo must show."""
    text = (PACKAGING / "floki.service").read_text(encoding="utf-8")
    broken = text.replace("ProtectSystem=strict", "ProtectSystem=strickt")
    assert broken != text
    complaints = verify_root(tmp_path, {"floki.service": broken})
    assert any("strickt" in line for line in complaints), complaints


@pytest.mark.parametrize(
    ("unit", "section", "expected"),
    [
        ("floki.service", "Service", APPLIANCE_HARDENING),
        ("floki-backup.service", "Service", BACKUP_HARDENING),
        ("floki-backup.timer", "Timer", TIMER),
    ],
)
def test_named_settings_are_present(
    unit: str, section: str, expected: dict[str, list[str]]
) -> None:
    present = settings(unit, section)
    wrong = {
        key: (values, present.get(key))
        for key, values in expected.items()
        if present.get(key) != values
    }
    assert wrong == {}, f"{unit}: expected (wanted, found): {wrong}"


def test_appliance_keeps_no_write_access_beyond_its_state() -> None:
    """ReadWritePaths/PrivateUsers would widen or break the sandbox (see operations.md)."""
    present = settings("floki.service", "Service")
    assert "ReadWritePaths" not in present
    assert "PrivateUsers" not in present
