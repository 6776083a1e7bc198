"""Settings of ``[plugin.ble]``."""

from __future__ import annotations

from typing import Annotated

import msgspec


class BleSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    # Off by default: most appliances hear tags through gateways, not their own radio.
    local_radio: bool = False
    adapter: str | None = None  # e.g. "hci0"; None lets BlueZ choose
    receiver: str = "appliance"  # receiver identifier the local radio reports as
    batch_seconds: Annotated[float, msgspec.Meta(gt=0, le=60)] = 1.0
