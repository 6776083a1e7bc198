"""Helpers the GPS plugin's tests share: sentences and requests as the devices make them."""

from __future__ import annotations

import functools
import operator


def nmea_sentence(body: str) -> bytes:
    """``$<body>*hh`` and CR LF, with the checksum a receiver puts on it (the XOR of every
    byte between ``$`` and ``*``)."""
    raw = body.encode("utf-8", "replace")
    checksum = functools.reduce(operator.xor, raw, 0)
    return b"$" + raw + f"*{checksum:02X}\r\n".encode()
