"""The ``[plugin.wifi.spaces]`` settings."""

from __future__ import annotations

import msgspec


class SpacesSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Off until configured."""
