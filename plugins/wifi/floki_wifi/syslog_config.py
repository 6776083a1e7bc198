"""The ``[plugin.wifi.syslog]`` settings."""

from __future__ import annotations

import msgspec


class SyslogSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Off until configured."""
