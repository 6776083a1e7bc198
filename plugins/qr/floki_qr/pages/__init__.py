"""Phone pages served by the appliance (to be filled in)."""

from __future__ import annotations

import msgspec

from floki_core.plugins.registry import RouteRegistry


class PageSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


def register_page_routes(registry: RouteRegistry) -> None:
    del registry
