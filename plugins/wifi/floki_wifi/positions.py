"""(Not yet written.) Where a positioned Wi-Fi record (Meraki or Spaces x/y on a floor
plan, or latitude/longitude) puts a device: the zone by polygon, with a confidence from the
position's uncertainty."""

from __future__ import annotations

from floki_core.sdk import RegisterView, Sighting, ZoneEvidence
from floki_wifi.config import WifiSettings


class PositionPlacer:
    def __init__(self, settings: WifiSettings, register: RegisterView | None) -> None:
        self._settings = settings
        self._register = register

    def place(self, sighting: Sighting, method: str) -> ZoneEvidence | None:
        """The zone ``sighting``'s position is in, or None when it carries no position
        (or one no zone holds)."""
        return None
