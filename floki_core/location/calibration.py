"""RSSI calibration: a reference tag in a known room, and offsets proposed per receiver."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from floki_core.observations import Observation

if TYPE_CHECKING:
    from floki_core.core import Core


class Calibrations:
    def __init__(self, core: Core) -> None:
        self.core = core

    def observe(self, admitted: Sequence[Observation]) -> None:
        """Called on the hot path with every admitted batch; must stay cheap."""
