"""Read zones: an antenna (receiver ``reader:antenna``) covers a zone; a tag read there is
there, with a dwell and hysteresis between zones (docs/rfid-placement.md).

- A tag never placed is placed at once in the zone of the antenna that reads it (the
  strongest, when several zones read it together).
- It moves to another zone once it has been read there, and not beaten by its current
  zone, for ``dwell_seconds``; at once if its current zone has not read it for longer
  than that.
- Two zones that read it within ``together_seconds`` of each other are compared: the
  other zone wins if its peak RSSI leads by more than ``hysteresis_db``; within that
  margin if it read the tag at least ``count_ratio`` times as often; otherwise the
  current zone keeps it. A zone's antennas count together (strongest RSSI, reads summed).

Pure: no I/O, time only from the sightings (the appliance's clock when the read arrived).
Work per batch is proportional to the batch: each tag keeps only the antennas that read it
within ``together_seconds``.
"""

from __future__ import annotations

from collections.abc import Callable

from floki_core.sdk import ReceiverInfo, Sighting, ZoneEvidence
from floki_rfid.config import PlacementSettings

METHOD = "fixed_point"  # a read is a fixed point: immediate for the resolver once decided
_NO_RSSI = float("-inf")


class _Heard:
    """One antenna's latest tally of one tag."""

    __slots__ = ("at", "count", "receiver", "rssi")

    def __init__(self, receiver: ReceiverInfo, at: float, rssi: float | None, count: int) -> None:
        self.receiver = receiver
        self.at = at  # epoch seconds, the appliance's clock
        self.rssi = rssi  # peak RSSI, offset-corrected; None if the reader gave none
        self.count = count  # reads in the tally


def _strength(heard: _Heard) -> float:
    return _NO_RSSI if heard.rssi is None else heard.rssi


class _ZoneHeard:
    """A zone's antennas that read the tag lately, taken together."""

    __slots__ = ("best", "count", "rssi")

    def __init__(self, heard: _Heard) -> None:
        self.rssi = heard.rssi
        self.count = heard.count
        self.best = heard

    def add(self, heard: _Heard) -> None:
        self.count += heard.count
        if heard.rssi is not None and (self.rssi is None or heard.rssi > self.rssi):
            self.rssi = heard.rssi
            self.best = heard

    def key(self) -> tuple[float, int]:
        return (_NO_RSSI if self.rssi is None else self.rssi, self.count)


class _Placed:
    """What is known of one tag's asset."""

    __slots__ = (
        "best",
        "emitted_at",
        "heard",
        "latest",
        "now",
        "pending",
        "rival",
        "rival_since",
        "zone",
        "zone_at",
        "zone_receiver",
    )

    def __init__(self) -> None:
        self.heard: dict[int, _Heard] = {}  # receiver id -> its latest tally
        self.now = float("-inf")  # the latest read's time
        self.latest: Sighting | None = None  # ... and that read
        self.pending = False  # reads folded in since the last judgement
        self.zone: int | None = None  # where the tag is placed
        self.zone_at = float("-inf")  # when its zone last read it (or placed it)
        self.zone_receiver: ReceiverInfo | None = None  # the antenna that placed it
        self.best: _Heard | None = None  # its zone's strongest antenna when last judged
        self.rival: int | None = None  # a zone beating the current one ...
        self.rival_since = 0.0  # ... since then
        self.emitted_at = float("-inf")  # time of the latest evidence given this batch


