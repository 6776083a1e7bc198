"""The versioned plugin contract: which plugin API a plugin supports, and since when each
hook exists.

The appliance provides ``floki_core.PLUGIN_API`` (major, minor). A minor release adds
(a hook, an argument a hook may take, a field); a major release removes or changes
something a plugin may rely on. A plugin declares the range it was written for as a
module (or plugin object) attribute, read before any of its hooks is called::

    FLOKI_PLUGIN_API = ">=1.0,<2"

Clauses are separated by commas, each an operator (``>=``, ``>``, ``<=``, ``<``, ``==``,
``!=``, ``~=``) and a version ``MAJOR`` or ``MAJOR.MINOR``; ``~=1.2`` means
``>=1.2,<2``. A plugin whose range leaves out this appliance's API is refused at load,
naming both. A plugin that declares nothing was written before the contract was
versioned, against what became API 1.0, so it is taken as ``>=1.0,<2`` with a warning:
it loads today and is refused by the first appliance whose API is 2.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass

from floki_core import PLUGIN_API, __version__, hookspecs

DECLARATION = "FLOKI_PLUGIN_API"
ASSUMED = ">=1.0,<2"  # what a plugin declaring nothing is taken to support

Version = tuple[int, int]

_CLAUSE = re.compile(r"(>=|<=|==|!=|~=|>|<)\s*(\d+)(?:\.(\d+))?")
_OPERATORS: dict[str, Callable[[Version, Version], bool]] = {
    ">=": lambda v, w: v >= w,
    ">": lambda v, w: v > w,
    "<=": lambda v, w: v <= w,
    "<": lambda v, w: v < w,
    "==": lambda v, w: v == w,
    "!=": lambda v, w: v != w,
}


def version_text(version: Version) -> str:
    return f"{version[0]}.{version[1]}"


PROVIDED = f"plugin API {version_text(PLUGIN_API)} (floki-core {__version__})"


@dataclass(frozen=True)
class ApiRange:
    """A set of plugin API versions, as a plugin declares it."""

    text: str
    clauses: tuple[tuple[str, Version], ...]

    def __contains__(self, version: Version) -> bool:
        return all(_OPERATORS[op](version, bound) for op, bound in self.clauses)


def parse_range(text: object) -> ApiRange:
    """``">=1.0,<2"`` as an ``ApiRange``; ``ValueError`` saying what is wrong otherwise."""
    if not isinstance(text, str):
        raise ValueError(f"must be a string such as {ASSUMED!r}, not {type(text).__name__}")
    clauses: list[tuple[str, Version]] = []
    for part in text.split(","):
        clause = part.strip()
        match = _CLAUSE.fullmatch(clause)
        if match is None:
            raise ValueError(
                f"{clause!r} is not an operator (>=, >, <=, <, ==, !=, ~=) and a version "
                "MAJOR or MAJOR.MINOR"
                if clause
                else "a clause is empty"
            )
        op, major, minor = match.group(1), int(match.group(2)), match.group(3)
        if op == "~=":
            if minor is None:
                raise ValueError(f"{clause!r}: ~= needs MAJOR.MINOR")
            clauses += [(">=", (major, int(minor))), ("<", (major + 1, 0))]
        else:
            clauses.append((op, (major, int(minor or 0))))
    return ApiRange(text, tuple(clauses))


@dataclass(frozen=True)
class Verdict:
    declared: str | None  # the plugin's own words, or None when it declares nothing
    refusal: str | None  # why it may not load here, or None
    warning: str | None = None


def judge(plugin: object, provided: Version = PLUGIN_API) -> Verdict:
    """Whether ``plugin`` (a module or plugin object) may load on this appliance."""
    declared = getattr(plugin, DECLARATION, None)
    if declared is None:
        return Verdict(
            None,
            None,
            f"declares no {DECLARATION}; taken as {ASSUMED!r} (written before the plugin "
            f"API was versioned). Add {DECLARATION} = {ASSUMED!r} to the plugin's module.",
        )
    text = declared if isinstance(declared, str) else repr(declared)
    try:
        supported = parse_range(declared)
    except ValueError as exc:
        return Verdict(
            text,
            f"{DECLARATION} = {declared!r} is not a plugin API range ({exc}); "
            f"this appliance provides {PROVIDED}",
        )
    if provided in supported:
        return Verdict(text, None)
    return Verdict(
        text,
        f"incompatible plugin API: the plugin supports {declared} ({DECLARATION}), "
        f"this appliance provides {PROVIDED}; install a release of the plugin made for "
        f"plugin API {version_text(provided)}",
    )


# --- hook history ---------------------------------------------------------------------------


@dataclass(frozen=True)
class HookVersions:
    added: Version
    changed: tuple[tuple[Version, str], ...] = ()


_ADDED = re.compile(r"^\s*\.\. versionadded:: (\d+)\.(\d+)\s*$", re.MULTILINE)
_CHANGED = re.compile(r"^\s*\.\. versionchanged:: (\d+)\.(\d+)\s*(.*)$", re.MULTILINE)


def hook_versions() -> dict[str, HookVersions]:
    """Since which plugin API each hook exists and when it changed, read from the
    ``.. versionadded::`` / ``.. versionchanged::`` lines of its docstring."""
    found = {}
    for name, function in inspect.getmembers(hookspecs, inspect.isfunction):
        if not name.startswith("floki_"):
            continue
        doc = inspect.getdoc(function) or ""
        added = _ADDED.search(doc)
        if added is None:
            raise ValueError(f"hookspec {name} has no '.. versionadded:: MAJOR.MINOR'")
        changed = tuple(
            ((int(m.group(1)), int(m.group(2))), m.group(3).strip()) for m in _CHANGED.finditer(doc)
        )
        found[name] = HookVersions((int(added.group(1)), int(added.group(2))), changed)
    return found
