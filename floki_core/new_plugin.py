"""``floki-core new-plugin NAME --kind source|notifier|rule``: a complete plugin
distribution to start from, which passes its own conformance tests as written.

The files come from ``floki_core/plugin_template/<kind>/`` (``.tmpl`` files, with
``$package``-style placeholders; a path segment ``__package__`` becomes the package's
name). Everything is written to a temporary directory beside the target and renamed into
place at the end, so a refused or failed run leaves nothing behind.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import keyword
import re
import shutil
import string
import tempfile
from dataclasses import dataclass
from pathlib import Path

from floki_core import PLUGIN_API, __version__

KINDS = ("source", "notifier", "rule")
TEMPLATES = Path(__file__).with_name("plugin_template")
ENTRY_POINT_GROUP = "floki"
_NAME = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")


class NewPluginError(Exception):
    """The plugin cannot be written: the reason, in one line."""


@dataclass(frozen=True)
class PluginNames:
    """What one plugin is called in each place a name appears."""

    plugin: str  # entry-point and [plugin.<name>] name: "demo-gw"
    package: str  # "floki_demo_gw"
    distribution: str  # "floki-demo-gw"
    title: str  # "Demo gw"
    class_prefix: str  # "DemoGw"
    rule_type: str  # "demo_gw_crowded_zone"


def names_for(raw: str) -> PluginNames:
    """The names of plugin ``raw``; ``NewPluginError`` if it cannot be a plugin's name."""
    plugin = raw.strip().lower().replace("_", "-").replace(".", "-")
    if plugin.startswith("floki-"):
        plugin = plugin[len("floki-") :]
    if not _NAME.fullmatch(plugin):
        raise NewPluginError(
            f"{raw!r} is not a plugin name: use lower-case letters and digits, words joined "
            "by '-', starting with a letter (e.g. demo-gw)"
        )
    stem = plugin.replace("-", "_")
    if not stem.isidentifier() or keyword.iskeyword(stem) or len(stem) > 24:
        raise NewPluginError(f"{raw!r} is not a plugin name: {stem!r} is no Python name")
    words = plugin.split("-")
    return PluginNames(
        plugin=plugin,
        package=f"floki_{stem}",
        distribution=f"floki-{plugin}",
        title=" ".join(words).capitalize(),
        class_prefix="".join(w.capitalize() for w in words),
        rule_type=f"{stem}_crowded_zone",
    )


def taken(names: PluginNames) -> str | None:
    """Why the name is already someone's, or None."""
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name.replace("_", "-") == names.plugin:
            owner = f" (from {ep.dist.name})" if ep.dist is not None else ""
            return f"plugin {names.plugin!r} is already installed{owner}"
    try:
        importlib.metadata.distribution(names.distribution)
    except importlib.metadata.PackageNotFoundError:
        pass
    else:
        return f"a distribution named {names.distribution} is already installed"
    if importlib.util.find_spec(names.package) is not None:
        return f"a package named {names.package} can already be imported"
    return None


def core_requirement() -> str:
    """floki-core from this release up to the next minor one (minor releases of a 0.x
    core may change the plugin surface; PLUGIN_API says which)."""
    major, minor, *_ = (int(part) for part in re.findall(r"\d+", __version__)[:3])
    return f"floki-core>={__version__},<{major}.{minor + 1}"


# What each kind imports besides floki-core (msgspec for its settings).
REQUIREMENTS = {
    "source": ("msgspec>=0.18",),
    "notifier": ("msgspec>=0.18", "aiohttp>=3.10"),
    "rule": ("msgspec>=0.18",),
}


def substitutions(names: PluginNames, kind: str) -> dict[str, str]:
    api_major = PLUGIN_API[0]
    requirements = (core_requirement(), *REQUIREMENTS[kind])
    return {
        "dependencies": ", ".join(f'"{r}"' for r in requirements),
        "plugin": names.plugin,
        "package": names.package,
        "distribution": names.distribution,
        "title": names.title,
        "class_prefix": names.class_prefix,
        "rule_type": names.rule_type,
        "kind": kind,
        "core_requirement": core_requirement(),
        "api_range": f">={api_major}.{PLUGIN_API[1]},<{api_major + 1}",
        "core_version": __version__,
    }


def generate(raw_name: str, kind: str, target: Path | None = None) -> Path:
    """Write the distribution for plugin ``raw_name`` of ``kind``; returns its folder
    (``target``, default ``./floki-<name>``). Nothing is written when refused."""
    if kind not in KINDS:
        raise NewPluginError(f"--kind must be one of {', '.join(KINDS)}, not {kind!r}")
    names = names_for(raw_name)
    problem = taken(names)
    if problem is not None:
        raise NewPluginError(f"{problem}; choose another name")
    target = (target or Path(names.distribution)).absolute()
    if target.exists() or target.is_symlink():
        raise NewPluginError(f"{target} already exists; choose another directory")
    if not target.parent.is_dir():
        raise NewPluginError(f"{target.parent} is not a directory")
    values = substitutions(names, kind)
    staging = Path(tempfile.mkdtemp(prefix=f".{names.distribution}-", dir=target.parent))
    try:
        for root in (TEMPLATES / "common", TEMPLATES / kind):
            _render_tree(root, staging, values, names)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _render_tree(root: Path, into: Path, values: dict[str, str], names: PluginNames) -> None:
    for source in sorted(root.rglob("*.tmpl")):
        relative = source.relative_to(root).with_suffix("")  # drop .tmpl
        parts = [names.package if p == "__package__" else p for p in relative.parts]
        destination = into.joinpath(*parts)
        destination.parent.mkdir(parents=True, exist_ok=True)
        text = string.Template(source.read_text(encoding="utf-8")).substitute(values)
        destination.write_text(text, encoding="utf-8")
