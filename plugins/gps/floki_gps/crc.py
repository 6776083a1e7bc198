"""The two CRC-16 variants the TCP tracker protocols check their frames with.

Both are reflected CRCs, computed two bytes at a time from a 65,536-entry table built
from the standard 256-entry one (twice as fast as a byte at a time; 128 KB each, as
unsigned shorts): Teltonika's AVL packets carry CRC-16/IBM (also called CRC-16/ARC: polynomial
0x8005 reflected as 0xA001, initial value 0), GT06/Concox frames CRC-16/X.25 (the
"CRC-ITU" of their manuals: polynomial 0x1021 reflected as 0x8408, initial value and
final XOR 0xFFFF). ``binascii.crc_hqx`` is neither (it is the unreflected XMODEM CRC).
"""

from __future__ import annotations

import array
import struct

__all__ = ["crc16_ibm", "crc16_x25"]


def _table(polynomial: int) -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ polynomial if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


def _pairs(table: tuple[int, ...]) -> array.array[int]:
    """The register after two bytes, indexed by the register XOR the two bytes (the first
    in the low half): a 16-bit register takes in two bytes whole, so that is all it
    depends on."""
    return array.array(
        "H",
        ((table[v & 0xFF] >> 8) ^ table[((v >> 8) ^ table[v & 0xFF]) & 0xFF] for v in range(65536)),
    )


_IBM = _table(0xA001)
_X25 = _table(0x8408)
_IBM_PAIRS = _pairs(_IBM)
_X25_PAIRS = _pairs(_X25)


def _crc(
    data: bytes | bytearray | memoryview, crc: int, table: tuple[int, ...], pairs: array.array[int]
) -> int:
    size = len(data)
    for word in struct.unpack_from(f"<{size // 2}H", data):
        crc = pairs[crc ^ word]
    if size & 1:
        crc = (crc >> 8) ^ table[(crc ^ data[size - 1]) & 0xFF]
    return crc


def crc16_ibm(data: bytes | bytearray | memoryview) -> int:
    """CRC-16/IBM (ARC) of ``data``; check value of b"123456789" is 0xBB3D."""
    return _crc(data, 0, _IBM, _IBM_PAIRS)


def crc16_x25(data: bytes | bytearray | memoryview) -> int:
    """CRC-16/X.25 (CRC-ITU) of ``data``; check value of b"123456789" is 0x906E."""
    return _crc(data, 0xFFFF, _X25, _X25_PAIRS) ^ 0xFFFF
