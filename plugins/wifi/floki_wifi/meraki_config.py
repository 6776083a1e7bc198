"""The ``[plugin.wifi.meraki]`` settings, and the floor-plan mapping both positioned
feeds (Meraki and Spaces) share."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta


class FloorPlan(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One of the vendor's floor plans drawn on a Floki floor: where the vendor's x/y
    (metres, or feet for Spaces, from the plan's top-left corner) fall on the floor's plan
    image, so that a position lands in the zone whose polygon holds it."""

    # The vendor's id of the floor plan: Meraki's ``floorPlanId`` ("g_6434..."), Spaces'
    # ``mapId``.
    id: Annotated[str, Meta(min_length=1)]
    # The Floki floor it is (GET /api/v1/floors).
    floor_id: Annotated[int, Meta(ge=1)]
    # Where the vendor plan's top-left corner is on the floor's plan image, in pixels.
    origin_x_px: float = 0.0
    origin_y_px: float = 0.0
    # Metres a plan pixel spans; 0: the floor's own scale (its ``metres_per_pixel``).
    metres_per_pixel: Annotated[float, Meta(ge=0)] = 0.0


class MerakiSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Off until a secret is set: then ``POST /api/v1/wifi/meraki`` takes the network's
    Scanning API posts and ``GET`` answers the validator."""

    # The validator string the dashboard shows (Network-wide > General > Location and
    # scanning); answered to Meraki's GET so it starts posting.
    validator: str = ""
    # The shared secret typed into the dashboard for this receiver; a post with another
    # is refused 403 and counted as bad_secret. Empty: the route is not served.
    secret: str = ""
    # The dashboard's floor plans drawn on Floki floors ([[plugin.wifi.meraki.floor_plans]]).
    floor_plans: list[FloorPlan] = msgspec.field(default_factory=list)
