"""The two CRC-16 variants the TCP tracker protocols check their frames with.

Both are reflected CRCs computed a byte at a time from a 256-entry table (the standard
algorithm): Teltonika's AVL packets carry CRC-16/IBM (also called CRC-16/ARC: polynomial
0x8005 reflected as 0xA001, initial value 0), GT06/Concox frames CRC-16/X.25 (the
"CRC-ITU" of their manuals: polynomial 0x1021 reflected as 0x8408, initial value and
final XOR 0xFFFF). ``binascii.crc_hqx`` is neither (it is the unreflected XMODEM CRC).
"""

from __future__ import annotations

__all__ = ["crc16_ibm", "crc16_x25"]


def _table(polynomial: int) -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ polynomial if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_IBM = _table(0xA001)
_X25 = _table(0x8408)


def crc16_ibm(data: bytes | bytearray | memoryview) -> int:
    """CRC-16/IBM (ARC) of ``data``; check value of b"123456789" is 0xBB3D."""
    crc = 0
    table = _IBM
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc


def crc16_x25(data: bytes | bytearray | memoryview) -> int:
    """CRC-16/X.25 (CRC-ITU) of ``data``; check value of b"123456789" is 0x906E."""
    crc = 0xFFFF
    table = _X25
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc ^ 0xFFFF