class ReadZones:
    """The read-zone half of the RFID locator: reads in, zone evidence out."""

    def __init__(self, settings: PlacementSettings, evidence: Callable[..., ZoneEvidence]) -> None:
        self.settings = settings
        self._evidence = evidence
        self._assets: dict[int, _Placed] = {}
        self._touched: dict[int, _Placed] = {}
        self._last_at: object = None  # the latest read's time, and as epoch seconds
        self._last_ts = 0.0

    def __len__(self) -> int:
        return len(self._assets)

    def forget(self, asset_id: int) -> None:
        self._assets.pop(asset_id, None)

    def read(self, sighting: Sighting, receiver: ReceiverInfo, out: list[ZoneEvidence]) -> None:
        """Fold one read in (reads come in time order); a new moment judges the last."""
        aid = sighting.asset_id
        st = self._touched.get(aid)
        if st is None:
            st = self._assets.get(aid)
            if st is None:
                st = self._assets[aid] = _Placed()
            self._touched[aid] = st
        at = sighting.observed_at
        if at is self._last_at:  # a reader's window hands its tallies over at one time
            ts = self._last_ts
        else:
            ts = self._last_ts = at.timestamp()
            self._last_at = at
        if st.pending and ts > st.now:
            self._judge(aid, st, out)
        rssi = sighting.rssi
        if rssi is not None:
            rssi += receiver.rssi_offset
        count = sighting.extras.get("seen_count", 1)
        if type(count) is not int or count < 1:
            count = 1
        held = st.heard.get(receiver.id)
        if held is None:
            st.heard[receiver.id] = _Heard(receiver, ts, rssi, count)
        elif ts >= held.at:
            held.receiver = receiver
            held.at = ts
            held.rssi = rssi
            held.count = count
        if ts >= st.now:
            st.now = ts
            st.latest = sighting
        if receiver.zone_id == st.zone and ts > st.zone_at:
            st.zone_at = ts
        st.pending = True

    def place(self, sighting: Sighting, receiver: ReceiverInfo, out: list[ZoneEvidence]) -> None:
        """Put the asset in ``receiver``'s zone now (a portal crossing); the read zones go
        on from there. Reads waiting to be judged are judged first, at their own time."""
        aid = sighting.asset_id
        st = self._assets.get(aid)
        if st is None:
            st = self._assets[aid] = _Placed()
        elif st.pending:
            self._judge(aid, st, out)
        ts = sighting.observed_at.timestamp()
        st.zone, st.zone_at, st.zone_receiver = receiver.zone_id, ts, receiver
        st.rival = st.best = None
        if ts >= st.now:
            st.now = ts
            st.latest = sighting
            st.emitted_at = ts  # the crossing's own evidence says where it is now

    def finish(self, out: list[ZoneEvidence]) -> None:
        """End of a batch: each tag read in it judged, and its zone given as evidence."""
        for aid, st in self._touched.items():
            if st.pending:
                self._judge(aid, st, out)
            if st.emitted_at != st.now:
                self._emit(aid, st, out)
            st.emitted_at = float("-inf")
        self._touched = {}

    def _judge(self, aid: int, st: _Placed, out: list[ZoneEvidence]) -> None:
        st.pending = False
        now = st.now
        horizon = now - self.settings.together_seconds
        current = st.zone
        heard = st.heard
        stale: list[int] | None = None
        elsewhere = False
        best: _Heard | None = None  # the current zone's strongest live antenna
        for rid, one in heard.items():
            if one.at < horizon:
                if stale is None:
                    stale = []
                stale.append(rid)
            elif one.receiver.zone_id != current:
                elsewhere = True
            elif best is None or _strength(one) > _strength(best):
                best = one
        if stale is not None:
            for rid in stale:
                del heard[rid]
        st.best = best
        if not elsewhere:
            st.rival = None  # read at its own zone alone (the usual case: nothing to weigh)
            return
        zones: dict[int, _ZoneHeard] = {}
        for one in heard.values():
            zone = zones.get(one.receiver.zone_id)
            if zone is None:
                zones[one.receiver.zone_id] = _ZoneHeard(one)
            else:
                zone.add(one)
        if current is None:
            top = max(zones, key=lambda z: zones[z].key())
            self._move(aid, st, top, zones[top].best, out)
            return
        top = max((z for z in zones if z != current), key=lambda z: zones[z].key())
        dwell = self.settings.dwell_seconds
        if now - st.zone_at > dwell:
            # Its zone has not read it for longer than the dwell: it has no claim left.
            self._move(aid, st, top, zones[top].best, out)
            return
        held = zones.get(current)
        if held is not None and not self._beats(zones[top], held):
            st.rival = None
            return
        if st.rival != top:
            st.rival, st.rival_since = top, now
        if now - st.rival_since >= dwell:
            self._move(aid, st, top, zones[top].best, out)

    def _beats(self, rival: _ZoneHeard, current: _ZoneHeard) -> bool:
        """Whether ``rival`` clearly hears the tag better than ``current``."""
        if rival.rssi is not None and current.rssi is not None:
            lead = rival.rssi - current.rssi
            margin = self.settings.hysteresis_db
            if lead > margin:
                return True
            if lead < -margin:
                return False
        return rival.count > current.count and rival.count >= current.count * (
            self.settings.count_ratio
        )

    def _move(
        self, aid: int, st: _Placed, zone: int, best: _Heard, out: list[ZoneEvidence]
    ) -> None:
        st.zone, st.zone_at, st.zone_receiver, st.best = zone, st.now, best.receiver, best
        st.rival = None
        self._emit(aid, st, out)

    def _emit(self, aid: int, st: _Placed, out: list[ZoneEvidence]) -> None:
        read = st.latest
        if read is None or st.zone is None:
            return
        # The zone's strongest antenna in the latest reads, else the one that placed it.
        best = st.best
        if best is not None and best.receiver.zone_id == st.zone:
            out.append(self._evidence(aid, best.receiver, read, best.rssi))
        else:
            assert st.zone_receiver is not None
            out.append(self._evidence(aid, st.zone_receiver, read, None))
        st.emitted_at = st.now
