"""NMEA 0183 sentences from a GPS receiver, read into fixes (pynmea2 parses each line).

A receiver repeats a cycle every second or so: ``GGA`` (position, fix quality, satellites,
HDOP, altitude), ``RMC`` (position, status, speed in knots, course, the date), ``GLL``
(position, status) and others Floki does not need (GSA, GSV, VTG: ignored). The
sentences of one cycle carry one time of day; :class:`NmeaReader` joins them into one
fix, so that RMC's date, speed and course come with GGA's HDOP, satellites and altitude.
A cycle is complete when both RMC and GGA have come, when a sentence of another time
arrives, or when the source hands its batch over (``flush``).

Every sentence must carry its checksum (``*hh``): one without, or with a wrong one, is
refused (``bad_checksum``); a line that is no sentence is refused (``bad_sentence``).
A cycle the receiver marks void (RMC or GLL status ``V``, GGA quality 0) is no
position and makes no fix.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pynmea2  # type: ignore[import-untyped, unused-ignore]

from floki_gps.fixes import KNOTS_TO_KMH, Fix

__all__ = ["PROTOCOL", "NmeaError", "NmeaReader", "Reading", "read_sentence"]

PROTOCOL = "nmea"
MAX_LINE = 164  # twice the standard's 82 characters: anything longer is not a sentence
_WANTED = ("RMC", "GGA", "GLL")
_PARSE_ERRORS = (pynmea2.ParseError, ValueError, TypeError, AttributeError, IndexError, KeyError)


class NmeaError(ValueError):
    """A line that cannot be used: ``reason`` says why, ``counted_as`` is its snake_case word."""

    def __init__(self, reason: str, counted_as: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.counted_as = counted_as


@dataclass(frozen=True)
class Reading:
    """What one wanted sentence says. ``valid`` False: the receiver has no position."""

    kind: str  # "RMC", "GGA", "GLL"
    time: dt.time | None
    valid: bool
    lat: float | None = None
    lon: float | None = None
    date: dt.date | None = None
    speed_kmh: float | None = None
    course_deg: float | None = None
    hdop: float | None = None
    satellites: int | None = None
    altitude_m: float | None = None


def _float(text: Any) -> float | None:
    if text in (None, ""):
        return None
    value = float(text)
    return value if value == value and abs(value) != float("inf") else None


def _position(msg: Any) -> tuple[float | None, float | None]:
    if not (msg.lat and msg.lon):
        return None, None
    lat, lon = float(msg.latitude), float(msg.longitude)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise NmeaError(f"position {lat:g}, {lon:g} is off the globe", "bad_sentence")
    return lat, lon


def _time(msg: Any) -> dt.time | None:
    stamp = msg.timestamp
    return stamp if isinstance(stamp, dt.time) else None


def read_sentence(line: bytes | str) -> Reading | None:
    """What one line says, or None for a sentence Floki does not need (or an empty line)."""
    if isinstance(line, bytes):
        try:
            line = line.decode("ascii")
        except UnicodeDecodeError:
            raise NmeaError("not ASCII text", "bad_sentence") from None
    text = line.strip()
    if not text:
        return None
    if len(text) > MAX_LINE or not text.startswith(("$", "!")):
        raise NmeaError(f"not an NMEA sentence: {text[:40]!r}", "bad_sentence")
    if "*" not in text:
        raise NmeaError(f"no checksum: {text[:40]!r}", "bad_checksum")
    try:
        msg = pynmea2.parse(text, check=True)
    except pynmea2.ChecksumError as exc:
        raise NmeaError(
            f"{exc.args[0] if exc.args else exc}: {text[:40]!r}", "bad_checksum"
        ) from None
    except _PARSE_ERRORS as exc:
        raise NmeaError(f"unreadable sentence {text[:40]!r}: {exc}", "bad_sentence") from None
    kind = getattr(msg, "sentence_type", "")
    if kind not in _WANTED or not isinstance(msg, pynmea2.TalkerSentence):
        return None
    try:
        return _reading(kind, msg)
    except _PARSE_ERRORS as exc:
        raise NmeaError(
            f"unreadable {kind} sentence {text[:40]!r}: {exc}", "bad_sentence"
        ) from None


def _reading(kind: str, msg: Any) -> Reading:
    if kind == "RMC":
        valid = msg.status == "A"
        lat, lon = _position(msg) if valid else (None, None)
        speed = _float(msg.spd_over_grnd)
        date = msg.datestamp if isinstance(msg.datestamp, dt.date) else None
        return Reading(
            "RMC",
            _time(msg),
            valid and lat is not None,
            lat,
            lon,
            date=date,
            speed_kmh=None if speed is None else speed * KNOTS_TO_KMH,
            course_deg=_float(msg.true_course),
        )
    if kind == "GGA":
        quality = int(msg.gps_qual) if msg.gps_qual not in (None, "") else 0
        valid = quality > 0
        lat, lon = _position(msg) if valid else (None, None)
        satellites = int(msg.num_sats) if msg.num_sats not in (None, "") else None
        return Reading(
            "GGA",
            _time(msg),
            valid and lat is not None,
            lat,
            lon,
            hdop=_float(msg.horizontal_dil),
            satellites=satellites,
            altitude_m=_float(msg.altitude),
        )
    valid = msg.status == "A"
    lat, lon = _position(msg) if valid else (None, None)
    return Reading("GLL", _time(msg), valid and lat is not None, lat, lon)


@dataclass
class _Cycle:
    time: dt.time
    readings: dict[str, Reading] = field(default_factory=dict)


class NmeaReader:
    """One receiver's sentences joined into fixes of ``device`` (its registered id)."""

    def __init__(self, device: str) -> None:
        self.device = device
        self._cycle: _Cycle | None = None
        self._last_time: dt.time | None = None  # of the last cycle made into a fix
        self._last_kinds: frozenset[str] = frozenset()  # the sentences it had
        self._last_date: dt.date | None = None  # from the last RMC

    def feed(self, line: bytes | str, now: dt.datetime) -> list[Fix]:
        """The fixes complete after ``line``; raises :class:`NmeaError` for a bad line
        (what was read before is kept)."""
        reading = read_sentence(line)
        if reading is None or reading.time is None:
            return []  # not needed, or a receiver without a fix yet (no time)
        if reading.date is not None:
            self._last_date = reading.date
        made: list[Fix] = []
        cycle = self._cycle
        if cycle is not None and cycle.time != reading.time:
            made += self._close(now)
            cycle = None
        if cycle is None:
            if reading.time == self._last_time and reading.kind not in self._last_kinds:
                return made  # a straggler of a cycle already made into a fix
            # (A sentence the cycle had already is the cycle sent again: the same fix
            # again, which the core's replay admission recognises.)
            cycle = self._cycle = _Cycle(reading.time)
        cycle.readings.setdefault(reading.kind, reading)
        if "RMC" in cycle.readings and "GGA" in cycle.readings:
            made += self._close(now)
        return made

    def flush(self, now: dt.datetime) -> list[Fix]:
        """The cycle read so far as a fix (the source hands its batch over)."""
        return self._close(now)

    def _close(self, now: dt.datetime) -> list[Fix]:
        cycle, self._cycle = self._cycle, None
        if cycle is None:
            return []
        readings = cycle.readings
        self._last_time, self._last_kinds = cycle.time, frozenset(readings)
        if not all(r.valid for r in readings.values()):
            return []  # the receiver says it has no position
        rmc, gga = readings.get("RMC"), readings.get("GGA")
        where = rmc or gga or readings["GLL"]
        date = (rmc.date if rmc is not None else None) or self._last_date or now.date()
        at = dt.datetime.combine(date, cycle.time.replace(tzinfo=None), dt.UTC)
        if rmc is None and at > now + dt.timedelta(hours=12):
            at -= dt.timedelta(days=1)  # a GGA just before midnight, read just after
        return [
            Fix(
                device=self.device,
                protocol=PROTOCOL,
                at=at,
                lat=where.lat,
                lon=where.lon,
                hdop=None if gga is None else gga.hdop,
                satellites=None if gga is None else gga.satellites,
                altitude_m=None if gga is None else gga.altitude_m,
                speed_kmh=None if rmc is None else rmc.speed_kmh,
                course_deg=None if rmc is None else rmc.course_deg,
            )
        ]
