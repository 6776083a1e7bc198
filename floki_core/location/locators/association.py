"""Wi-Fi association locator: a client is somewhere in its access point's zone."""

from __future__ import annotations

from collections.abc import Sequence

from floki_core.location.evidence import Sighting, ZoneEvidence
from floki_core.location.locators.fixed_point import check_confidence, receiver_zone_evidence

__all__ = ["AssociationLocator"]


class AssociationLocator:
    """The associated access point's zone, with modest confidence.

    An AP covers a radius of tens of metres and clients stay associated through walls
    and roaming delays, so the zone is a rough hint rather than a room.
    """

    method = "association"

    def __init__(self, confidence: float = 0.5) -> None:
        self.confidence = check_confidence(confidence)

    def locate(self, batch: Sequence[Sighting]) -> list[ZoneEvidence]:
        return receiver_zone_evidence(batch, self.method, self.confidence)
