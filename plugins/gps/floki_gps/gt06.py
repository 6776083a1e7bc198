"""GT06 / Concox trackers over TCP, decoded and encoded.

Written here because no maintained, Apache-compatible Python library decodes them (none
is on PyPI).

The protocol (Concox's "GT06 GPS tracker communication protocol" manual, and Traccar's
decoder, Apache-2.0, for the message variants in the field):

* a frame: ``78 78``, a 1-byte length (protocol number .. CRC), the protocol number, the
  content, a 2-byte serial number, a CRC-16/X.25 of length .. serial, ``0D 0A``; the
  extended frame starts ``79 79`` and has a 2-byte length;
* the tracker logs in first (``01``: the IMEI in 8 bytes of BCD) and must be answered,
  or it logs in again; here it is answered only when an asset has the IMEI registered;
* ``12`` and ``22`` are positions: date and time (UTC), satellites, latitude and
  longitude as unsigned degrees x 1,800,000, speed (km/h), and a course/status word
  whose bit 12 says the position is fixed, bit 10 north, bit 11 west, bits 0-9 the
  course; then the serving cell;
* ``11`` and ``28`` are cell-tower (LBS) reports: the tracker is alive, no position;
* ``13`` (and ``23``) is the heartbeat: terminal status, voltage level 0-6 (``23``: the
  battery in 10 mV), GSM signal; it must be answered, or the tracker reconnects;
* ``16`` and ``26`` are alarms: a position, the cell, the status and the alarm number
  (1 SOS, 2 power cut, 3 vibration, ...); they must be answered;
* ``94`` is information: the external supply voltage (10 mV) among others.

Answers are ``78 78 05 <protocol> <serial> <CRC> 0D 0A`` (``79 79`` and a 2-byte length
for an extended frame), echoing the frame's serial number.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from floki_gps.crc import crc16_x25
from floki_gps.fixes import Fix
from floki_gps.tcp_session import MAX_FRAME_BYTES, DecodeError, IsRegistered, Step

__all__ = [
    "PROTOCOL",
    "Frame",
    "Gt06Session",
    "answer",
    "decode_frame",
    "frame_fix",
    "gt06_encode",
    "gt06_encode_login",
    "login_imei",
]

PROTOCOL = "gt06"
SHORT, EXTENDED = b"\x78\x78", b"\x79\x79"
STOP = b"\r\n"

LOGIN = 0x01
LBS = 0x11
GPS = 0x12
HEARTBEAT = 0x13
ALARM = 0x16
GPS_2 = 0x22
HEARTBEAT_2 = 0x23
ALARM_2 = 0x26
LBS_MULTIPLE = 0x28
INFO = 0x94

_ANSWERED = frozenset({LOGIN, HEARTBEAT, HEARTBEAT_2, ALARM, ALARM_2})
_POSITIONS = frozenset({GPS, GPS_2, ALARM, ALARM_2})
_GPS_BYTES = 18  # date/time 6, satellites 1, latitude 4, longitude 4, speed 1, course 2
_UNITS_PER_DEGREE = 1_800_000  # 30,000 per minute

# The alarm number of an alarm message, as the Fix's word (Concox's numbering).
ALARMS: dict[int, str] = {
    0x01: "sos",
    0x02: "power_cut",
    0x03: "vibration",
    0x04: "geofence_enter",
    0x05: "geofence_exit",
    0x06: "overspeed",
    0x09: "vibration",
    0x0E: "low_battery",
    0x0F: "low_battery",
    0x11: "power_off",
    0x13: "tampering",
}
# Bits 3-5 of the terminal status byte, for an alarm message that gives no number.
_STATUS_ALARMS = {1: "vibration", 2: "power_cut", 3: "low_battery", 4: "sos"}


@dataclass(frozen=True, slots=True)
class Frame:
    protocol: int
    content: bytes
    serial: int
    extended: bool


def decode_frame(frame: bytes) -> Frame:
    """One whole frame, start to stop bits, its length and CRC checked."""
    if frame[:2] == SHORT:
        header = 3
    elif frame[:2] == EXTENDED:
        header = 4
    else:
        raise DecodeError("bad_frame", "frame does not start with 78 78 or 79 79")
    if len(frame) < header + 1:
        raise DecodeError("bad_frame", "frame shorter than its header")
    length = int.from_bytes(frame[2:header], "big")
    if length < 5:
        raise DecodeError("bad_frame", f"length {length} leaves no room for a message")
    if len(frame) != header + length + 2:
        raise DecodeError("bad_frame", f"frame of {len(frame)} bytes declares {length}")
    if frame[-2:] != STOP:
        raise DecodeError("bad_frame", "frame does not end with 0D 0A")
    body_end = header + length - 2
    crc = int.from_bytes(frame[body_end : body_end + 2], "big")
    if crc != crc16_x25(frame[2:body_end]):
        raise DecodeError("bad_crc", f"CRC {crc:#06x} is not the frame's")
    return Frame(
        protocol=frame[header],
        content=bytes(frame[header + 1 : body_end - 2]),
        serial=int.from_bytes(frame[body_end - 2 : body_end], "big"),
        extended=header == 4,
    )


def login_imei(frame: Frame) -> str:
    """The 15-digit IMEI of a login frame (8 bytes of BCD, a leading 0)."""
    if len(frame.content) < 8:
        raise DecodeError("bad_frame", "login shorter than an IMEI")
    digits = frame.content[:8].hex()
    if not digits.isdigit():
        raise DecodeError("bad_frame", "login IMEI is not BCD digits")
    return digits[1:] if digits[0] == "0" else digits


def _date(content: bytes) -> dt.datetime:
    year, month, day, hour, minute, second = content[:6]
    try:
        return dt.datetime(2000 + year, month, day, hour, minute, second, tzinfo=dt.UTC)
    except ValueError as exc:
        raise DecodeError("bad_frame", f"date and time {content[:6].hex()}: {exc}") from None


def _battery_pct(level: int) -> float | None:
    """A voltage level 0-6 (Concox), or a percentage from trackers that send one."""
    if level <= 6:
        return float(level * 100 // 6)
    return float(level) if level <= 100 else None


def frame_fix(device: str, frame: Frame, now: dt.datetime) -> Fix | None:
    """What a message from a logged-in tracker says, or None for one that says nothing
    the plugin uses (``now`` stamps messages that carry no time)."""
    content, number = frame.content, frame.protocol
    if number in _POSITIONS:
        if len(content) < _GPS_BYTES:
            raise DecodeError("bad_frame", f"message {number:#04x} shorter than a position")
        at = _date(content)
        satellites = content[6] & 0x0F
        lat = int.from_bytes(content[7:11], "big") / _UNITS_PER_DEGREE
        lon = int.from_bytes(content[11:15], "big") / _UNITS_PER_DEGREE
        speed = content[15]
        flags = int.from_bytes(content[16:18], "big")
        positioned = bool(flags & 0x1000) and lat <= 90 and lon <= 180 and (lat, lon) != (0, 0)
        if not flags & 0x0400:
            lat = -lat
        if flags & 0x0800:
            lon = -lon
        alarm = battery = charging = None
        if number in (ALARM, ALARM_2):
            alarm, battery, charging = _alarm_status(content[_GPS_BYTES:])
        return Fix(
            device=device,
            protocol=PROTOCOL,
            at=at,
            lat=lat if positioned else None,
            lon=lon if positioned else None,
            satellites=satellites,
            speed_kmh=float(speed) if positioned else None,
            course_deg=float(flags & 0x03FF) if positioned else None,
            battery_pct=battery,
            charging=charging,
            alarm=alarm,
        )
    if number in (HEARTBEAT, HEARTBEAT_2):
        if len(content) < (3 if number == HEARTBEAT_2 else 2):
            raise DecodeError("bad_frame", f"heartbeat of {len(content)} bytes")
        terminal = content[0]
        if number == HEARTBEAT:
            return Fix(
                device=device,
                protocol=PROTOCOL,
                at=now,
                battery_pct=_battery_pct(content[1]),
                charging=bool(terminal & 0x04),
            )
        return Fix(
            device=device,
            protocol=PROTOCOL,
            at=now,
            battery_mv=int.from_bytes(content[1:3], "big") * 10,
            charging=bool(terminal & 0x04),
        )
    if number == LBS:
        return Fix(device=device, protocol=PROTOCOL, at=now)
    if number == LBS_MULTIPLE:
        if len(content) < 6:
            raise DecodeError("bad_frame", "cell report shorter than its date")
        return Fix(device=device, protocol=PROTOCOL, at=_date(content))
    if number == INFO:
        return _info(device, frame, now)
    return None


def _alarm_status(rest: bytes) -> tuple[str | None, float | None, bool | None]:
    """After an alarm's position: cell (its length byte counts itself), terminal status,
    voltage level, GSM signal, alarm number, language."""
    if not rest:
        raise DecodeError("bad_frame", "alarm without its status")
    cell = max(rest[0], 1)
    status = rest[cell : cell + 4]
    if len(status) < 4:
        raise DecodeError("bad_frame", "alarm status cut short")
    terminal, level, _gsm, number = status
    alarm = ALARMS.get(number) or _STATUS_ALARMS.get((terminal >> 3) & 0x07)
    return alarm, _battery_pct(level), bool(terminal & 0x04)


def _info(device: str, frame: Frame, now: dt.datetime) -> Fix | None:
    content = frame.content
    if not frame.extended:
        if len(content) < 2:
            raise DecodeError("bad_frame", "information message without its voltage")
        volts = content[:2]
    elif len(content) == 3 and content[0] in (0x00, 0x0B):  # external voltage
        volts = content[1:3]
    else:
        return None  # ICCID, door status, text ...: nothing located or charged
    return Fix(
        device=device,
        protocol=PROTOCOL,
        at=now,
        external_mv=int.from_bytes(volts, "big") * 10,
    )


def answer(frame: Frame) -> bytes:
    """The server's answer to a frame: its protocol number and serial echoed."""
    return _encode(frame.protocol, b"", frame.serial, extended=frame.extended)


