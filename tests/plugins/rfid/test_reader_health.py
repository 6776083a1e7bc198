"""A reader's health from what its windows hand over: the read rate is the last ten
seconds' (older hand-overs are forgotten), the antennas those configured else heard."""

from __future__ import annotations

import datetime as dt

from floki_rfid.aggregation import ReadWindow
from floki_rfid.llrp_reads import TagRead
from floki_rfid.reader_health import reader_details

T0 = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)


def read(epc: str, antenna: int, seen: int) -> TagRead:
    return TagRead(
        epc_hex=epc,
        antenna=antenna,
        peak_rssi=-60.0,
        first_seen_us=None,
        last_seen_us=None,
        seen_count=seen,
    )


def details(
    window: ReadWindow, now: dt.datetime, antennas: tuple[int, ...] = ()
) -> dict[str, object]:
    return reader_details(
        window.traffic,
        kind="llrp",
        connected=True,
        address="door:5084",
        antennas=list(antennas),
        now=now,
    )


def test_the_rate_covers_the_last_ten_seconds_and_totals_keep_counting() -> None:
    window = ReadWindow(100)
    window.add(read("E2" * 12, 1, 30), T0)
    window.add(read("E2" * 12, 1, 20), T0)
    window.add(read("30" * 12, 3, 10), T0)
    assert details(window, T0)["reports"] == 0  # nothing handed over yet
    window.take()
    window.add(read("30" * 12, 3, 40), T0 + dt.timedelta(seconds=6))
    window.take()

    now = T0 + dt.timedelta(seconds=8)
    assert (details(window, now)["reads_per_s"], details(window, now)["tags_per_s"]) == (10.0, 0.3)
    assert details(window, now)["antennas"] == [1, 3]
    assert details(window, now)["last_report"] == (T0 + dt.timedelta(seconds=6)).isoformat()

    later = T0 + dt.timedelta(seconds=12)  # the first hand-over is now over 10 s old
    assert (details(window, later)["reads_per_s"], details(window, later)["tags_per_s"]) == (
        4.0,
        0.1,
    )
    assert details(window, later)["reports"] == 3
    assert details(window, later, antennas=(1, 2, 3, 4))["antennas"] == [1, 2, 3, 4]
