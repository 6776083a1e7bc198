"""RO_ACCESS_REPORT frames straight to tag reads: the one LLRP message that arrives tens of
thousands of times a second, decoded without building the full parameter tree.

A general LLRP decoder (llrpkit's) turns a tag report into a tree of parameter objects at
about 70 µs a tag; a fixed reader's hot path needs only the EPC, antenna, RSSI, first/last
seen and seen count. The layout (EPCglobal LLRP 1.0.1, §16 and §15.2.1.3): a 10-byte
header (3 reserved bits, 3 version bits, a 10-bit type, a 32-bit length, a 32-bit id),
then TLV parameters (6 reserved bits, a 10-bit type, a 16-bit length including the 4-byte
header) or TV parameters (high bit set, a 7-bit type, a value whose size the type fixes).
A TagReportData (TLV 240) holds an EPC (EPCData TLV 241: a bit count and the bits; or
EPC-96 TV 13: 12 bytes) and the optional TV fields; Impinj readers add their peak RSSI in
hundredths of a dBm as a custom parameter (TLV 1023, vendor 25882, subtype 57), which is
preferred to the whole-dBm one. Anything else is skipped by its length.

Pure: bytes in, ``TagRead``s out; raises only ``BadFrame``.
"""

from __future__ import annotations

import struct

from floki_rfid.llrp_reads import BadFrame, TagRead

RO_ACCESS_REPORT = 61
TAG_REPORT_DATA = 240
EPC_DATA = 241
CUSTOM = 1023
IMPINJ = 25882
IMPINJ_PEAK_RSSI = 57
HEADER = 10

# The value size of each TV parameter type (§16.2.1), after its one type byte.
TV_SIZES = {
    1: 2,  # AntennaID
    2: 8,  # FirstSeenTimestampUTC
    3: 8,  # FirstSeenTimestampUptime
    4: 8,  # LastSeenTimestampUTC
    5: 8,  # LastSeenTimestampUptime
    6: 1,  # PeakRSSI
    7: 2,  # ChannelIndex
    8: 2,  # TagSeenCount
    9: 4,  # ROSpecID
    10: 2,  # InventoryParameterSpecID
    11: 2,  # C1G2-CRC
    12: 2,  # C1G2-PC
    13: 12,  # EPC-96
    14: 2,  # SpecIndex
    15: 2,  # ClientRequestOpSpecResult
    16: 4,  # AccessSpecID
    17: 2,  # OpSpecID
    18: 4,  # C1G2SingulationDetails
}


_U16 = struct.Struct(">H").unpack_from
_U32 = struct.Struct(">I").unpack_from
_U64 = struct.Struct(">Q").unpack_from
_B = struct.Struct(">b").unpack_from
_H2 = struct.Struct(">HH").unpack_from
_CUSTOM_HEAD = struct.Struct(">IIh").unpack_from
# Each fixed-size field is read where it lies (no slice per field), and a TV parameter's
# value size is looked up by its head byte (128 + type; 0: a type LLRP does not define).
_TV = [0] * 256
for _k, _v in TV_SIZES.items():
    _TV[0x80 | _k] = _v


def message_type(frame: bytes) -> int:
    return ((frame[0] & 0x03) << 8) | frame[1]


def decode_frame(frame: bytes) -> list[TagRead]:
    """The tag reads of one framed LLRP message (none unless it is an RO_ACCESS_REPORT)."""
    size = len(frame)
    if size < HEADER:
        raise BadFrame(f"{size} bytes is shorter than an LLRP message header")
    length = _U32(frame, 2)[0]
    if length != size:
        raise BadFrame(f"the header says {length} bytes; the frame has {size}")
    if message_type(frame) != RO_ACCESS_REPORT:
        return []
    reads: list[TagRead] = []
    append = reads.append
    at = HEADER
    while at < size:
        if frame[at] & 0x80:
            raise BadFrame(f"a TV parameter at byte {at} of a report: only TLVs belong there")
        if at + 4 > size:
            raise BadFrame(f"a parameter header cut short at byte {at}")
        head, plen = _H2(frame, at)
        kind = head & 0x3FF
        end = at + plen
        if end < at + 4 or end > size:
            raise BadFrame(f"parameter {kind} at byte {at} has a length outside the frame")
        if kind == TAG_REPORT_DATA:
            append(_tag_report(frame, at + 4, end))
        at = end
    return reads


def _tag_report(frame: bytes, at: int, end: int) -> TagRead:
    epc = b""
    antenna: int | None = None
    rssi: float | None = None
    impinj_rssi: float | None = None
    first: int | None = None
    last: int | None = None
    count = 1
    tv = _TV
    while at < end:
        head = frame[at]
        if head & 0x80:
            value_size = tv[head]
            if not value_size:
                raise BadFrame(f"unknown TV parameter type {head & 0x7F} at byte {at}")
            value = at + 1
            at = value + value_size
            if at > end:
                raise BadFrame(f"TV parameter {head & 0x7F} overruns its tag report")
            if head == 0x8D:
                epc = frame[value:at]
            elif head == 0x81:
                antenna = _U16(frame, value)[0]
            elif head == 0x86:
                rssi = float(_B(frame, value)[0])
            elif head == 0x82:
                first = _U64(frame, value)[0]
            elif head == 0x84:
                last = _U64(frame, value)[0]
            elif head == 0x88:
                count = _U16(frame, value)[0]
            continue
        if at + 4 > end:
            raise BadFrame(f"a parameter header cut short at byte {at}")
        phead, plen = _H2(frame, at)
        kind = phead & 0x3FF
        stop = at + plen
        if stop < at + 4 or stop > end:
            raise BadFrame(f"parameter {kind} at byte {at} has a length outside its tag report")
        if kind == EPC_DATA:
            if stop < at + 6:
                raise BadFrame(f"EPCData at byte {at} has no bit count")
            bits = _U16(frame, at + 4)[0]
            if at + 6 + (bits + 7) // 8 > stop:
                raise BadFrame(f"EPCData at byte {at} claims {bits} bits it does not hold")
            epc = frame[at + 6 : at + 6 + (bits + 7) // 8]
        elif kind == CUSTOM and stop >= at + 14:
            vendor, subtype, value = _CUSTOM_HEAD(frame, at + 4)
            if vendor == IMPINJ and subtype == IMPINJ_PEAK_RSSI:
                impinj_rssi = value / 100
        at = stop
    return TagRead(
        epc.hex().upper(),
        antenna,
        impinj_rssi if impinj_rssi is not None else rssi,
        first,
        last,
        count or 1,
    )
