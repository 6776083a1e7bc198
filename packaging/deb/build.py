"""Build the appliance's Debian package: ``packaging/dist/floki_<version>_<arch>.deb``.

The package is self-contained: a virtual environment under ``/opt/floki``, made with
Debian's own ``/usr/bin/python3`` from wheels pinned by ``constraints.txt`` (the network
is used here, at build time, never at install time), holding the core and every built-in
plugin. The environment is built in a staging tree and its recorded paths (script
shebangs, ``pyvenv.cfg``, ``activate``) are rewritten to ``/opt/floki``; the bytecode is
compiled with the installed paths, so tracebacks name real files. ``dpkg-deb`` writes the
archive (no archive writer of our own). docs/operations.md, "Install on an appliance".

    .venv/bin/python packaging/deb/build.py [--version V] [--out DIR]
"""

from __future__ import annotations

import argparse
import gzip
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import venv_tree  # packaging/venv_tree.py, shared with the console's build

HERE = Path(__file__).resolve().parent
TREE = HERE.parents[1]
PACKAGING = HERE.parent
BUILD = PACKAGING / "build" / "deb"
# The pinned requirements' wheels, kept between builds; the floki wheels, made afresh.
WHEELS = PACKAGING / "build" / "appliance-wheels"
OURS = BUILD / "floki-wheels"
PREFIX = "/opt/floki"
UNITS = ("floki.service", "floki-backup.service", "floki-backup.timer")
MAINTAINER_SCRIPTS = ("preinst", "postinst", "prerm", "postrm")
MAINTAINER = "Floki maintainers <maintainers@floki.invalid>"

# Why each relation is there (binary control files carry no comments):
# - python3, python3.11: the environment's interpreter is Debian's (bin/python3 links
#   to python3.11; some of its libraries' scripts name python3).
# - libc6 (>= 2.28): the compiled wheels are built for manylinux_2_28 at most.
# - adduser: postinst makes the floki system user.
# - init-system-helpers: deb-systemd-helper/-invoke enable and start the units.
# - Recommends bluez: the BLE radio is reached through BlueZ over D-Bus; gateways-only
#   sites (Minew, Cassia, ESPresense over MQTT) do without it.
# - Recommends postgresql-client: pg_dump, without which a site on PostgreSQL takes no
#   backup, nightly or before an upgrade (an upgrade then stops).
# - Suggests postgresql (larger sites, trust hub), mosquitto (ESPresense/MQTT gateways
#   that need a broker on the appliance).
DEPENDS = ", ".join(
    (
        "python3 (>= 3.11)",
        "python3 (<< 3.12)",
        "python3.11 (>= 3.11.2)",
        "libc6 (>= 2.28)",
        "adduser",
        "init-system-helpers (>= 1.54~)",
    )
)
RECOMMENDS = "bluez, postgresql-client"
SUGGESTS = "postgresql, mosquitto"


def run(*command: str | Path, cwd: Path | None = None) -> None:
    subprocess.run([str(c) for c in command], check=True, cwd=cwd)


def floki_distributions() -> list[Path]:
    """The core and every built-in plugin (the console is its own package)."""
    return [TREE, *sorted(p.parent for p in (TREE / "plugins").glob("*/pyproject.toml"))]


def core_version() -> str:
    text = (TREE / "floki_core" / "__init__.py").read_text(encoding="utf-8")
    found = re.search(r'^__version__ = "([^"]+)"', text, re.M)
    if found is None:
        raise SystemExit("build: no __version__ in floki_core/__init__.py")
    return found.group(1)


