"""The demo's sample stock-take: a handheld sweep of Main Stores, recorded once (the
first time the simulated readers run with no stock-take of that zone kept), through the
same steps as ``POST /api/v1/rfid/stocktakes``: the report compared against the register,
kept with its audit entry, and its reads placed in the zone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Final

from floki_core.sdk import PluginContext, Principal, Role
from floki_rfid.epc import decode_epc_hex
from floki_rfid.stocktake_reads import Sweep, SweepRead
from floki_rfid.stocktake_routes import record_sweep, stocktakes

DEVICE: Final = "demo handheld"
NOTE: Final = "The demo's sample sweep of Main Stores (docs/rfid-demo.md)."
# Who the audit trail says took it: the appliance itself, as it loaded the demo.
SYSTEM: Final = Principal(user_id=None, username="system", role=Role.ADMIN)


async def record_sample_sweep(
    context: PluginContext, zone_id: int, epcs: Sequence[str]
) -> dict[str, Any] | None:
    """Record the sweep of ``zone_id`` reading ``epcs`` unless one of that zone is kept
    already; the report, or None."""
    store = stocktakes(context)
    _items, total = await store.listing(zone_id, 1, 0)
    if total:
        return None
    now = context.clock.now().astimezone(dt.UTC).replace(microsecond=0)
    reads = [
        SweepRead(identity=decode_epc_hex(epc), rssi=-52.0 - n % 9, seen_at=now, count=2 + n % 4)
        for n, epc in enumerate(epcs)
    ]
    sweep = Sweep(zone_id=zone_id, reads=reads, device=DEVICE, note=NOTE)
    return await record_sweep(context, sweep, SYSTEM, now)
