"""What ``GET /api/v1/plugins`` answers, as typed records for the OpenAPI document."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec


class PluginSourceItem(msgspec.Struct, kw_only=True):
    name: str
    status: Literal["starting", "running", "backoff", "failed", "stopped"]
    restarts: int
    reason: Annotated[str | None, msgspec.Meta(description="the last error, if any")]
    details: Annotated[
        dict[str, Any] | None,
        msgspec.Meta(
            description="what the source says of itself (its details(), plugin API 1.2), "
            "e.g. an RFID reader's connection, antennas and read rate; null if nothing"
        ),
    ] = None


class PluginItem(msgspec.Struct, kw_only=True):
    """One plugin; ``failed`` with the reason, a refused plugin API range included."""

    name: str
    version: Annotated[
        str | None, msgspec.Meta(description="of its distribution; null if given directly")
    ]
    status: Literal["loaded", "running", "failed", "disabled"]
    reason: Annotated[str | None, msgspec.Meta(description="why it is failed or disabled")]
    module: str | None
    api: Annotated[
        str | None,
        msgspec.Meta(
            description="the plugin API range it declares (FLOKI_PLUGIN_API), e.g. "
            "'>=1.0,<2'; null if it declares none, when it is taken as '>=1.0,<2'"
        ),
    ]
    sources: list[PluginSourceItem]


class PluginListing(msgspec.Struct, kw_only=True):
    items: list[PluginItem]
    plugin_api: Annotated[
        str, msgspec.Meta(description="the plugin API this appliance provides, e.g. '1.0'")
    ]
