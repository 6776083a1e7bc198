"""``[plugin.qr.pages]``: sessions on shared phones, the two-scan move, the workshop desk."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta


class PageSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    # Ward phones are shared: a session ends after this long without a page.
    session_idle_minutes: Annotated[float, Meta(gt=0, le=720)] = 15.0
    # ... and after this long in any case (one shift).
    session_max_hours: Annotated[float, Meta(gt=0, le=24)] = 12.0
    # Sessions kept at most; beyond it the longest idle is signed out.
    max_sessions: Annotated[int, Meta(ge=1, le=100_000)] = 5000
    # A location label scanned this soon after an asset's label records the asset there.
    move_window_seconds: Annotated[float, Meta(gt=0, le=3600)] = 120.0
    # A phone position less precise than this cannot confirm a zone.
    max_position_accuracy_m: Annotated[float, Meta(gt=0, le=5000)] = 100.0
    # Zones offered under "it's here".
    nearby_zones: Annotated[int, Meta(ge=1, le=100)] = 12
    # The location label of the CE workshop desk: equipment checked in or out at the
    # workshop scan page is recorded there. Empty: scan the desk's label on the page.
    workshop_location: Annotated[str, Meta(max_length=500)] = ""
    # Scans listed on the workshop page.
    workshop_log_size: Annotated[int, Meta(ge=1, le=500)] = 20
