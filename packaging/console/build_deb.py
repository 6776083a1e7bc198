"""Build ``floki-console_<version>_<arch>.deb``: the desktop console for Debian and Ubuntu.

    .venv/bin/python packaging/console/build_deb.py [--version V] [--out DIR]

The package holds its own virtual environment under /opt/floki-console, made with the
distribution's /usr/bin/python3 from the wheels constraints.txt pins (downloaded once into
packaging/build/wheels; installing needs no network), with the parts of PySide6 the
console never loads left out (qt_parts.py). dpkg-deb builds the archive from a staging
tree; docs/console-install.md says what is inside and why.
"""

from __future__ import annotations

import argparse
import email.utils
import gzip
import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import qt_parts
import venv_tree  # packaging/venv_tree.py, shared with the appliance's build
from console_build import (
    BUILD,
    DIST,
    HERE,
    build_lock,
    console_version,
    install_console,
    run,
    say,
    source_date_epoch,
)

PACKAGE = "floki-console"
PREFIX = Path("/opt/floki-console")
SYSTEM_PYTHON = venv_tree.DEBIAN_PYTHON
MAINTAINER = "Floki maintainers <floki@example.org>"
# dpkg-deb's compressor and level: the archive is built on every CI run, so building
# quickly matters more than the last megabytes. Measured on the 130 MB staging tree
# (docs/console-install.md): gzip -1 3.0 s / 51 MiB, gzip -6 7.5 s / 47 MiB, xz -0 12 s /
# 39 MiB, xz -6 130 s / 32 MiB. zstd -3 (1.7 s / 45 MiB) is not yet a Debian archive
# member lintian accepts.
COMPRESSOR, LEVEL = "gzip", "1"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--version", help="the package version (default: the console's, Debian revision 1)"
    )
    parser.add_argument("--out", type=Path, default=DIST, help=f"where the .deb goes ({DIST})")
    parser.add_argument("--build-dir", type=Path, default=BUILD, help="staging and wheel cache")
    parser.add_argument(
        "--compression",
        default=f"{COMPRESSOR}:{LEVEL}",
        help="dpkg-deb compressor:level (default %(default)s)",
    )
    args = parser.parse_args(argv)
    version = args.version or f"{console_version()}-1"
    if not re.fullmatch(r"[0-9][A-Za-z0-9.+~-]*", version):
        parser.error(f"{version!r} is not a Debian version")
    compressor, _, level = args.compression.partition(":")
    for tool in ("dpkg-deb", "dpkg", "readelf"):
        if shutil.which(tool) is None:
            parser.error(f"{tool} is needed to build the package (apt install dpkg-dev binutils)")
    if not SYSTEM_PYTHON.exists():
        parser.error(f"{SYSTEM_PYTHON} is needed: the package runs on the system's Python")
    build_dir = args.build_dir.resolve()
    with build_lock(build_dir, "deb"):
        deb = build(version, args.out.resolve(), build_dir, compressor, level or "6")
    print(deb)
    return 0


def build(version: str, out: Path, build_dir: Path, compressor: str, level: str) -> Path:
    arch = subprocess.run(
        ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
    ).stdout.strip()
    root = build_dir / "deb" / f"{PACKAGE}_{version}_{arch}"
    shutil.rmtree(root, ignore_errors=True)
    venv = root / PREFIX.relative_to("/")
    run([SYSTEM_PYTHON, "-m", "venv", "--without-pip", venv])
    install_console(venv / "bin" / "python", build_dir, "deb")
    site_packages = next((venv / "lib").glob("python3.*/site-packages"))
    say("leaving out the parts of PySide6 the console never loads")
    qt_parts.trim_pyside(site_packages)
    for tool in (venv / "bin").glob("pyside6-*"):  # their modules are gone with the tools
        tool.unlink()
    venv_tree.relocate(venv, str(PREFIX))
    shutil.rmtree(venv / "include", ignore_errors=True)  # for building C extensions: empty
    venv_tree.compile_bytecode(root, venv)
    venv_tree.assert_no_staging_path(venv, root)
    add_desktop_files(root, version)
    depends = [*python_dependency(), *qt_parts.system_dependencies(venv)]
    venv_tree.normalise_modes(root)
    write_control(root, version, arch, depends)
    out.mkdir(parents=True, exist_ok=True)
    deb = out / f"{PACKAGE}_{version}_{arch}.deb"
    run(
        ["dpkg-deb", f"-Z{compressor}", f"-z{level}", "--root-owner-group", "--build", root, deb],
        env={**os.environ, "SOURCE_DATE_EPOCH": str(source_date_epoch())},
    )
    shutil.rmtree(root)
    say(f"{deb.name}: {deb.stat().st_size / 2**20:.1f} MiB")
    return deb


