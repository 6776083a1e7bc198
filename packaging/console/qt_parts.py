"""Which parts of PySide6 the console ships, and which Debian packages the rest needs.

The PySide6 wheels hold all of Qt (WebEngine, Quick, 3D, Multimedia, tools: 650 MB
unpacked). The console imports six Qt modules; shipping only those, the libraries they
and the kept plugins load, and nothing for QML or translations, cuts the installed
console to about a third (see docs/console-install.md for the measurements).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

# The Qt modules floki_console imports (grep "from PySide6" console/floki_console).
QT_MODULES = ("QtCore", "QtGui", "QtWidgets", "QtNetwork", "QtPrintSupport", "QtCharts")

# Plugin folders a desktop session loads from: displays (X11, Wayland, offscreen for
# --check over ssh), themes, input methods, images and icons, TLS, printing.
QT_PLUGIN_DIRS = (
    "platforms",
    "platformthemes",
    "platforminputcontexts",
    "imageformats",
    "iconengines",
    "xcbglintegrations",
    "wayland-decoration-client",
    "wayland-graphics-integration-client",
    "wayland-shell-integration",
    "generic",
    "tls",
    "networkinformation",
    "printsupport",
)

# Plugins left out although their folder stays: each would bring a large library or a
# foreign toolkit for something a staff PC's console never does.
QT_PLUGINS_LEFT_OUT = (
    "platforminputcontexts/libqtvirtualkeyboardplugin.so",  # Qt Quick + QML (touch kiosks)
    "platformthemes/libqgtk3.so",  # GTK 3; the desktop portal theme gives native dialogs
    "platforms/libqeglfs.so",  # full-screen embedded displays without a desktop
    "platforms/libqminimalegl.so",
    "platforms/libqlinuxfb.so",
    "platforms/libqvnc.so",
    "platforms/libqvkkhrdisplay.so",
    "imageformats/libqpdf.so",  # Qt PDF (Chromium's PDFium): the console shows no PDFs
    "imageformats/libqtiff.so",  # its own libtiff; floor plans are PNG or JPEG
)

# Whole folders of the PySide6 package the console never uses at run time.
PYSIDE_LEFT_OUT = (
    "Qt/qml",
    "Qt/translations",  # the console is in English and loads no Qt translation
    "Qt/resources",  # WebEngine's
    "Qt/libexec",  # WebEngine's helper process, build tools
    "Qt/metatypes",
    "include",
    "typesystems",
    "glue",
    "doc",
    "scripts",  # the pyside6-* developer tools
    "QtAsyncio",  # the console runs on qasync
)
PYSIDE_TOOLS = (
    "assistant",
    "balsam",
    "balsamui",
    "designer",
    "linguist",
    "lrelease",
    "lupdate",
    "qmlformat",
    "qmllint",
    "qmlls",
    "qsb",
    "svgtoqml",
)

# The shared libraries the kept Qt (and the Python extensions) load from the system, and
# the Debian package that provides each. A library missing here fails the build, so a
# newer PySide6 cannot quietly need something the package does not depend on.
SYSTEM_LIBRARIES = {
    "ld-linux-x86-64.so.2": "libc6",
    "ld-linux-aarch64.so.1": "libc6",
    "libc.so.6": "libc6",
    "libm.so.6": "libc6",
    "libdl.so.2": "libc6",
    "libpthread.so.0": "libc6",
    "libresolv.so.2": "libc6",
    "librt.so.1": "libc6",
    "libstdc++.so.6": "libstdc++6",
    "libgcc_s.so.1": "libgcc-s1",
    "libz.so.1": "zlib1g",
    "libzstd.so.1": "libzstd1",
    "libbrotlidec.so.1": "libbrotli1",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgobject-2.0.so.0": "libglib2.0-0",
    "libgio-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libdbus-1.so.3": "libdbus-1-3",
    "libgssapi_krb5.so.2": "libgssapi-krb5-2",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libharfbuzz.so.0": "libharfbuzz0b",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libOpenGL.so.0": "libopengl0",
    "libcups.so.2": "libcups2",
    "libdrm.so.2": "libdrm2",
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxcb.so.1": "libxcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-glx.so.0": "libxcb-glx0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libwayland-client.so.0": "libwayland-client0",
    "libwayland-cursor.so.0": "libwayland-cursor0",
    "libwayland-egl.so.1": "libwayland-egl1",
}
# The PySide6 wheels are manylinux_2_34: built against glibc 2.34.
MINIMUM_VERSIONS = {"libc6": "2.34"}


def needed_libraries(elf: Path) -> list[str]:
    """The DT_NEEDED entries of one ELF file (readelf, from binutils)."""
    out = subprocess.run(
        ["readelf", "--dynamic", "--wide", str(elf)], capture_output=True, text=True, check=False
    ).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", out)


def is_elf(path: Path) -> bool:
    if not path.is_file() or path.is_symlink():
        return False
    with path.open("rb") as fh:
        return fh.read(4) == b"\x7fELF"


def trim_pyside(site_packages: Path) -> None:
    """Remove what the console never loads from an installed PySide6, in place."""
    pyside = site_packages / "PySide6"
    for binding in [*pyside.glob("Qt*.abi3.so"), *pyside.glob("*.pyi")]:
        if binding.name.split(".")[0] not in QT_MODULES or binding.suffix == ".pyi":
            binding.unlink()
    for name in ("libpyside6qml.abi3.so.6.11", *PYSIDE_TOOLS):
        for found in pyside.glob(name.replace("6.11", "*")):
            found.unlink()
    for folder in PYSIDE_LEFT_OUT:
        shutil.rmtree(pyside / folder, ignore_errors=True)
    plugins = pyside / "Qt" / "plugins"
    for folder in plugins.iterdir():
        if folder.name not in QT_PLUGIN_DIRS:
            shutil.rmtree(folder)
    for plugin in QT_PLUGINS_LEFT_OUT:
        (plugins / plugin).unlink(missing_ok=True)
    # The Qt libraries: only those the kept bindings and plugins load, directly or not.
    qt_lib = pyside / "Qt" / "lib"
    bundled = {p.name for p in qt_lib.iterdir()}
    roots = [p for p in pyside.rglob("*") if is_elf(p) and p.parent != qt_lib]
    roots += [p for p in (site_packages / "shiboken6").rglob("*") if is_elf(p)]
    kept: set[str] = set()
    todo = list(roots)
    while todo:
        for name in needed_libraries(todo.pop()):
            if name in bundled and name not in kept:
                kept.add(name)
                todo.append(qt_lib / name)
    for library in qt_lib.iterdir():
        if library.name not in kept:
            library.unlink()


def system_dependencies(root: Path) -> list[str]:
    """Debian package relations for every library the ELF files under ``root`` load from
    the system; the ones they bring along (Qt's own, libshiboken) are left out."""
    elves = [p for p in root.rglob("*") if is_elf(p)]
    inside = {p.name for p in elves}
    unknown: dict[str, Path] = {}
    packages: set[str] = set()
    for elf in elves:
        for name in needed_libraries(elf):
            if name in inside or name.startswith(("libpyside6", "libshiboken6")):
                continue
            if name in SYSTEM_LIBRARIES:
                packages.add(SYSTEM_LIBRARIES[name])
            else:
                unknown[name] = elf
    if unknown:
        lines = "\n".join(f"  {n} (needed by {p.relative_to(root)})" for n, p in unknown.items())
        raise SystemExit(
            "error: no Debian package is known for these libraries; add them to "
            f"SYSTEM_LIBRARIES in {Path(__file__).name}:\n{lines}"
        )
    return [
        f"{p} (>= {MINIMUM_VERSIONS[p]})" if p in MINIMUM_VERSIONS else p for p in sorted(packages)
    ]


def unneeded_libraries(binaries: list[tuple[str, str]]) -> set[str]:
    """Of a one-folder build's binaries (destination, source), the shared libraries that
    nothing kept loads any more: Qt's own (``PySide6/Qt/lib``) and the system's copied
    beside the program. Python extensions, Qt plugins and everything else are the roots."""

    def prunable(dest: str) -> bool:
        path = Path(dest)
        if path.name.startswith("libpython"):  # the bootloader loads it by name
            return False
        return path.parent == Path("PySide6/Qt/lib") or (
            len(path.parts) == 1 and path.name.startswith("lib") and ".so" in path.name
        )

    by_name: dict[str, list[str]] = {}
    for dest, _ in binaries:
        by_name.setdefault(Path(dest).name, []).append(dest)
    sources = dict(binaries)
    kept: set[str] = set()
    todo = [dest for dest, _ in binaries if not prunable(dest)]
    kept.update(todo)
    while todo:
        for name in needed_libraries(Path(sources[todo.pop()])):
            for dest in by_name.get(name, []):
                if dest not in kept:
                    kept.add(dest)
                    todo.append(dest)
    return {dest for dest, _ in binaries if dest not in kept}