class Gt06Session:
    """One tracker's connection: login, then messages, fed in any split."""

    protocol = PROTOCOL

    def __init__(self, is_registered: IsRegistered, now: Callable[[], dt.datetime]) -> None:
        self._is_registered = is_registered
        self._now = now
        self._buffer = bytearray()
        self.device: str | None = None

    def feed(self, data: bytes) -> Step:
        step = Step()
        self._buffer += data
        while not step.close:
            size = self._frame_size(step)
            if size is None:
                break
            raw = bytes(self._buffer[:size])
            del self._buffer[:size]
            try:
                frame = decode_frame(raw)
            except DecodeError as exc:
                step.rejected.append(exc.reason)  # a bad CRC is not answered: sent again
                continue
            self._message(frame, step)
        return step

    def _frame_size(self, step: Step) -> int | None:
        buffer = self._buffer
        if len(buffer) < 2:
            return None
        start = bytes(buffer[:2])
        if start not in (SHORT, EXTENDED):
            self._hang_up(step, "bad_frame")
            return None
        header = 3 if start == SHORT else 4
        if len(buffer) < header:
            return None
        size = header + int.from_bytes(buffer[2:header], "big") + 2
        if size > MAX_FRAME_BYTES:
            self._hang_up(step, "frame_too_long")
            return None
        if len(buffer) < size:
            return None
        if buffer[size - 2 : size] != STOP:
            self._hang_up(step, "bad_frame")  # lost in the stream: start afresh
            return None
        return size

    def _hang_up(self, step: Step, reason: str) -> None:
        step.rejected.append(reason)
        step.close = True
        self._buffer.clear()

    def _message(self, frame: Frame, step: Step) -> None:
        if frame.protocol == LOGIN:
            try:
                imei = login_imei(frame)
            except DecodeError as exc:
                self._hang_up(step, exc.reason)
                return
            if not self._is_registered(imei):
                step.refused = imei
                self._hang_up(step, "unknown_device")
                return
            self.device = step.logged_in = imei
            step.answer += answer(frame)
            return
        if self.device is None:
            self._hang_up(step, "not_logged_in")
            return
        try:
            fix = frame_fix(self.device, frame, self._now())
        except DecodeError as exc:
            step.rejected.append(exc.reason)
            return
        if fix is None:
            if frame.protocol not in _ANSWERED:
                step.rejected.append("unsupported_message")
                return
        else:
            step.fixes.append(fix)
        if frame.protocol in _ANSWERED:
            step.answer += answer(frame)


