"""Fixed-point locator: a scan at a reader or a location label puts the asset in that zone."""

from __future__ import annotations

from collections.abc import Sequence

from floki_core.location.evidence import Sighting, ZoneEvidence

__all__ = ["FixedPointLocator", "latest_per_asset", "receiver_zone_evidence"]


def latest_per_asset(batch: Sequence[Sighting]) -> dict[int, Sighting]:
    """The newest sighting of each asset; on a tie the later one in the batch wins."""
    latest: dict[int, Sighting] = {}
    for s in batch:
        held = latest.get(s.asset_id)
        if held is None or s.observed_at >= held.observed_at:
            latest[s.asset_id] = s
    return latest


def receiver_zone_evidence(
    batch: Sequence[Sighting], method: str, confidence: float
) -> list[ZoneEvidence]:
    """One claim per asset: the zone of the receiver behind its latest sighting."""
    out: list[ZoneEvidence] = []
    at_receiver = [s for s in batch if s.receiver is not None]
    for s in latest_per_asset(at_receiver).values():
        receiver = s.receiver
        assert receiver is not None
        out.append(
            ZoneEvidence(
                asset_id=s.asset_id,
                zone_id=receiver.zone_id,
                confidence=confidence,
                method=method,
                technology=s.technology,
                observed_at=s.observed_at,
                receiver_id=receiver.id,
                receiver_name=receiver.name,
                signal=None if s.rssi is None else s.rssi + receiver.rssi_offset,
                x=receiver.x,
                y=receiver.y,
            )
        )
    return out


def check_confidence(confidence: float) -> float:
    """The confidence, if it is a probability; a configuration error otherwise."""
    if not 0.0 <= confidence <= 1.0:
        raise ValueError("confidence must be between 0 and 1")
    return confidence


class FixedPointLocator:
    """QR, barcode, RFID and NFC reads: the reader's zone, at once and with high confidence.

    A read needs the tag within centimetres to a few metres of the reader, so there is
    nothing to smooth and no reason to wait.
    """

    method = "fixed_point"

    def __init__(self, confidence: float = 0.95) -> None:
        self.confidence = check_confidence(confidence)

    def locate(self, batch: Sequence[Sighting]) -> list[ZoneEvidence]:
        return receiver_zone_evidence(batch, self.method, self.confidence)
