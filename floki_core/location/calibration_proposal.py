"""RSSI calibration: the request and answer types, and the rule that proposes offsets.

Pure: no I/O and no clock, so the rule is tested on its own and read in one place.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from typing import Annotated

import msgspec
from msgspec import Meta

from floki_core.observations import TagValue
from floki_core.schemas import Id, Slug

MIN_SECONDS, MAX_SECONDS = 20, 600
# A BLE tag heard by a ceiling gateway in the same room, 2-4 m away, typically reads
# -60 to -70 dBm (tags are specified around -59 dBm at 1 m).
DEFAULT_TARGET_DBM = -65.0
DEFAULT_MIN_SAMPLES = 10
MAX_OFFSET_DB = 20.0  # a bigger correction means a misplaced or faulty receiver
# The locator moves an asset only when another zone leads by *more* than its margin, so a
# neighbour left exactly at the margin would keep an asset it already (wrongly) holds.
HEADROOM_DB = 1.0
UNCHANGED_DB = 0.5  # closer than this to the current offset: leave it alone


class CalibrationStatus(enum.StrEnum):
    COLLECTING = "collecting"
    COMPLETE = "complete"
    CANCELLED = "cancelled"
    APPLIED = "applied"


class CalibrationStart(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Start collecting readings of a reference tag placed in ``zone_id``."""

    technology: Slug
    tag: TagValue
    zone_id: Id
    seconds: Annotated[int, Meta(ge=MIN_SECONDS, le=MAX_SECONDS)] = 60
    target_dbm: Annotated[float, Meta(ge=-100, le=-30)] = DEFAULT_TARGET_DBM
    min_samples: Annotated[int, Meta(ge=3, le=1000)] = DEFAULT_MIN_SAMPLES


