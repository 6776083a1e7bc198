"""Teltonika trackers over TCP: Codec 8 and Codec 8 Extended, decoded and encoded.

Written here because no maintained, Apache-compatible Python library decodes them: the
one on PyPI (``codecs-protocol`` 1.0.2, MIT, a single 2025 release) decodes hex strings
in coroutines, formats times as text, checks no CRC and declares no error to catch.

The protocol (Teltonika's "Codec" page, wiki.teltonika-gps.com/view/Codec):

* the tracker connects and sends its IMEI: 2-byte length, then the IMEI in ASCII; the
  server answers ``01`` to accept it or ``00`` to refuse (here: accepted only when an
  asset has the IMEI registered as its ``gps`` identifier);
* then AVL data packets: 4 zero bytes, a 4-byte data length, the data (codec id, record
  count, the records, the record count again) and a 4-byte CRC-16/IBM of the data. The
  server answers the number of records it took as 4 bytes; anything else (here: 0 on a
  bad CRC) makes the tracker send the packet again;
* a record: time (ms since 1970, UTC), priority, longitude and latitude (degrees x 10^7,
  signed), altitude (m), angle (degrees), satellites, speed (km/h), then IO elements in
  groups of 1-, 2-, 4- and 8-byte values (Codec 8E: 2-byte ids and counts and a last
  group of variable-length values);
* a lone ``FF`` byte is the tracker's keep-alive ping.

The IO elements read (Teltonika FMB AVL IDs): 66 external voltage (mV), 67 battery
voltage (mV), 113 battery level (%), 182 HDOP (x 0.1), 239 ignition, 240 movement and 69
GNSS status (1: fix). A record of priority 2 ("panic": the SOS button or scenario) is an
``sos`` alarm. A record with no satellites, at 0,0, or whose GNSS status says no
fix has no position but still says the tracker is alive and what its battery is.
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Sequence

import msgspec

from floki_gps.crc import crc16_ibm
from floki_gps.fixes import Fix
from floki_gps.tcp_session import MAX_FRAME_BYTES, DecodeError, IsRegistered, Step

__all__ = [
    "CODEC_8",
    "CODEC_8E",
    "PROTOCOL",
    "AvlPacket",
    "AvlRecord",
    "TeltonikaSession",
    "decode_avl_data",
    "decode_imei",
    "decode_packet",
    "record_fix",
    "teltonika_encode",
    "teltonika_encode_imei",
]

PROTOCOL = "teltonika"
CODEC_8 = 0x08
CODEC_8E = 0x8E
# Codec 12/13/14 carry answers to server commands (never sent from here): not positions.
_COMMAND_CODECS = frozenset({0x0C, 0x0D, 0x0E})
_PING = 0xFF
_ACCEPT, _REFUSE = b"\x01", b"\x00"
_NO_PREAMBLE = b"\x00\x00\x00\x00"  # an AVL packet's first four bytes
_IMEI_MAX = 20

IO_GNSS_STATUS = 69
IO_EXTERNAL_MV = 66
IO_BATTERY_MV = 67
IO_BATTERY_PCT = 113
IO_HDOP = 182
IO_IGNITION = 239
IO_MOVEMENT = 240
_GNSS_FIX = 1
_PANIC = 2  # a record's priority when the tracker's SOS button or scenario made it

_HEADER = struct.Struct(">QBiihHBH")  # time, priority, lon, lat, altitude, angle, sats, speed
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


# Structs rather than frozen dataclasses: a record is built per fix, and a frozen
# dataclass sets each field through object.__setattr__. Neither can hold a cycle (no GC).
class AvlRecord(msgspec.Struct, frozen=True, gc=False):
    at: dt.datetime
    priority: int  # 0 low, 1 high, 2 panic
    lon: float
    lat: float
    altitude_m: int
    angle: int
    satellites: int
    speed_kmh: int
    event_id: int  # the IO element that caused the record (0: periodic)
    io: dict[int, int | bytes]


class AvlPacket(msgspec.Struct, frozen=True, gc=False):
    codec: int
    records: tuple[AvlRecord, ...]


def decode_imei(frame: bytes) -> str:
    """The IMEI of a whole handshake frame (2-byte length + ASCII digits)."""
    if len(frame) < 2:
        raise DecodeError("bad_frame", "handshake shorter than its length field")
    length = int.from_bytes(frame[:2], "big")
    if not 0 < length <= _IMEI_MAX or len(frame) != 2 + length:
        raise DecodeError("bad_frame", f"handshake length {length} is not an IMEI's")
    text = frame[2:]
    if not text.isdigit():
        raise DecodeError("bad_frame", "the handshake's IMEI is not ASCII digits")
    return text.decode("ascii")


def decode_packet(frame: bytes) -> AvlPacket:
    """A whole AVL data packet: preamble, length, data and CRC checked, data decoded."""
    if len(frame) < 12:
        raise DecodeError("bad_frame", "packet shorter than preamble, length and CRC")
    if frame[:4] != b"\x00\x00\x00\x00":
        raise DecodeError("bad_frame", "packet does not start with four zero bytes")
    length = int.from_bytes(frame[4:8], "big")
    if len(frame) != 12 + length:
        raise DecodeError("bad_frame", f"packet of {len(frame)} bytes declares {length} of data")
    data = frame[8 : 8 + length]
    crc = int.from_bytes(frame[8 + length :], "big")
    if crc != crc16_ibm(data):
        raise DecodeError("bad_crc", f"CRC {crc:#06x} is not the data's {crc16_ibm(data):#06x}")
    return decode_avl_data(data)


def decode_avl_data(data: bytes) -> AvlPacket:
    """The data field of a packet (codec id .. second record count), CRC already checked."""
    try:
        return _packet(data)
    except (IndexError, struct.error) as exc:
        raise DecodeError("bad_frame", f"AVL data ends inside a record: {exc}") from None


class _Layout:
    """How a codec spells a record's IO part: the struct of a count, and of an (id,
    value) pair for each value width."""

    def __init__(self, ids: str) -> None:
        self.count = struct.Struct(">" + ids)
        self.event = struct.Struct(">" + ids + ids)  # event id, total IO count
        self.groups = tuple(struct.Struct(">" + ids + width) for width in "BHIQ")


_LAYOUTS = {CODEC_8: _Layout("B"), CODEC_8E: _Layout("H")}
_VARIABLE = struct.Struct(">HH")  # Codec 8E's variable-length elements: id, length
_LAST_MS = 7_258_118_400_000  # 2200-01-01: later is not a tracker's clock


def _packet(data: bytes) -> AvlPacket:
    codec, count = data[0], data[1]
    layout = _LAYOUTS.get(codec)
    if layout is None:
        raise DecodeError("unsupported_codec", f"codec {codec:#04x} is not 8 or 8E")
    pos = 2
    records = []
    for _ in range(count):
        record, pos = _record(data, pos, layout, codec == CODEC_8E)
        records.append(record)
    if data[pos] != count:
        raise DecodeError("bad_frame", "the two record counts differ")
    if pos + 1 != len(data):
        raise DecodeError("bad_frame", f"{len(data) - pos - 1} bytes after the records")
    return AvlPacket(codec, tuple(records))


def _record(data: bytes, pos: int, layout: _Layout, wide: bool) -> tuple[AvlRecord, int]:
    ms, priority, lon, lat, altitude, angle, sats, speed = _HEADER.unpack_from(data, pos)
    if ms >= _LAST_MS:
        raise DecodeError("bad_frame", f"record time {ms} ms is past the year 2200")
    pos += _HEADER.size
    event_id, _total = layout.event.unpack_from(data, pos)  # the groups give the total again
    pos += layout.event.size
    count_struct = layout.count
    io: dict[int, int | bytes] = {}
    for pair in layout.groups:
        (count,) = count_struct.unpack_from(data, pos)
        pos += count_struct.size
        size = pair.size
        for _ in range(count):
            key, value = pair.unpack_from(data, pos)
            io[key] = value
            pos += size
    if wide:
        (count,) = count_struct.unpack_from(data, pos)
        pos += count_struct.size
        for _ in range(count):
            key, length = _VARIABLE.unpack_from(data, pos)
            pos += _VARIABLE.size
            if pos + length > len(data):
                raise DecodeError("bad_frame", f"IO element {key} runs past the data")
            io[key] = data[pos : pos + length]
            pos += length
    at = _EPOCH + dt.timedelta(milliseconds=ms)
    record = AvlRecord(
        at, priority, lon / 1e7, lat / 1e7, altitude, angle, sats, speed, event_id, io
    )
    return record, pos


def record_fix(device: str, record: AvlRecord) -> Fix:
    """What one record says, as the plugin's :class:`Fix`."""
    # The IO values looked up inline (this runs once per fix): an id a Codec 8E record
    # gave a variable-length value is not a number, so it counts as absent.
    io = record.io
    gnss = io.get(IO_GNSS_STATUS)
    lat, lon, satellites = record.lat, record.lon, record.satellites
    positioned = (
        satellites > 0
        and not (lat == 0 and lon == 0)
        and (type(gnss) is not int or gnss == _GNSS_FIX)
        and -90 <= lat <= 90
        and -180 <= lon <= 180
    )
    hdop = io.get(IO_HDOP)
    battery_pct = io.get(IO_BATTERY_PCT)
    battery_mv = io.get(IO_BATTERY_MV)
    external_mv = io.get(IO_EXTERNAL_MV)
    moving = io.get(IO_MOVEMENT)
    ignition = io.get(IO_IGNITION)
    if positioned:
        return Fix(
            device=device,
            protocol=PROTOCOL,
            at=record.at,
            lat=lat,
            lon=lon,
            hdop=hdop / 10 if type(hdop) is int else None,
            satellites=satellites,
            speed_kmh=float(record.speed_kmh),
            course_deg=float(record.angle),
            altitude_m=float(record.altitude_m),
            battery_pct=float(min(battery_pct, 100)) if type(battery_pct) is int else None,
            battery_mv=battery_mv if type(battery_mv) is int else None,
            external_mv=external_mv if type(external_mv) is int else None,
            moving=moving == 1 if type(moving) is int else None,
            ignition=ignition == 1 if type(ignition) is int else None,
            alarm="sos" if record.priority == _PANIC else None,
        )
    return Fix(
        device=device,
        protocol=PROTOCOL,
        at=record.at,
        satellites=satellites,
        battery_pct=float(min(battery_pct, 100)) if type(battery_pct) is int else None,
        battery_mv=battery_mv if type(battery_mv) is int else None,
        external_mv=external_mv if type(external_mv) is int else None,
        moving=moving == 1 if type(moving) is int else None,
        ignition=ignition == 1 if type(ignition) is int else None,
        alarm="sos" if record.priority == _PANIC else None,
    )


