"""BLE-style RSSI locator: the room of the strongest receiver, held steady against noise."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import msgspec

from floki_core.location.evidence import ReceiverInfo, Sighting, ZoneEvidence

__all__ = ["Reading", "RssiLocator", "RssiSettings"]

# asset id, receiver, RSSI (dBm), observed at, technology
Reading = tuple[int, ReceiverInfo, float, dt.datetime, str]

# Within one batch a tag's hysteresis is re-evaluated at most once per this many seconds of
# sighting time, so a gateway backlog flushed at once is judged almost as if it came live.
_EVAL_STEP = 1.0
_NO_RIVAL_CONFIDENCE = 0.6
_MIN_CONFIDENCE = 0.5
_CONFIDENCE_SPAN = 0.35
_FULL_LEAD_DB = 15.0


class RssiSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Tuning for :class:`RssiLocator`."""

    smoothing: float = 0.3  # EMA weight of a new reading, 0 < a <= 1
    margin_db: float = 6.0  # how much stronger another zone must be to take over
    dwell_seconds: float = 10.0  # how long it must stay that much stronger
    timeout_seconds: float = 30.0  # a receiver silent this long no longer counts
    min_rssi: float = -100.0  # weaker (offset-corrected) readings are noise
    # An asset already placed is judged again once this much sighting time has passed.
    decide_every_seconds: float = 1.0

    def __post_init__(self) -> None:
        if not 0.0 < self.smoothing <= 1.0:
            raise ValueError("smoothing must be in (0, 1]")
        if self.margin_db < 0.0:
            raise ValueError("margin_db must not be negative")
        if self.dwell_seconds < 0.0:
            raise ValueError("dwell_seconds must not be negative")
        if not 0.0 <= self.decide_every_seconds <= 10.0:
            raise ValueError("decide_every_seconds must be between 0 and 10")
        if self.timeout_seconds <= 0.0:
            raise ValueError("timeout_seconds must be positive")


class _Track:
    """One receiver hearing one asset; updated in place so the hot loop allocates nothing."""

    __slots__ = ("receiver", "seen", "signal")

    def __init__(self, signal: float, seen: float, receiver: ReceiverInfo) -> None:
        self.signal = signal  # smoothed, offset-corrected dBm
        self.seen = seen  # latest sighting time, epoch seconds
        self.receiver = receiver


class _Asset:
    """What the locator remembers about one asset."""

    __slots__ = (
        "at",
        "checked",
        "current",
        "decided",
        "fresh",
        "now",
        "rival",
        "rival_since",
        "tech",
        "tracks",
    )

    def __init__(self) -> None:
        self.tracks: dict[int, _Track] = {}
        self.now = float("-inf")  # latest sighting time for the asset
        self.at: dt.datetime | None = None  # ... and as a datetime, for the evidence
        self.tech = ""
        self.checked = float("-inf")  # sighting time up to which hysteresis is evaluated
        self.decided = float("-inf")  # sighting time of the latest claim made
        self.current: int | None = None  # the zone claimed
        self.rival: int | None = None  # a zone leading by the margin, waiting out the dwell
        self.rival_since = 0.0
        self.fresh = False  # learned something in this batch


