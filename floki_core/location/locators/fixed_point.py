"""Fixed-point locator: a scan at a reader or a location label puts the asset in that zone."""

from __future__ import annotations

from collections.abc import Sequence

from floki_core.location.evidence import Sighting, ZoneEvidence

__all__ = ["FixedPointLocator", "latest_per_asset", "receiver_zone_evidence", "zone_runs"]


def latest_per_asset(batch: Sequence[Sighting]) -> dict[int, Sighting]:
    """The newest sighting of each asset; on a tie the later one in the batch wins."""
    latest: dict[int, Sighting] = {}
    for s in batch:
        held = latest.get(s.asset_id)
        if held is None or s.observed_at >= held.observed_at:
            latest[s.asset_id] = s
    return latest


def zone_runs(batch: Sequence[Sighting]) -> list[Sighting]:
    """Per asset, in time order, the first and last sighting of each run at one zone.

    A batch may hold a reader's backlog: every change of zone in it is a stay that
    history must keep, from its first read to its last, while the repeats between add
    nothing but volume.
    """
    ordered = sorted(
        (s for s in batch if s.receiver is not None), key=lambda s: (s.asset_id, s.observed_at)
    )
    runs: list[Sighting] = []
    first: Sighting | None = None
    for i, s in enumerate(ordered):
        if first is None:
            first = s
        following = ordered[i + 1] if i + 1 < len(ordered) else None
        if (
            following is None
            or following.asset_id != s.asset_id
            or following.receiver.zone_id != s.receiver.zone_id  # type: ignore[union-attr]
        ):
            if first is not s:
                runs.append(first)
            runs.append(s)
            first = None
    return runs


def receiver_zone_evidence(
    batch: Sequence[Sighting], method: str, confidence: float
) -> list[ZoneEvidence]:
    """Claims for the zones of the receivers that saw each asset (see ``zone_runs``)."""
    out: list[ZoneEvidence] = []
    for s in zone_runs(batch):
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
