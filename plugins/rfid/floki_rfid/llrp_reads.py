"""What a fixed reader's session yields, whatever decodes it: plain records, no client."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TagRead:
    """One tag report: the EPC in upper-case hex, the antenna port (None when the reader
    left it out), peak RSSI in dBm, the reader's first/last-seen clock (microseconds since
    the epoch) and how many times it read the tag for this report."""

    epc_hex: str
    antenna: int | None
    peak_rssi: float | None
    first_seen_us: int | None
    last_seen_us: int | None
    seen_count: int


@dataclass(frozen=True, slots=True)
class InventoryPlan:
    """What the reader is asked to do (see ``LlrpReaderSettings`` for each field)."""

    antennas: Sequence[int] = ()
    tx_power_dbm: float | None = None
    session: int = 1
    search_mode: str = ""
    report_every_ms: int = 0
    keepalive_seconds: float = 10.0


class BadFrame(ValueError):
    """Bytes that are not one well-formed LLRP message."""


class ReaderGone(ConnectionError):
    """The reader could not be reached, refused what was asked, or went away; the message
    says which and why."""