def add_desktop_files(root: Path, version: str) -> None:
    share = root / "usr" / "share"
    (root / "usr" / "bin").mkdir(parents=True)
    # Between top-level directories a symlink is absolute (Debian policy 10.5).
    (root / "usr" / "bin" / PACKAGE).symlink_to(PREFIX / "bin" / PACKAGE)
    copy(HERE / "floki-console.desktop", share / "applications" / "floki-console.desktop")
    validator = shutil.which("desktop-file-validate")
    if validator:
        run([validator, share / "applications" / "floki-console.desktop"])
    else:
        say("desktop-file-validate not found (apt install desktop-file-utils): not validated")
    icon = share / "icons" / "hicolor" / "scalable" / "apps" / "floki-console.svg"
    copy(HERE / "floki-console.svg", icon)
    doc = share / "doc" / PACKAGE
    copy(HERE / "copyright", doc / "copyright")
    # A version with a Debian revision is a packaging of the console's release.
    log = "changelog.Debian.gz" if "-" in version else "changelog.gz"
    write_gzip(doc / log, changelog(version))
    write_gzip(
        share / "man" / "man1" / "floki-console.1.gz", (HERE / "floki-console.1").read_bytes()
    )
    copy(HERE / "lintian-overrides", share / "lintian" / "overrides" / PACKAGE)


def changelog(version: str) -> bytes:
    when = email.utils.formatdate(source_date_epoch(), usegmt=False)
    return (
        f"{PACKAGE} ({version}) unstable; urgency=medium\n\n"
        "  * Built from the Floki source tree; see the project's history for changes.\n\n"
        f" -- {maintainer()}  {when}\n"
    ).encode()


def maintainer() -> str:
    name, mail = os.environ.get("DEBFULLNAME"), os.environ.get("DEBEMAIL")
    return f"{name} <{mail}>" if name and mail else MAINTAINER


def copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)


def write_gzip(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    # mtime 0 and no file name: the same input gives the same bytes (lintian checks).
    target.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))


def python_dependency() -> list[str]:
    """The venv runs on this system Python's minor version and no other."""
    out = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import sys; print(*sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    major, minor = int(out[0]), int(out[1])
    return [f"python3 (>= {major}.{minor})", f"python3 (<< {major}.{minor + 1})"]


def write_control(root: Path, version: str, arch: str, depends: list[str]) -> None:
    debian = root / "DEBIAN"
    debian.mkdir(mode=0o755)
    sums = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
        if path.is_relative_to(debian):
            continue
        digest = hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()
        sums.append(f"{digest}  {path.relative_to(root)}\n")
    (debian / "md5sums").write_text("".join(sums))
    (debian / "control").write_text(
        f"Package: {PACKAGE}\n"
        f"Version: {version}\n"
        f"Architecture: {arch}\n"
        f"Maintainer: {maintainer()}\n"
        f"Installed-Size: {venv_tree.installed_size(root)}\n"
        f"Depends: {', '.join(depends)}\n"
        # The session token is kept in the desktop's Secret Service keyring; without one
        # the console asks for the password at every start.
        "Recommends: gnome-keyring | kwalletmanager | keepassxc\n"
        "Section: utils\n"
        "Priority: optional\n"
        "Description: Floki desktop console: where the medical equipment is\n"
        " The desktop console of a Floki appliance, which tells a hospital department\n"
        " where its mobile medical equipment is. It finds the appliance on the local\n"
        " network, pins its certificate on first use and shows the assets, maps, alerts\n"
        " and PPM queues through the appliance's public API.\n"
        " .\n"
        " This package carries its own Python environment with Qt for Python\n"
        " (PySide6) under /opt/floki-console.\n"
    )
    for name in ("control", "md5sums"):
        (debian / name).chmod(0o644)


if __name__ == "__main__":
    sys.exit(main())
