"""A Python environment staged for a Debian package, made ready for its installed place.

Both packages (the appliance's under /opt/floki, the console's under /opt/floki-console)
build their environment in a staging tree with Debian's own python3, then: rewrite the
staging path to the installed one in the files that record it, compile the bytecode
naming the installed paths, check no staging path is left, and set the modes and the
size dpkg expects. Used by packaging/deb/build.py and packaging/console/build_deb.py.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

DEBIAN_PYTHON = Path("/usr/bin/python3")


def relocate(venv: Path, prefix: str) -> None:
    """Point the scripts' shebangs and the environment's own records at ``prefix``."""
    staged, installed = str(venv).encode(), prefix.encode()
    texts = [p for p in (venv / "bin").iterdir() if p.is_file() and not p.is_symlink()]
    for path in [*texts, venv / "pyvenv.cfg"]:
        data = path.read_bytes()
        if staged in data and not data.startswith(b"\x7fELF"):
            path.write_bytes(data.replace(staged, installed))
    for record in venv.glob("lib/python3*/site-packages/*.dist-info/direct_url.json"):
        record.unlink()  # names the build machine's wheel folder; not needed to run


def compile_bytecode(root: Path, venv: Path) -> None:
    """Bytecode compiled now, naming the installed paths in tracebacks and never checked
    against the sources' times (the package replaces both together): the services that
    run it cannot write their own (a read-only /opt)."""
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPYCACHEPREFIX"}
    subprocess.run(
        [
            DEBIAN_PYTHON, "-m", "compileall", "-q", "-j0", "-s", root, "-p", "/",
            "--invalidation-mode", "unchecked-hash", venv / "lib",
        ],
        check=True,
        env=environment,
    )  # fmt: skip


def assert_no_staging_path(venv: Path, root: Path) -> None:
    staged = str(root).encode()
    left = [
        p.relative_to(root)
        for p in venv.rglob("*")
        if p.is_file() and not p.is_symlink() and staged in p.read_bytes()
    ]
    if left:
        raise SystemExit(f"error: the staging path is still written in {left[:5]}")


def normalise_modes(root: Path) -> None:
    """0755 for folders, programs and scripts that say their interpreter; 0644 for the
    rest, whatever the umask was (the wheels mark every shared library executable, some
    modules too, and venv's activate scripts are sourced, not run)."""
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        if path.is_dir():
            path.chmod(0o755)
            continue
        with path.open("rb") as fh:
            head = fh.read(4)
        program = (
            path.stat().st_mode & stat.S_IXUSR
            and ".so" not in path.name
            and (head == b"\x7fELF" or head.startswith(b"#!"))
        )
        path.chmod(0o755 if program else 0o644)


def installed_size(root: Path) -> int:
    """In KiB, counted as dpkg-gencontrol does: each file rounded up, one per other entry."""
    total = 0
    for path in root.rglob("*"):
        if path.is_relative_to(root / "DEBIAN"):
            continue
        if path.is_file() and not path.is_symlink():
            total += (path.stat().st_size + 1023) // 1024
        else:
            total += 1
    return total