# --- encoding (the demo's and the tests' trackers) ---------------------------------------


def _encode(number: int, content: bytes, serial: int, *, extended: bool = False) -> bytes:
    length = 1 + len(content) + 2 + 2
    head = EXTENDED + length.to_bytes(2, "big") if extended else SHORT + bytes([length])
    body = head + bytes([number]) + content + (serial & 0xFFFF).to_bytes(2, "big")
    return body + crc16_x25(body[2:]).to_bytes(2, "big") + STOP


def gt06_encode_login(imei: str, serial: int = 1, *, extended: bool = False) -> bytes:
    """The login frame a tracker opens its connection with."""
    if not imei.isdigit() or len(imei) > 16:
        raise ValueError(f"{imei!r} is not an IMEI")
    return _encode(LOGIN, bytes.fromhex(imei.rjust(16, "0")), serial, extended=extended)


def _date_bytes(at: dt.datetime) -> bytes:
    at = at.astimezone(dt.UTC)
    return bytes([at.year - 2000, at.month, at.day, at.hour, at.minute, at.second])


def _voltage_level(fix: Fix) -> int:
    return 6 if fix.battery_pct is None else max(0, min(6, round(fix.battery_pct * 6 / 100)))


def gt06_encode(fix: Fix, serial: int = 1, *, extended: bool = False) -> bytes:
    """The frame a tracker sends for ``fix``: an alarm (``16``) when it carries one, a
    position (``12``) when it has one, else a heartbeat (``13``) with its battery."""
    alarm_numbers = {word: number for number, word in reversed(ALARMS.items())}
    if fix.alarm is None and fix.lat is None:
        terminal = 0x04 if fix.charging else 0x00
        content = bytes([terminal, _voltage_level(fix), 0x04, 0x00, 0x01])
        return _encode(HEARTBEAT, content, serial, extended=extended)
    lat, lon = fix.lat or 0.0, fix.lon or 0.0
    flags = round(fix.course_deg or 0) & 0x03FF
    flags |= 0x1000 if fix.lat is not None else 0
    flags |= 0x0400 if lat >= 0 else 0
    flags |= 0x0800 if lon < 0 else 0
    satellites = min(fix.satellites if fix.satellites is not None else 9, 15)
    gps = (
        _date_bytes(fix.at)
        + bytes([0xC0 | satellites])
        + round(abs(lat) * _UNITS_PER_DEGREE).to_bytes(4, "big")
        + round(abs(lon) * _UNITS_PER_DEGREE).to_bytes(4, "big")
        + bytes([min(round(fix.speed_kmh or 0), 255)])
        + flags.to_bytes(2, "big")
    )
    cell = bytes.fromhex("01cc00287d001f71")  # MCC 460, MNC 0, LAC, cell id
    if fix.alarm is None:
        return _encode(GPS, gps + cell, serial, extended=extended)
    number = alarm_numbers.get(fix.alarm, 0)
    terminal = 0x04 if fix.charging else 0x00
    status = bytes([terminal, _voltage_level(fix), 0x04, number, 0x01])
    return _encode(ALARM, gps + bytes([9]) + cell + status, serial, extended=extended)