class TeltonikaSession:
    """One tracker's connection: the IMEI handshake, then AVL packets, fed in any split."""

    protocol = PROTOCOL

    def __init__(self, is_registered: IsRegistered) -> None:
        self._is_registered = is_registered
        self._buffer = bytearray()
        self.device: str | None = None

    def feed(self, data: bytes) -> Step:
        step = Step()
        if (
            not self._buffer
            and self.device is not None
            and data[:4] == _NO_PREAMBLE
            and len(data) == 12 + int.from_bytes(data[4:8], "big") <= MAX_FRAME_BYTES
        ):
            # The common read: one whole packet, nothing left over. Taken as it is, not
            # copied through the buffer.
            self._packet(data, step)
            return step
        self._buffer += data
        while not step.close and self._buffer:
            if self._buffer[0] == _PING:
                del self._buffer[0]
                continue
            size = self._frame_size(step)
            if size is None or step.close:
                break
            frame = bytes(self._buffer[:size])
            del self._buffer[:size]
            if self.device is None:
                self._handshake(frame, step)
            else:
                self._packet(frame, step)
        return step

    def _frame_size(self, step: Step) -> int | None:
        """The length of the frame at the front of the buffer; None while incomplete."""
        buffer = self._buffer
        if self.device is None:
            if len(buffer) < 2:
                return None
            length = int.from_bytes(buffer[:2], "big")
            if not 0 < length <= _IMEI_MAX:
                self._hang_up(step, "bad_frame")
                return None
            size = 2 + length
        else:
            if len(buffer) < 8:
                if any(buffer[: min(4, len(buffer))]):
                    self._hang_up(step, "bad_frame")
                return None
            if any(buffer[:4]):
                self._hang_up(step, "bad_frame")
                return None
            size = 12 + int.from_bytes(buffer[4:8], "big")
            if size > MAX_FRAME_BYTES:
                self._hang_up(step, "frame_too_long")
                return None
        return size if len(buffer) >= size else None

    def _hang_up(self, step: Step, reason: str) -> None:
        step.rejected.append(reason)
        step.close = True
        self._buffer.clear()

    def _handshake(self, frame: bytes, step: Step) -> None:
        try:
            imei = decode_imei(frame)
        except DecodeError as exc:
            self._hang_up(step, exc.reason)
            return
        if not self._is_registered(imei):
            step.answer += _REFUSE
            step.refused = imei
            self._hang_up(step, "unknown_device")
            return
        self.device = step.logged_in = imei
        step.answer += _ACCEPT

    def _packet(self, frame: bytes, step: Step) -> None:
        assert self.device is not None
        codec = frame[8] if len(frame) > 8 else None
        if codec in _COMMAND_CODECS:
            step.rejected.append("unsupported_codec")  # an answer to no command: no ack
            return
        try:
            packet = decode_packet(frame)
        except DecodeError as exc:
            step.rejected.append(exc.reason)
            # A bad CRC is answered 0 so the tracker sends the packet again; a packet that
            # is whole but undecodable is acknowledged, or the tracker would resend it for
            # ever and send nothing else.
            taken = 0 if exc.reason == "bad_crc" or len(frame) < 10 else frame[9]
            step.answer += taken.to_bytes(4, "big")
            return
        records: Sequence[AvlRecord] = packet.records
        device = self.device
        # The same record twice in one packet is delivered once (looked for only when
        # the times do not simply rise: comparing them costs less than hashing them).
        if len(records) > 1 and not _rising(records):
            records = _first_of_each_time(records)
        step.fixes += [record_fix(device, record) for record in records]
        step.answer += len(packet.records).to_bytes(4, "big")