class RssiLocator:
    """Strongest smoothed receiver per asset, with a dB margin, a dwell and timeouts."""

    method = "rssi"

    def __init__(self, settings: RssiSettings | None = None) -> None:
        self.settings = settings if settings is not None else RssiSettings()
        self._assets: dict[int, _Asset] = {}

    def forget(self, asset_id: int) -> None:
        """Drop everything known about an asset (unbound tag, retired asset)."""
        self._assets.pop(asset_id, None)

    def __len__(self) -> int:
        return len(self._assets)

    def locate(self, batch: Sequence[Sighting]) -> list[ZoneEvidence]:
        return self.locate_readings(
            [
                (s.asset_id, s.receiver, s.rssi, s.observed_at, s.technology)
                for s in batch
                if s.rssi is not None and s.receiver is not None
            ]
        )

    def locate_readings(self, readings: Sequence[Reading]) -> list[ZoneEvidence]:
        """``locate`` for readings as plain tuples: the appliance's hot path skips
        building a ``Sighting`` per advert."""
        alpha = self.settings.smoothing
        timeout = self.settings.timeout_seconds
        min_rssi = self.settings.min_rssi
        assets = self._assets
        touched: dict[int, _Asset] = {}
        out: list[ZoneEvidence] = []
        for aid, receiver, rssi, observed_at, technology in readings:
            ts = observed_at.timestamp()
            st = touched.get(aid)
            if st is None:
                st = assets.get(aid)
                if st is None:
                    st = assets[aid] = _Asset()
                touched[aid] = st
                # The previous batch already judged everything up to st.now.
                if ts > st.checked:
                    st.checked = ts
            elif ts > st.now and ts - st.checked >= _EVAL_STEP:
                before = st.current
                choice = self._decide(st)
                if choice is not None and before is not None and st.current != before:
                    # A move inside a backlog is a stay history must keep.
                    out.append(self._evidence(aid, st, *choice))
            if ts > st.now:
                st.now = ts
                st.at = observed_at
                st.tech = technology
                st.fresh = True
            value = rssi + receiver.rssi_offset
            if value < min_rssi:
                continue
            track = st.tracks.get(receiver.id)
            if track is None:
                st.tracks[receiver.id] = _Track(value, ts, receiver)
                st.fresh = True
                continue
            seen = track.seen
            if ts < seen:
                continue  # late arrival: blending it in would distort the average
            if ts - seen > timeout:
                track.signal = value  # the old average describes an earlier visit
            else:
                track.signal += alpha * (value - track.signal)
            track.seen = ts
            track.receiver = receiver
            st.fresh = True

        step = self.settings.decide_every_seconds
        for aid, st in touched.items():
            if not st.fresh:
                continue
            if st.current is not None and st.now - st.decided < step:
                # Judged less than a step of sighting time ago: the readings are folded
                # in and wait for the next batch. Each advert reaches several gateways,
                # each posting on its own, so this judges an asset about once per advert
                # rather than once per gateway that heard it.
                continue
            st.fresh = False
            st.decided = st.now
            choice = self._decide(st)
            if choice is None:
                del assets[aid]  # nothing heard within the timeout: no claim, no memory
                continue
            out.append(self._evidence(aid, st, *choice))
        return out

    def _evidence(self, aid: int, st: _Asset, track: _Track, confidence: float) -> ZoneEvidence:
        receiver = track.receiver
        assert st.at is not None
        return ZoneEvidence(
            asset_id=aid,
            zone_id=receiver.zone_id,
            confidence=confidence,
            method=self.method,
            technology=st.tech,
            observed_at=st.at,
            receiver_id=receiver.id,
            receiver_name=receiver.name,
            signal=track.signal,
            x=receiver.x,
            y=receiver.y,
        )

    def _decide(self, st: _Asset) -> tuple[_Track, float] | None:
        """Update the asset's claimed zone as of ``st.now``; the chosen track and confidence."""
        now = st.now
        st.checked = now
        horizon = now - self.settings.timeout_seconds
        best: dict[int, _Track] = {}  # zone -> its strongest live track
        stale: list[int] = []
        for rid, track in st.tracks.items():
            if track.seen < horizon:
                stale.append(rid)
                continue
            zone = track.receiver.zone_id
            held = best.get(zone)
            if held is None or track.signal > held.signal:
                best[zone] = track
        for rid in stale:
            del st.tracks[rid]
        if not best:
            st.current = st.rival = None
            return None

        top = max(best, key=lambda z: best[z].signal)
        current = st.current
        if current is None or current not in best:
            # Nothing to hold on to: the strongest zone wins at once.
            st.current = current = top
            st.rival = None
        elif top == current:
            st.rival = None
        else:
            lead = best[top].signal - best[current].signal
            if lead > self.settings.margin_db:
                if st.rival != top:
                    st.rival = top
                    st.rival_since = now
                if now - st.rival_since >= self.settings.dwell_seconds:
                    st.current = current = top
                    st.rival = None
            else:
                st.rival = None

        chosen = best[current]
        if len(best) == 1:
            return chosen, _NO_RIVAL_CONFIDENCE
        runner_up = max(t.signal for z, t in best.items() if z != current)
        lead_db = min(max(chosen.signal - runner_up, 0.0), _FULL_LEAD_DB)
        return chosen, _MIN_CONFIDENCE + _CONFIDENCE_SPAN * lead_db / _FULL_LEAD_DB
