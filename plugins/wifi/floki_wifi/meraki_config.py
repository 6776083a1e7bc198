"""The ``[plugin.wifi.meraki]`` settings."""

from __future__ import annotations

import msgspec


class MerakiSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Off until configured."""