def _rising(records: Sequence[AvlRecord]) -> bool:
    """Whether each record is later than the one before it (then no two are the same)."""
    at = records[0].at
    for record in records[1:]:
        if record.at <= at:
            return False
        at = record.at
    return True


def _first_of_each_time(records: Sequence[AvlRecord]) -> list[AvlRecord]:
    seen: set[dt.datetime] = set()
    first = []
    for record in records:
        if record.at not in seen:
            seen.add(record.at)
            first.append(record)
    return first


# --- encoding (the demo's and the tests' trackers) ---------------------------------------


def teltonika_encode_imei(imei: str) -> bytes:
    """The handshake a tracker opens its connection with."""
    text = imei.encode("ascii")
    return len(text).to_bytes(2, "big") + text


def _fix_io(fix: Fix) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """The fix's values as (id, value) IO elements of 1 and 2 bytes."""
    one: list[tuple[int, int]] = [(IO_GNSS_STATUS, _GNSS_FIX if fix.lat is not None else 2)]
    two: list[tuple[int, int]] = []
    if fix.moving is not None:
        one.append((IO_MOVEMENT, int(fix.moving)))
    if fix.ignition is not None:
        one.append((IO_IGNITION, int(fix.ignition)))
    if fix.battery_pct is not None:
        one.append((IO_BATTERY_PCT, round(fix.battery_pct)))
    if fix.battery_mv is not None:
        two.append((IO_BATTERY_MV, fix.battery_mv))
    if fix.external_mv is not None:
        two.append((IO_EXTERNAL_MV, fix.external_mv))
    if fix.hdop is not None:
        two.append((IO_HDOP, round(fix.hdop * 10)))
    return one, two


