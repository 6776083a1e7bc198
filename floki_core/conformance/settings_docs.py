"""Whether a plugin's settings are all documented where its users read about them.

A key counts as documented when a documentation page shows it as a user would write it:
in backticks (`` `poll_seconds` `` or `` `poll_seconds = 5` ``), as a line of a TOML
example (``poll_seconds = 5``, commented out or not), or in a table header
(``[plugin.ward.sensors]``; ``[[plugin.ward.sensors.serial]]`` names both keys); or when
its type carries ``msgspec.Meta(description=...)``.
"""

from __future__ import annotations

import importlib.metadata
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import msgspec
import msgspec.inspect as mi


def setting_paths(schema: type[msgspec.Struct]) -> Iterator[tuple[str, str, bool]]:
    """(dotted path, key, described in its type) for every setting, nested ones too."""
    yield from _walk(mi.type_info(schema), "")


def _walk(info: Any, prefix: str) -> Iterator[tuple[str, str, bool]]:
    if not isinstance(info, mi.StructType):
        return
    for field in info.fields:
        path = f"{prefix}{field.encode_name}"
        yield path, field.encode_name, _described(field.type)
        for nested in _structs_in(field.type):
            yield from _walk(nested, f"{path}.")


def _described(info: Any) -> bool:
    if isinstance(info, mi.Metadata):
        schema = info.extra_json_schema or {}
        return bool(schema.get("description")) or _described(info.type)
    return False


def _structs_in(info: Any) -> Iterator[mi.StructType]:
    """Struct types a setting holds: itself, its items, its union members."""
    if isinstance(info, mi.Metadata):
        yield from _structs_in(info.type)
    elif isinstance(info, mi.StructType):
        yield info
    elif isinstance(info, mi.ListType | mi.SetType | mi.FrozenSetType | mi.VarTupleType):
        yield from _structs_in(info.item_type)
    elif isinstance(info, mi.DictType):
        yield from _structs_in(info.value_type)
    elif isinstance(info, mi.UnionType):
        for member in info.types:
            yield from _structs_in(member)


def documented_in(key: str, text: str) -> bool:
    k = re.escape(key)
    patterns = (
        rf"`{k}(?:`|\s*=)",  # `key` or `key = value`
        rf"^[ \t]*#?[ \t]*{k}[ \t]*=",  # a TOML example line
        rf"^[ \t]*\[\[?[\w.-]*\b{k}(?:\.[\w.-]+)?\]\]?",  # a table header naming the key
    )
    return any(re.search(p, text, re.MULTILINE) for p in patterns)


def distribution_readme(dist: importlib.metadata.Distribution | None) -> str:
    """The long description (README) of the distribution (of a plugin's entry point)."""
    if dist is None:
        return ""
    meta: Any = dist.metadata  # an email.message.Message
    return str(meta.get_payload() or meta.get("Description") or "")


def undocumented(
    schema: type[msgspec.Struct], pages: Sequence[str | Path], readme: str
) -> list[str]:
    """Dotted paths of the settings no page (nor the README) documents."""
    texts = [readme]
    for page in pages:
        texts.append(Path(page).read_text(encoding="utf-8"))
    missing = []
    for path, key, described in setting_paths(schema):
        if not described and not any(documented_in(key, text) for text in texts):
            missing.append(path)
    return missing
