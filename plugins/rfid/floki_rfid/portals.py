"""Portals: a doorway read by an inner and an outer antenna, where the order of a tag's
reads says which way it went (docs/rfid-placement.md).

A passage is a tag's reads at one portal's two antennas, each within ``window_seconds`` of
the one before. Read first at the outer antenna and then at the inner one, it *entered* the
inner antenna's zone; the other way round it *left* it, for the outer antenna's zone. The
order is clear once the tag has been read at the second antenna ``clear_seconds`` after
its last read at the first: a tag read at both antennas turn about (parked in the doorway),
or at one only, crosses nothing.

Reads are ordered by the reader's clock (the first and last seen of each tally, in the
observation's extras), so two antennas' tallies handed over in one window keep their
order; a read without them is ordered by when it arrived. Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from floki_core.sdk import ReceiverInfo, Sighting
from floki_rfid.config import PortalSettings

INNER, OUTER = 0, 1
ENTERED, LEFT = "entered", "left"
# Passages not read for this long (reader's clock) past their window are swept away this
# often, so tags that went nowhere cost no memory.
SWEEP_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class PortalCrossing:
    """A tag that went through a portal."""

    portal: str
    direction: str  # ENTERED or LEFT
    asset_id: int
    epc: str  # the tag, as read
    zone_id: int  # the portal's inside zone (the inner antenna's)
    read_at: dt.datetime  # the deciding read, by the reader's clock
    observed_at: dt.datetime  # ... and by the appliance's, when it arrived
    antenna: str  # the deciding antenna's receiver identifier
    receiver: ReceiverInfo  # ... and the antenna: its zone is where the tag is now
    signal: float | None  # its latest peak RSSI there, offset-corrected


class _Passage:
    """One tag's reads at one portal: per side (INNER, OUTER) its first and last read."""

    __slots__ = ("first", "last", "latest", "receivers", "signals")

    def __init__(self) -> None:
        self.first: list[float | None] = [None, None]
        self.last: list[float | None] = [None, None]
        self.latest = float("-inf")
        self.receivers: list[ReceiverInfo | None] = [None, None]
        self.signals: list[float | None] = [None, None]


def _reader_time(value: object) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.datetime.fromisoformat(value).timestamp()
    except ValueError:
        return None


def reader_span(sighting: Sighting) -> tuple[float, float]:
    """A tally's first and last read by the reader's clock (epoch seconds); when the
    reader gave no times, when it arrived."""
    extras = sighting.extras
    last = _reader_time(extras.get("last_seen"))
    first = _reader_time(extras.get("first_seen"))
    if last is None:
        last = first if first is not None else sighting.observed_at.timestamp()
    if first is None or first > last:
        first = last
    return first, last


class PortalWatch:
    """Every configured portal's passages; ``read`` says when one is a crossing."""

    def __init__(self, portals: Sequence[PortalSettings]) -> None:
        self.portals = tuple(portals)
        # Receiver identifier -> (portal, side): what the locator looks each read up in.
        self.sides: dict[str, tuple[PortalSettings, int]] = {}
        for portal in self.portals:
            self.sides[portal.inner] = (portal, INNER)
            self.sides[portal.outer] = (portal, OUTER)
        self._passages: dict[tuple[str, int], _Passage] = {}
        self._swept = float("-inf")

    def __len__(self) -> int:
        return len(self._passages)

    def read(
        self, portal: PortalSettings, side: int, sighting: Sighting, receiver: ReceiverInfo
    ) -> PortalCrossing | None:
        """Fold a read at one of ``portal``'s antennas in; the crossing it completes, if any."""
        first, last = reader_span(sighting)
        key = (portal.name, sighting.asset_id)
        passage = self._passages.get(key)
        if passage is None or first - passage.latest > portal.window_seconds:
            passage = self._passages[key] = _Passage()
        seen_first, seen_last = passage.first[side], passage.last[side]
        passage.first[side] = first if seen_first is None else min(seen_first, first)
        if seen_last is None or last >= seen_last:
            passage.last[side] = last
            passage.receivers[side] = receiver
            rssi = sighting.rssi
            passage.signals[side] = None if rssi is None else rssi + receiver.rssi_offset
        passage.latest = max(passage.latest, last)
        if last - self._swept > SWEEP_SECONDS:
            self._sweep(last)
        return self._crossing(portal, key, passage, sighting)

    def _crossing(
        self, portal: PortalSettings, key: tuple[str, int], passage: _Passage, sighting: Sighting
    ) -> PortalCrossing | None:
        """The crossing ``passage`` is, once its order is clear: read first at one side,
        then at the other ``clear_seconds`` past the first side's last read."""
        first, last = passage.first, passage.last
        inner_first, outer_first = first[INNER], first[OUTER]
        if inner_first is None or outer_first is None or inner_first == outer_first:
            return None
        went_to = INNER if outer_first < inner_first else OUTER
        came_from = 1 - went_to
        to_last, from_last = last[went_to], last[came_from]
        assert to_last is not None and from_last is not None
        if to_last - from_last < portal.clear_seconds:
            return None
        inner, receiver = passage.receivers[INNER], passage.receivers[went_to]
        assert inner is not None and receiver is not None
        del self._passages[key]
        return PortalCrossing(
            portal=portal.name,
            direction=ENTERED if went_to == INNER else LEFT,
            asset_id=sighting.asset_id,
            epc=sighting.tag,
            zone_id=inner.zone_id,
            read_at=dt.datetime.fromtimestamp(to_last, dt.UTC),
            observed_at=sighting.observed_at,
            antenna=receiver.identifier,
            receiver=receiver,
            signal=passage.signals[went_to],
        )

    def _sweep(self, now: float) -> None:
        self._swept = now
        gone = [
            key for key, passage in self._passages.items() if now - passage.latest > SWEEP_SECONDS
        ]
        for key in gone:
            del self._passages[key]
