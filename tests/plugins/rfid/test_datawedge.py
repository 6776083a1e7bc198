"""Zebra handhelds' DataWedge IP output: reads sent as lines over loopback TCP and UDP
become reads at ``<handheld>:0``; lines without the configured prefix/suffix or EPC are
counted; a port another program holds ends the run with the reason."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from floki_rfid.datawedge import MAX_LINE, DataWedgeSource, read_line
from floki_rfid.epc import EpcIdentities
from floki_rfid.zebra_config import DataWedgeSettings

from floki_core.clock import ManualClock
from tests.plugins.rfid.conftest import RecordingSink

PUMP = "E280116060000205A0B1C2D3"
HOIST = "3034257BF400B7800004CB2F"  # an SGTIN-96
HOST = "127.0.0.1"


def free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


LINES = [
    ("plain", b"e280116060000205a0b1c2d3\n", "", "", PUMP),
    ("crlf", b"E280116060000205A0B1C2D3\r\n", "", "", PUMP),
    ("prefix_suffix", b"RFID:3034257BF400B7800004CB2F;\n", "RFID:", ";", HOIST),
    ("no_prefix", b"3034257BF400B7800004CB2F;\n", "RFID:", ";", "bad_line"),
    ("not_text", b"\xff\xfe\n", "", "", "bad_line"),
    ("not_hex", b"hello world\n", "", "", "bad_epc"),
    ("giai_header_wrong_length", b"3414257BF400B780\n", "", "", "bad_epc"),
]


@pytest.mark.parametrize(
    ("name", "line", "prefix", "suffix", "found"), LINES, ids=[x[0] for x in LINES]
)
def test_lines(name: str, line: bytes, prefix: str, suffix: str, found: str) -> None:
    assert read_line(line, prefix, suffix, EpcIdentities()).partition(":")[0] == found


def handheld(**more: Any) -> DataWedgeSettings:
    fields: dict[str, Any] = {
        "name": "sweep-1",
        "listen_host": HOST,
        "tcp_port": free_port(socket.SOCK_STREAM),
        "udp_port": free_port(socket.SOCK_DGRAM),
        **more,
    }
    return DataWedgeSettings(**fields)


async def until(condition: Any, what: str, seconds: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


async def listening(source: DataWedgeSource) -> None:
    port = source.settings.tcp_port

    def accepts() -> bool:
        try:
            socket.create_connection((HOST, port), timeout=0.2).close()
            return True
        except OSError:
            return False

    await until(accepts, "the listener")


@pytest.fixture
async def source(sink: RecordingSink) -> AsyncIterator[DataWedgeSource]:
    listener = DataWedgeSource(
        handheld(prefix="RFID:", suffix=";"), ManualClock(), batch_seconds=0.05
    )
    task = asyncio.create_task(listener.run(sink))
    await listening(listener)
    yield listener
    await listener.stop()
    await asyncio.wait_for(task, 5)


async def send_tcp(port: int | None, data: bytes) -> None:
    assert port is not None
    _reader, writer = await asyncio.open_connection(HOST, port)
    writer.write(data)
    await writer.drain()
    writer.close()
    await writer.wait_closed()


def send_udp(port: int | None, data: bytes) -> None:
    assert port is not None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(data, (HOST, port))


async def test_tcp_lines_become_reads_at_the_handhelds_antenna_0(
    source: DataWedgeSource, sink: RecordingSink
) -> None:
    await send_tcp(
        source.settings.tcp_port,
        b"RFID:E280116060000205A0B1C2D3;\r\nRFID:E280116060000205A0B1C2D3;\r\n"
        b"RFID:3034257BF400B7800004CB2F;",  # the last read without a line break
    )
    await until(lambda: len(sink.observations) >= 2, "two observations")
    got = {o.tag: o for o in sink.observations}
    assert set(got) == {PUMP, HOIST}
    assert {o.receiver for o in sink.observations} == {"sweep-1:0"}
    assert got[PUMP].technology == "rfid" and got[PUMP].extras["seen_count"] == 2
    assert not sink.rejected
    health = source.details()
    settings = source.settings
    assert health["kind"] == "datawedge" and health["antennas"] == [0]
    assert health["address"] == f"{HOST} (tcp {settings.tcp_port}, udp {settings.udp_port})"
    assert health["reports"] == 2 and not health["connected"]  # the handheld hung up


async def test_udp_datagrams_become_reads(source: DataWedgeSource, sink: RecordingSink) -> None:
    send_udp(source.settings.udp_port, b"RFID:E280116060000205A0B1C2D3;")
    send_udp(source.settings.udp_port, b"RFID:3034257BF400B7800004CB2F;\n")
    await until(lambda: len(sink.observations) >= 2, "two observations")
    assert {(o.tag, o.receiver) for o in sink.observations} == {
        (PUMP, "sweep-1:0"),
        (HOIST, "sweep-1:0"),
    }


async def test_bad_lines_are_counted_by_reason_and_the_connection_kept(
    source: DataWedgeSource, sink: RecordingSink
) -> None:
    await send_tcp(
        source.settings.tcp_port,
        b"E280116060000205A0B1C2D3\nRFID:not an epc;\n\nRFID:E280116060000205A0B1C2D3;\n",
    )
    send_udp(source.settings.udp_port, b"RFID:;")
    await until(lambda: sink.observations, "the good read")
    await until(lambda: sum(sink.rejected.values()) >= 3, "the bad lines counted")
    assert sink.rejected == {"bad_line": 2, "bad_epc": 1}
    assert [o.tag for o in sink.observations] == [PUMP]


async def test_a_line_too_long_is_counted_and_its_connection_closed(
    source: DataWedgeSource, sink: RecordingSink
) -> None:
    port = source.settings.tcp_port
    reader, writer = await asyncio.open_connection(HOST, port)
    writer.write(b"A" * (MAX_LINE * 2))
    await writer.drain()
    assert await asyncio.wait_for(reader.read(), 5) == b""  # closed by the listener
    writer.close()
    await until(lambda: sink.rejected, "the long line counted")
    assert sink.rejected == {"line_too_long": 1}


async def test_a_port_another_program_holds_ends_the_run_with_the_reason(
    sink: RecordingSink,
) -> None:
    settings = handheld()
    squatter = socket.socket()
    squatter.bind((HOST, settings.tcp_port or 0))
    squatter.listen()
    try:
        with pytest.raises(ConnectionError, match=f"handheld sweep-1: cannot listen on {HOST}"):
            await asyncio.wait_for(DataWedgeSource(settings, ManualClock()).run(sink), 5)
    finally:
        squatter.close()


async def test_stop_closes_an_open_connection(sink: RecordingSink) -> None:
    listener = DataWedgeSource(handheld(), ManualClock(), batch_seconds=0.05)
    task = asyncio.create_task(listener.run(sink))
    await listening(listener)
    reader, writer = await asyncio.open_connection(HOST, listener.settings.tcp_port)
    writer.write(b"E280116060000205A0B1C2D3\n")
    await writer.drain()
    await until(lambda: listener.lines, "the line")
    await listener.stop()
    await asyncio.wait_for(task, 5)
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()
    assert [o.tag for o in sink.observations] == [PUMP]  # handed over on the way out


def test_settings_refuse_a_host_without_a_port() -> None:
    with pytest.raises(ValueError, match="has a listen_host but no tcp_port or udp_port"):
        DataWedgeSettings(name="h", listen_host=HOST)
