"""Build the console as one folder (PyInstaller), as staff PCs get it.

    .venv/bin/python packaging/console/build_pyinstaller.py [--version V] [--out DIR]

gives ``DIR/floki-console-<version>-linux-<arch>/`` (run ``floki-console`` in it) and the
same folder as a ``.tar.gz`` beside it. PyInstaller runs in a build environment of its own
(packaging/build/pyinstaller/venv) holding only the console, its pinned dependencies and
PyInstaller, so that nothing else installed where the build is started ends up inside.
The spec, floki-console.spec, is the one Windows builds use (docs/console-install.md).
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tarfile
from pathlib import Path

from console_build import (
    BUILD,
    DIST,
    HERE,
    build_lock,
    console_version,
    install_console,
    machine,
    run,
    say,
    source_date_epoch,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", help="the version in the folder's name (the console's)")
    parser.add_argument("--out", type=Path, default=DIST, help=f"where the folder goes ({DIST})")
    parser.add_argument("--build-dir", type=Path, default=BUILD, help="build environment, cache")
    args = parser.parse_args(argv)
    version = args.version or console_version()
    if not re.fullmatch(r"[0-9][A-Za-z0-9.+~-]*", version):
        parser.error(f"{version!r} is not a version")
    build_dir = args.build_dir.resolve()
    with build_lock(build_dir, "pyinstaller"):
        folder = build(version, args.out.resolve(), build_dir)
    print(folder)
    return 0


def build(version: str, out: Path, build_dir: Path) -> Path:
    work = build_dir / "pyinstaller"
    venv = work / "venv"
    python = venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    if not python.exists():
        # The interpreter running this build (it must have a shared libpython to bundle).
        run([sys.executable, "-m", "venv", "--without-pip", venv])
    install_console(python, build_dir, "pyinstaller", extras="[package]")
    run([
        python, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
        "--distpath", work / "dist", "--workpath", work / "work", HERE / "floki-console.spec",
    ])  # fmt: skip
    name = f"floki-console-{version}-{sys.platform.removesuffix('32')}-{machine()}"
    folder = out / name
    out.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(folder, ignore_errors=True)
    shutil.move(work / "dist" / "floki-console", folder)
    archive = out / f"{name}.tar.gz"
    say(f"writing {archive.name}")
    epoch = source_date_epoch()

    def stamped(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        info.mtime = min(info.mtime, epoch)
        return info

    # The fastest gzip level: the folder is mostly compiled Qt, which barely shrinks more.
    with tarfile.open(archive, "w:gz", compresslevel=1) as tar:
        tar.add(folder, arcname=name, filter=stamped)
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())
    say(f"{name}: {size / 2**20:.0f} MiB in the folder, {archive.stat().st_size / 2**20:.0f} MiB")
    return folder


if __name__ == "__main__":
    sys.exit(main())