def architecture() -> str:
    done = subprocess.run(
        ["dpkg", "--print-architecture"], check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


def build_wheels(python: Path) -> list[Path]:
    """Wheels of every floki distribution (always rebuilt) and their pinned requirements
    (kept between builds in packaging/build/wheels)."""
    WHEELS.mkdir(parents=True, exist_ok=True)
    OURS.mkdir(parents=True, exist_ok=True)
    for stale in WHEELS.glob("floki*.whl"):  # pip wheel copies ours there too
        stale.unlink()
    # Built with the build environment's own pinned setuptools (no isolated environment
    # fetched per distribution: most of the time this step would take).
    run(
        python, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check",
        "--no-deps", "--no-build-isolation", "--wheel-dir", OURS,
        "-c", TREE / "constraints.txt", *floki_distributions(),
    )  # fmt: skip
    ours = sorted(OURS.glob("floki*.whl"))
    # Their requirements, exactly as pinned; wheels already here are not fetched again.
    run(
        python, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check",
        "--wheel-dir", WHEELS, "--find-links", WHEELS, "--find-links", OURS,
        "-c", TREE / "constraints.txt", *ours,
    )  # fmt: skip
    return ours


def make_environment(root: Path, floki_wheels: list[Path], python: Path) -> Path:
    """The environment, without pip of its own: the build's pip installs into it (and an
    administrator adds a third-party plugin with Debian's: docs/operations.md)."""
    venv = root / PREFIX.lstrip("/")
    run(venv_tree.DEBIAN_PYTHON, "-m", "venv", "--without-pip", venv)
    run(
        python, "-m", "pip", "--python", venv / "bin" / "python", "install", "--quiet",
        "--no-compile", "--disable-pip-version-check", "--no-index", "--find-links", WHEELS,
        "-c", TREE / "constraints.txt", *floki_wheels,
    )  # fmt: skip
    return venv


def strip_tests(venv: Path) -> None:
    """The test suites some wheels ship (numpy's alone is 900 files): never run on the
    appliance. Floki's own packages keep everything."""
    site = next(venv.glob("lib/python3*/site-packages"))
    for package in site.iterdir():
        if not package.is_dir() or package.name.startswith("floki"):
            continue
        for folder in sorted(package.rglob("tests"), reverse=True):
            if folder.is_dir():
                shutil.rmtree(folder)


def place_files(root: Path, version: str) -> None:
    units = root / "lib" / "systemd" / "system"
    units.mkdir(parents=True)
    for unit in UNITS:
        shutil.copy(PACKAGING / unit, units / unit)
    bin_dir = root / "usr" / "bin"
    bin_dir.mkdir(parents=True)
    shutil.copy(HERE / "floki-core", bin_dir / "floki-core")
    etc = root / "etc" / "floki"
    etc.mkdir(parents=True)
    (etc / "floki.toml").write_text(default_config(), encoding="utf-8")
    doc = root / "usr" / "share" / "doc" / "floki"
    doc.mkdir(parents=True)
    shutil.copy(HERE / "copyright", doc / "copyright")
    changelog = HERE / "changelog"
    with gzip.GzipFile(doc / "changelog.gz", "wb", mtime=0, compresslevel=9) as out:
        out.write(changelog.read_bytes().replace(b"@VERSION@", version.encode()))
    overrides = root / "usr" / "share" / "lintian" / "overrides"
    overrides.mkdir(parents=True)
    shutil.copy(HERE / "lintian-overrides", overrides / "floki")


def default_config() -> str:
    """The conffile: the same commented template ``floki-core init`` writes."""
    sys.path.insert(0, str(TREE))
    from floki_core.initialise import CONFIG_TEMPLATE

    return CONFIG_TEMPLATE.format(
        site='"Floki"',
        database='# url = "postgresql://floki@db.example/floki"   # default: SQLite file '
        "floki.db in /var/lib/floki",
    )


def write_control(root: Path, version: str, arch: str) -> None:
    debian = root / "DEBIAN"
    debian.mkdir()
    description = textwrap.dedent(
        """\
        hospital equipment tracking appliance
         Floki tells a hospital department where its medical equipment is, what
         state it is in and what is due for planned maintenance. It takes BLE, RFID,
         GPS, Wi-Fi and QR sightings through its plugins, locates each asset, and
         serves the department's console and phone pages over HTTPS.
         .
         This package holds the appliance with every built-in plugin in its own
         Python environment under /opt/floki, the floki systemd service and a
         nightly backup timer."""
    )
    control = {
        "Package": "floki",
        "Version": version,
        "Architecture": arch,
        "Maintainer": MAINTAINER,
        "Installed-Size": str(venv_tree.installed_size(root)),
        "Depends": DEPENDS,
        "Recommends": RECOMMENDS,
        "Suggests": SUGGESTS,
        "Section": "net",
        "Priority": "optional",
        "Description": description,
    }
    (debian / "control").write_text(
        "".join(f"{key}: {value}\n" for key, value in control.items()), encoding="utf-8"
    )
    (debian / "conffiles").write_text("/etc/floki/floki.toml\n", encoding="utf-8")
    for script in MAINTAINER_SCRIPTS:
        target = debian / script
        shutil.copy(HERE / script, target)
        target.chmod(0o755)


def build(version: str, out: Path) -> Path:
    arch = architecture()
    root = BUILD / "root"
    shutil.rmtree(BUILD, ignore_errors=True)
    root.mkdir(parents=True)
    wheels = build_wheels(Path(sys.executable))
    venv = make_environment(root, wheels, Path(sys.executable))
    strip_tests(venv)
    venv_tree.relocate(venv, PREFIX)
    venv_tree.compile_bytecode(root, venv)
    venv_tree.assert_no_staging_path(venv, root)
    place_files(root, version)
    venv_tree.normalise_modes(root)
    write_control(root, version, arch)
    out.mkdir(parents=True, exist_ok=True)
    deb = out / f"floki_{version}_{arch}.deb"
    # gzip: 5 s where xz takes 50 s, for a package a third bigger; zstd would be as fast
    # but Debian's archive (and lintian) take only gz and xz members.
    run("dpkg-deb", "--root-owner-group", "-Zgzip", "-z6", "--build", root, deb)
    return deb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", default=core_version(), help="package version")
    parser.add_argument(
        "--out", type=Path, default=PACKAGING / "dist", help="where the .deb is written"
    )
    args = parser.parse_args(argv)
    if not re.fullmatch(r"[0-9][A-Za-z0-9.+~]*", args.version):
        parser.error(f"--version {args.version!r} is not a Debian native version")
    if not venv_tree.DEBIAN_PYTHON.exists():
        parser.error(f"{venv_tree.DEBIAN_PYTHON} is missing: apt install python3 python3-venv")
    print(build(args.version, args.out.absolute()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
