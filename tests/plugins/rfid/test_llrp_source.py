"""One fixed reader read over real LLRP on a loopback port (llrpkit's reader emulator):
what reaches the core, what is refused, and what a lost reader leaves behind."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from floki_rfid.config import LlrpReaderSettings
from floki_rfid.llrp_adapter import ROSPEC_ID
from floki_rfid.llrp_reads import ReaderGone
from floki_rfid.llrp_source import LlrpReaderSource
from llrpkit.emulator import EmulatedTag
from llrpkit.inventory import build_rospec
from llrpkit.protocol import impinj, messages, params

from floki_core.clock import ManualClock
from floki_core.testing import Floki
from tests.plugins.rfid.conftest import RecordingSink
from tests.plugins.rfid.llrp_peer import READER_US, EmulatedReader, broken_report, tag_report

PUMP = "E280116060000205A0B1C2D3"
HOIST = "3034257BF400B7800004CB2F"
NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def make_source(
    reader: EmulatedReader, batch_seconds: float = 0.1, **settings: Any
) -> LlrpReaderSource:
    config = LlrpReaderSettings(name="library-door", host="127.0.0.1", port=reader.port, **settings)
    return LlrpReaderSource(config, ManualClock(NOW), batch_seconds=batch_seconds)


@contextlib.asynccontextmanager
async def running(
    source: LlrpReaderSource, sink: RecordingSink
) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.ensure_future(source.run(sink))
    try:
        yield task
    finally:
        await source.stop()
        with contextlib.suppress(ReaderGone):
            await asyncio.wait_for(task, 2.0)


async def test_reads_arrive_once_per_tag_and_antenna_with_the_strongest_rssi(
    llrp_reader: EmulatedReader, sink: RecordingSink
) -> None:
    source = make_source(llrp_reader, antennas=[1, 2])
    async with running(source, sink):
        await Floki.eventually(lambda: llrp_reader.inventorying, "the reader to inventory")
        await llrp_reader.report(tag_report(PUMP, 1, -61), tag_report(PUMP, 1, -52, seen=3))
        await llrp_reader.report(
            tag_report(PUMP, 2, -70, at_us=READER_US + 40_000), tag_report(HOIST, 1, -66)
        )
        await llrp_reader.report(tag_report(PUMP, 1, -58, at_us=READER_US + 90_000))
        await Floki.eventually(lambda: len(sink.observations) >= 3, "three tallies")
    arrived = {(o.tag, o.receiver): o for o in sink.observations}
    assert set(arrived) == {
        (PUMP, "library-door:1"),
        (PUMP, "library-door:2"),
        (HOIST, "library-door:1"),
    }
    pump = arrived[(PUMP, "library-door:1")]
    assert (pump.technology, pump.rssi, pump.observed_at) == ("rfid", -52.0, NOW)
    assert pump.extras["seen_count"] == 5
    first = dt.datetime.fromtimestamp(READER_US / 1e6, dt.UTC)
    assert pump.extras["first_seen"] == first.isoformat()
    assert pump.extras["last_seen"] == (first + dt.timedelta(milliseconds=90)).isoformat()
    assert len(sink.batches) == 1, "reads heard together reach the core together"
    assert llrp_reader.rospecs() == [], "the reader is left idle when the source stops"


async def test_the_emulators_own_reads_tens_a_second_are_folded_per_window(
    sink: RecordingSink,
) -> None:
    tags = [EmulatedTag(epc=bytes.fromhex(PUMP), antennas=(1, 2), rssi_dbm=-50.0)]
    reader = EmulatedReader(tags, reads_per_sec=300.0)
    await reader.start()
    try:
        source = make_source(reader)
        async with running(source, sink):
            await Floki.eventually(
                lambda: sum(int(o.extras["seen_count"] or 0) for o in sink.observations) > 60,
                "reads of the pump",
            )
    finally:
        await reader.close()
    seen = sum(int(o.extras["seen_count"] or 0) for o in sink.observations)
    assert len(sink.observations) * 5 < seen, (len(sink.observations), seen)
    assert {o.receiver for o in sink.observations} <= {"library-door:1", "library-door:2"}
    assert all(o.rssi is not None and -60 < o.rssi < -40 for o in sink.observations)


async def test_a_stale_rospec_is_deleted_and_keepalives_are_asked_for(
    llrp_reader: EmulatedReader, sink: RecordingSink
) -> None:
    llrp_reader.stale_rospec = build_rospec(ro_spec_id=7)
    source = make_source(llrp_reader, keepalive_seconds=1.0)
    async with running(source, sink) as task:
        await Floki.eventually(
            lambda: llrp_reader.inventorying and llrp_reader.rospecs() == [ROSPEC_ID],
            "the stale ROSpec to give way to the source's own",
        )
        await Floki.eventually(lambda: llrp_reader.keepalive_acks >= 1, "a keepalive answered")
        assert not task.done()


async def test_reads_without_a_known_antenna_are_counted_not_used(
    llrp_reader: EmulatedReader, sink: RecordingSink
) -> None:
    source = make_source(llrp_reader, antennas=[1, 2])
    async with running(source, sink) as task:
        await Floki.eventually(lambda: llrp_reader.inventorying, "the reader to inventory")
        await llrp_reader.report(tag_report(PUMP, None), tag_report(PUMP, 3))
        await llrp_reader.report(tag_report(HOIST, 3))
        await llrp_reader.send_raw(broken_report())
        await llrp_reader.report(tag_report(HOIST, 1))
        await Floki.eventually(lambda: sum(sink.rejected.values()) >= 4, "four refusals")
        await Floki.eventually(lambda: sink.observations, "the good read after them")
        assert not task.done(), "bad reads do not end the session"
    assert sink.rejected == {"no_antenna": 1, "unknown_antenna": 2, "bad_frame": 1}
    assert [(o.tag, o.receiver) for o in sink.observations] == [(HOIST, "library-door:1")]


async def test_a_reader_lost_mid_report_hands_over_every_read_it_sent_then_reconnects(
    llrp_reader: EmulatedReader, sink: RecordingSink
) -> None:
    # A long window: what arrives must be handed over because the reader went, not by a tick.
    source = make_source(llrp_reader, batch_seconds=10.0)
    task = asyncio.ensure_future(source.run(sink))
    await Floki.eventually(lambda: llrp_reader.inventorying, "the reader to inventory")
    sent = [tag_report(PUMP, 1 + n % 2, -60 + n) for n in range(5)]
    await llrp_reader.die_mid_report(*sent, tag_report(HOIST, 1))
    with pytest.raises(ReaderGone) as gone:
        await asyncio.wait_for(task, 5.0)
    assert "lost" in str(gone.value) and f"127.0.0.1:{llrp_reader.port}" in str(gone.value)
    by_receiver = {o.receiver: o for o in sink.observations if o.tag == PUMP}
    assert sum(int(o.extras["seen_count"] or 0) for o in by_receiver.values()) == 5
    assert by_receiver["library-door:1"].rssi == -56.0
    assert [o.tag for o in sink.observations].count(HOIST) == 1
    assert not any(o.tag == "E2" * 12 for o in sink.observations), "half a report is no read"

    # As the supervisor does after its backoff: the same source, run again.
    with pytest.raises(ReaderGone, match="cannot connect"):
        await asyncio.wait_for(source.run(sink), 5.0)
    await llrp_reader.come_back()
    source.batch_seconds = 0.1
    before = len(sink.observations)
    async with running(source, sink):
        await Floki.eventually(lambda: llrp_reader.inventorying, "the reader to inventory")
        await llrp_reader.report(tag_report(HOIST, 2))
        await Floki.eventually(lambda: len(sink.observations) > before, "a read after")
    assert sink.observations[-1].receiver == "library-door:2"


async def test_a_reader_that_stops_answering_is_dropped_with_the_reason(
    llrp_reader: EmulatedReader, sink: RecordingSink
) -> None:
    source = make_source(llrp_reader, keepalive_seconds=1.0, connect_timeout_seconds=0.3)
    llrp_reader.drop_next(messages.GET_READER_CONFIG)
    with pytest.raises(ReaderGone) as gone:
        await asyncio.wait_for(source.run(sink), 5.0)
    assert "reported nothing for 1 s and did not answer" in str(gone.value)


async def test_antennas_the_reader_lacks_are_named(
    llrp_reader: EmulatedReader, sink: RecordingSink
) -> None:
    source = make_source(llrp_reader, antennas=[1, 5, 6])
    with pytest.raises(ReaderGone) as gone:
        await asyncio.wait_for(source.run(sink), 5.0)
    assert str(gone.value) == (
        f"reader at 127.0.0.1:{llrp_reader.port} has 4 antenna ports; antennas lists 5, 6"
    )


async def test_the_rospec_asks_for_the_configured_antennas_power_session_and_search_mode(
    llrp_reader: EmulatedReader, sink: RecordingSink
) -> None:
    source = make_source(
        llrp_reader, antennas=[2, 3], tx_power_dbm=24.5, session=2, search_mode="dual_target"
    )
    async with running(source, sink):
        await Floki.eventually(lambda: llrp_reader.inventorying, "the reader to inventory")
        spec = llrp_reader.rospec(ROSPEC_ID)
    ai_spec = spec.spec_parameters[0]
    assert isinstance(ai_spec, params.AISpec)
    assert ai_spec.antenna_ids == [2, 3]
    antenna = ai_spec.inventory_parameter_specs[0].antenna_configurations[0]
    assert antenna.rf_transmitter is not None
    assert antenna.rf_transmitter.transmit_power == 15, "24 dBm: the table's step at or below"
    command = antenna.air_protocol_inventory_command_settings[0]
    assert command.c1_g2_singulation_control.session == 2
    modes = [c for c in command.custom if isinstance(c, impinj.ImpinjInventorySearchMode)]
    assert [m.inventory_search_mode for m in modes] == [2]
    assert spec.ro_report_spec.n == 1, "every read reported as it happens"


async def test_with_a_report_interval_the_reader_gathers_reads_and_is_asked_for_them(
    llrp_reader: EmulatedReader, sink: RecordingSink
) -> None:
    source = make_source(llrp_reader, report_every_ms=100)
    async with running(source, sink):
        await Floki.eventually(lambda: llrp_reader.get_reports >= 3, "GET_REPORT three times")
        assert llrp_reader.rospec(ROSPEC_ID).ro_report_spec.n == 0, "held until asked"


async def test_a_stop_is_quick_even_when_the_reader_no_longer_answers(
    llrp_reader: EmulatedReader, sink: RecordingSink
) -> None:
    source = make_source(llrp_reader)
    task = asyncio.ensure_future(source.run(sink))
    await Floki.eventually(lambda: llrp_reader.inventorying, "the reader to inventory")
    llrp_reader.deaf_to |= {messages.STOP_ROSPEC, messages.DELETE_ROSPEC, messages.CLOSE_CONNECTION}
    loop = asyncio.get_running_loop()
    began = loop.time()
    await source.stop()
    await asyncio.wait_for(task, 5.0)
    assert loop.time() - began < 1.5


async def test_reader_notices_are_read_and_logged_once_each(
    llrp_reader: EmulatedReader, sink: RecordingSink, caplog: pytest.LogCaptureFixture
) -> None:
    # The emulator answers GET_REPORT with an ERROR_MESSAGE every time (as an older
    # reader might), and reports an antenna cable pulled.
    source = make_source(llrp_reader, report_every_ms=20)
    async with running(source, sink):
        await Floki.eventually(lambda: llrp_reader.inventorying, "the reader to inventory")
        await llrp_reader.set_antenna_connected(3, False)
        await Floki.eventually(lambda: llrp_reader.get_reports >= 10, "GET_REPORT ten times")
        await Floki.eventually(
            lambda: any("antenna 3" in r.getMessage() for r in caplog.records), "antenna 3"
        )
    lines = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    refused = [line for line in lines if "GET_REPORT" in line]
    assert len(refused) == 1, lines
    assert f"reader at 127.0.0.1:{llrp_reader.port}" in refused[0]
    assert any(f"127.0.0.1:{llrp_reader.port}: antenna 3 disconnected" in x for x in lines)
    assert not any("queue full" in line for line in lines)


async def test_a_read_at_a_portal_antenna_is_handed_over_at_once_and_a_shelf_s_waits(
    llrp_reader: EmulatedReader, sink: RecordingSink
) -> None:
    # A ten-second window: only a portal read may arrive before it ends.
    config = LlrpReaderSettings(name="library-door", host="127.0.0.1", port=llrp_reader.port)
    source = LlrpReaderSource(
        config, ManualClock(NOW), batch_seconds=10.0, portal_antennas=frozenset({1, 2})
    )
    async with running(source, sink):
        await Floki.eventually(lambda: llrp_reader.inventorying, "the reader to inventory")
        await llrp_reader.report(tag_report(HOIST, 3, -60))  # a shelf antenna
        await asyncio.sleep(0.3)
        assert sink.observations == []
        await llrp_reader.report(tag_report(PUMP, 2, -55))  # the door's outer antenna
        await Floki.eventually(lambda: len(sink.observations) == 2, "the portal read", 2.0)
    # The shelf read went with it: one hand-over of the whole window.
    assert {o.receiver for o in sink.observations} == {"library-door:3", "library-door:2"}