class CalibrationApply(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Which proposed offsets to write; all of them when ``receivers`` is left out."""

    receivers: Annotated[list[Id], Meta(max_length=1000)] | None = None


class ReceiverSamples(msgspec.Struct, kw_only=True):
    """What one receiver heard of the reference tag (raw RSSI, before its offset)."""

    receiver_id: int
    name: str
    zone_id: int
    zone: str | None
    in_reference_zone: bool
    count: int
    median_rssi: float
    mean_rssi: float
    min_rssi: float
    max_rssi: float
    spread_db: float  # standard deviation
    current_offset: float


class OffsetProposal(msgspec.Struct, kw_only=True):
    receiver_id: int
    name: str
    zone: str | None
    current_offset: float
    proposed_offset: float | None  # None: no proposal (see reason)
    change_db: float | None
    clamped: bool
    reason: str


class Proposal(msgspec.Struct, kw_only=True):
    target_dbm: float
    margin_db: float
    offsets: list[OffsetProposal]


class CalibrationView(msgspec.Struct, kw_only=True):
    id: int
    status: CalibrationStatus
    technology: str
    tag: str
    asset_id: int | None  # the asset the reference tag is bound to, if any
    zone_id: int
    zone: str
    seconds: int
    target_dbm: float
    min_samples: int
    started_at: dt.datetime
    started_by: str
    ends_at: dt.datetime
    seconds_left: float
    message: str
    receivers: list[ReceiverSamples]
    unregistered_receivers: dict[str, int]  # identifiers that heard the tag, not in the register
    proposal: Proposal | None = None
    completed_at: dt.datetime | None = None
    cancelled_at: dt.datetime | None = None
    applied_at: dt.datetime | None = None
    applied_by: str | None = None
    applied_receivers: list[int] = msgspec.field(default_factory=list)


class CalibrationList(msgspec.Struct, kw_only=True):
    items: list[CalibrationView]


def round_db(value: float) -> float:
    return round(value, 1) + 0.0  # + 0.0 turns -0.0 into 0.0


def _clamp(value: float) -> tuple[float, bool]:
    clamped = min(max(value, -MAX_OFFSET_DB), MAX_OFFSET_DB)
    return round_db(clamped), clamped != value


def propose(
    zone: str,
    receivers: Sequence[ReceiverSamples],
    *,
    target_dbm: float,
    margin_db: float,
    min_samples: int,
) -> tuple[Proposal | None, str]:
    """The offsets that make ``zone`` win for a tag inside it, and a one-line summary."""
    in_room = [r for r in receivers if r.in_reference_zone]
    if not in_room:
        return None, f"no receiver in {zone} heard the tag"
    if all(r.count < min_samples for r in in_room):
        counts = ", ".join(f"{r.name} {r.count}" for r in in_room)
        return None, (
            f"receivers in {zone} heard the tag too rarely ({counts}; at least {min_samples} "
            "readings needed): check the tag is in the room and transmitting, and run again"
        )

    offsets: list[OffsetProposal] = []
    best_level, best_name = float("-inf"), ""
    for r in in_room:
        if r.count < min_samples:
            offsets.append(_none(r, min_samples))
            continue
        wanted = target_dbm - r.median_rssi
        new, clamped = _clamp(wanted)
        if clamped:
            reason = (
                f"in {zone}: median {r.median_rssi:.1f} dBm raw; it would need {wanted:+.1f} dB "
                f"to read {target_dbm:.1f} dBm, clamped to {new:+.1f} dB: check the receiver "
                f"is powered, mounted in {zone} and not shielded"
            )
        elif abs(new - r.current_offset) < UNCHANGED_DB:
            new = r.current_offset
            reason = (
                f"in {zone}: already reads {r.median_rssi + new:.1f} dBm with its offset "
                f"(target {target_dbm:.1f} dBm); unchanged"
            )
        else:
            reason = (
                f"in {zone}: median {r.median_rssi:.1f} dBm raw; an offset of {new:+.1f} dB "
                f"brings it to the {target_dbm:.1f} dBm target"
            )
        offsets.append(_offset(r, new, clamped, reason))
        if r.median_rssi + new > best_level:
            best_level, best_name = r.median_rssi + new, r.name

    for r in receivers:
        if r.in_reference_zone:
            continue
        if r.count < min_samples:
            offsets.append(_none(r, min_samples))
            continue
        level = r.median_rssi + r.current_offset
        gap = best_level - level
        if gap > margin_db:
            reason = (
                f"in {r.zone}: reads {level:.1f} dBm, {gap:.1f} dB below {best_name} "
                f"(more than the {margin_db:.1f} dB margin); unchanged"
            )
            offsets.append(_offset(r, r.current_offset, False, reason))
            continue
        wanted = best_level - margin_db - HEADROOM_DB - r.median_rssi
        new, clamped = _clamp(wanted)
        where = "below" if gap >= 0 else "above"
        if new >= r.current_offset:
            reason = (
                f"in {r.zone}: reads {level:.1f} dBm, {abs(gap):.1f} dB {where} {best_name}, "
                f"but its offset is already at the {-MAX_OFFSET_DB:+.1f} dB limit; unchanged: "
                f"check it is really in {r.zone}"
            )
            offsets.append(_offset(r, r.current_offset, True, reason))
            continue
        reason = (
            f"in {r.zone}: would read {level:.1f} dBm, only {abs(gap):.1f} dB {where} "
            f"{best_name} (margin {margin_db:.1f} dB); lowered by {r.current_offset - new:.1f} dB "
            f"to read {r.median_rssi + new:.1f} dBm"
        )
        if clamped:
            reason += (
                f"; it would need {wanted:+.1f} dB, clamped to {new:+.1f} dB: "
                f"check it is really in {r.zone}"
            )
        offsets.append(_offset(r, new, clamped, reason))

    changes = sum(1 for o in offsets if o.change_db)
    message = (
        f"proposal ready: {changes} offset{'s' if changes != 1 else ''} to change"
        if changes
        else "proposal ready: every offset is already right"
    )
    return Proposal(target_dbm=target_dbm, margin_db=margin_db, offsets=offsets), message


def _offset(r: ReceiverSamples, new: float, clamped: bool, reason: str) -> OffsetProposal:
    return OffsetProposal(
        receiver_id=r.receiver_id,
        name=r.name,
        zone=r.zone,
        current_offset=r.current_offset,
        proposed_offset=new,
        change_db=round_db(new - r.current_offset),
        clamped=clamped,
        reason=reason,
    )


def _none(r: ReceiverSamples, min_samples: int) -> OffsetProposal:
    times = "once" if r.count == 1 else f"{r.count} times"
    return OffsetProposal(
        receiver_id=r.receiver_id,
        name=r.name,
        zone=r.zone,
        current_offset=r.current_offset,
        proposed_offset=None,
        change_db=None,
        clamped=False,
        reason=f"heard the tag only {times} (at least {min_samples} needed); no proposal",
    )
