"""HTML for the phone pages: templates where every value is escaped unless it is markup.

Templates are ``string.Template`` files under ``templates/``. ``render`` escapes each
value it substitutes, so user text (an asset's description, a zone's name, a typed
note) can only ever appear as text; only ``Markup`` built by this module passes as is.
"""

from __future__ import annotations

import functools
import html
import importlib.resources
import string
from collections.abc import Iterable

__all__ = ["Markup", "attributes", "escape", "join", "render"]


class Markup(str):
    """HTML that is already safe: the output of ``render``, ``escape`` or ``join``."""

    __slots__ = ()


def escape(value: object) -> Markup:
    if isinstance(value, Markup):
        return value
    return Markup(html.escape("" if value is None else str(value), quote=True))


def join(parts: Iterable[object], separator: str = "\n") -> Markup:
    return Markup(separator.join(escape(part) for part in parts))


def attributes(**values: object) -> Markup:
    """``name="value"`` pairs; True gives a bare attribute, False or None leaves it out.
    A trailing underscore is dropped (``for_``) and other underscores become dashes."""
    out = []
    for name, value in values.items():
        key = name.rstrip("_").replace("_", "-")
        if value is True:
            out.append(key)
        elif value is not False and value is not None:
            out.append(f'{key}="{escape(value)}"')
    return Markup(" ".join(out))


@functools.cache
def _template(name: str) -> string.Template:
    text = importlib.resources.files(__package__).joinpath("templates", name).read_text("utf-8")
    return string.Template(text)


def render(template: str, /, **values: object) -> Markup:
    """Fill ``template``; a placeholder without a value is an error, not blank."""
    return Markup(_template(template).substitute({k: escape(v) for k, v in values.items()}))
