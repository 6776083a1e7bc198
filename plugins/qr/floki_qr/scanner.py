"""Fixed barcode scanners on a serial port (to be filled in)."""

from __future__ import annotations

from typing import Any

import msgspec

from floki_core.plugins.context import PluginContext


class ScannerSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


def serial_sources(settings: ScannerSettings, context: PluginContext) -> list[tuple[str, Any]]:
    del settings, context
    return []
