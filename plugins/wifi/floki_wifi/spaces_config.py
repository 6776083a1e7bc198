"""The ``[plugin.wifi.spaces]`` settings."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from floki_wifi.meraki_config import FloorPlan


class SpacesSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Off until an API key is set: then the ``wifi-spaces`` source reads the firehose."""

    # The firehose's event stream: the region's partners host (partners.ciscospaces.io,
    # .eu, .sg) and /api/partners/v1/firehose/events.
    url: str = "https://partners.ciscospaces.io/api/partners/v1/firehose/events"
    # The firehose API key of the activated app (sent as X-API-Key). Empty: no source.
    api_key: str = ""
    # Units of the events' xPos/yPos and confidenceFactor: Spaces' maps are in feet.
    units: Literal["feet", "metres"] = "feet"
    # Seconds to wait for the stream to open, and for a line (Spaces sends keep-alives).
    connect_timeout_seconds: Annotated[float, Meta(gt=0)] = 10.0
    silent_seconds: Annotated[float, Meta(gt=0)] = 90.0
    # Locations that arrive together are handed over as one batch after this long.
    batch_seconds: Annotated[float, Meta(gt=0)] = 0.5
    # After a reconnection, events are asked for again from this long before the last one
    # read (fromTimestamp), so none in flight is lost; repeats are dropped by recordUid.
    resume_overlap_seconds: Annotated[float, Meta(ge=0)] = 5.0
    # Spaces maps drawn on Floki floors ([[plugin.wifi.spaces.floor_plans]], id = mapId).
    floor_plans: list[FloorPlan] = msgspec.field(default_factory=list)
