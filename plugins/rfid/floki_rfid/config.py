"""The ``[plugin.rfid]`` settings."""

from __future__ import annotations

from typing import Annotated

import msgspec

from floki_core.sdk import PluginSettings


class RfidSettings(PluginSettings):
    # Readers' tag reports are aggregated per (tag, antenna) and handed to the core in
    # batches this often.
    batch_seconds: Annotated[float, msgspec.Meta(gt=0, le=10)] = 0.25
