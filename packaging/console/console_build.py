"""What both console builds share: where things are, the console's version, running steps."""

from __future__ import annotations

import contextlib
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator, Sequence
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: one build at a time
    fcntl = None  # type: ignore[assignment]

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CONSOLE = REPO / "console"
CONSTRAINTS = REPO / "constraints.txt"
DIST = REPO / "packaging" / "dist"
BUILD = REPO / "packaging" / "build"


def console_version() -> str:
    with (CONSOLE / "pyproject.toml").open("rb") as fh:
        return str(tomllib.load(fh)["project"]["version"])


def source_date_epoch() -> int:
    """The time the builds stamp on what they write: SOURCE_DATE_EPOCH, else the last
    commit's, so that rebuilding the same tree gives the same changelog and archives."""
    if os.environ.get("SOURCE_DATE_EPOCH"):
        return int(os.environ["SOURCE_DATE_EPOCH"])
    commit = subprocess.run(
        ["git", "-C", str(REPO), "log", "-1", "--format=%ct"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return int(commit) if commit.isdigit() else int(time.time())


def machine() -> str:
    """The architecture in the one-folder build's name (``x86_64``, ``aarch64``)."""
    return platform.machine().lower() or "unknown"


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def run(
    command: Sequence[str | Path], *, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run one build step, saying what and how long; a failed step ends the build."""
    words = [str(c) for c in command]
    say("$ " + shlex.join(words))
    started = time.monotonic()
    done = subprocess.run(words, check=False, env=env)
    say(f"  ({time.monotonic() - started:.1f} s)")
    if check and done.returncode != 0:
        raise SystemExit(f"error: a build step failed (exit {done.returncode}): {words[0]} ...")
    return done


def pip(*arguments: str | Path) -> list[str | Path]:
    """pip of the interpreter running the build (the project's venv has a recent one)."""
    return [sys.executable, "-m", "pip", "--disable-pip-version-check", *arguments]


@contextlib.contextmanager
def build_lock(build_dir: Path, name: str) -> Iterator[None]:
    """One build of a kind at a time in ``build_dir`` (builds share its staging, its
    build environment and its wheel cache); the second waits for the first."""
    build_dir.mkdir(parents=True, exist_ok=True)
    with (build_dir / f".{name}.lock").open("w") as lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def install_console(python: Path, build_dir: Path, purpose: str, extras: str = "") -> None:
    """Install the console's wheel, built from this tree, and its pinned dependencies
    into the environment of ``python``. The wheels are downloaded once into
    ``build_dir/wheels``; later builds install from there without the network."""
    wheel_dir = build_dir / f"console-wheel-{purpose}"
    shutil.rmtree(wheel_dir, ignore_errors=True)
    # setuptools builds in console/build: one wheel at a time.
    with build_lock(build_dir, "wheels"):
        run(pip("wheel", "-q", "--no-deps", "--no-build-isolation", "-w", wheel_dir, CONSOLE))
    wheel = next(wheel_dir.glob("floki_console-*.whl"))
    # By name from --find-links, not by path: pip then records no build path (direct_url).
    wanted = f"floki-console{extras}==" + wheel.name.split("-")[1]
    wheelhouse = build_dir / "wheels"
    install = pip(
        "--python", python, "install", "-q", "--no-compile", "--no-index",
        "--find-links", wheel_dir, "--find-links", wheelhouse, "-c", CONSTRAINTS, wanted,
    )  # fmt: skip
    if run(install, check=False).returncode == 0:
        return
    say(f"fetching the pinned wheels once into {wheelhouse}")
    with build_lock(build_dir, "wheels"):
        run([
            *pip("--python", python, "download", "-q", "--only-binary", ":all:"),
            "-d", wheelhouse, "-c", CONSTRAINTS, f"{wheel}{extras}",
        ])  # fmt: skip
        for copied in wheelhouse.glob("floki_console-*.whl"):  # built afresh each time
            copied.unlink()
    run(install)
