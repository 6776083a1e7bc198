"""The ``[plugin.wifi.radius]`` settings."""

from __future__ import annotations

import msgspec


class RadiusSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Off until configured."""