def _encode_record(fix: Fix, codec: int) -> bytes:
    positioned = fix.lat is not None and fix.lon is not None
    ms = round((fix.at - _EPOCH).total_seconds() * 1000)
    sats = (fix.satellites if fix.satellites is not None else 9) if positioned else 0
    out = bytearray(
        _HEADER.pack(
            ms,
            _PANIC if fix.alarm == "sos" else 0,
            round((fix.lon or 0.0) * 1e7),
            round((fix.lat or 0.0) * 1e7),
            max(-32768, min(32767, round(fix.altitude_m or 0))),
            round(fix.course_deg or 0),
            sats,
            round(fix.speed_kmh or 0),
        )
    )
    one, two = _fix_io(fix)
    size = 2 if codec == CODEC_8E else 1
    groups: list[tuple[int, list[tuple[int, int]]]] = [(1, one), (2, two), (4, []), (8, [])]
    out += (0).to_bytes(size, "big")  # event id: periodic
    out += (len(one) + len(two)).to_bytes(size, "big")
    for value_size, items in groups:
        out += len(items).to_bytes(size, "big")
        for key, value in items:
            out += key.to_bytes(size, "big") + value.to_bytes(value_size, "big")
    if codec == CODEC_8E:
        out += (0).to_bytes(2, "big")  # no variable-length elements
    return bytes(out)


def teltonika_encode(fixes: Sequence[Fix], codec: int = CODEC_8E) -> bytes:
    """An AVL data packet carrying ``fixes`` (at most 255), as a tracker sends it."""
    if codec not in (CODEC_8, CODEC_8E):
        raise ValueError(f"codec {codec:#04x} is not 8 or 8E")
    if not 0 < len(fixes) <= 255:
        raise ValueError(f"an AVL packet carries 1 to 255 records, not {len(fixes)}")
    count = len(fixes).to_bytes(1, "big")
    data = bytes([codec]) + count + b"".join(_encode_record(f, codec) for f in fixes) + count
    crc = crc16_ibm(data).to_bytes(4, "big")
    return b"\x00\x00\x00\x00" + len(data).to_bytes(4, "big") + data + crc
