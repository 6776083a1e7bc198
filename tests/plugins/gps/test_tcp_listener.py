"""The TCP listener every tracker protocol shares, over real loopback sockets: many
connections at once, the shared connection cap, the idle timeout, frames cut across reads,
over-long frames, batching, backlogs, a port already taken, and a clean stop."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import socket
import time
from collections.abc import AsyncIterator, Sequence

import pytest
from floki_gps import tcp_listener
from floki_gps.devices import DeviceBook
from floki_gps.gt06 import Gt06Session
from floki_gps.tcp_listener import ConnectionCap, ListenerUnavailable, TrackerListener
from floki_gps.teltonika import TeltonikaSession, teltonika_encode, teltonika_encode_imei

from floki_core.clock import ManualClock
from floki_core.observations import Observation
from tests.fixtures.gps_trackers import Gt06Tracker, TeltonikaTracker, TrackerClosed, fix_at

NOW = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
# Worker processes per listener in the test running now: every test runs with the
# connections held in this process and again held by a worker process (``tcp_workers``).
WORKERS = 0


@pytest.fixture(autouse=True, params=[0, 1], ids=["in-process", "worker"])
def held_by(request: pytest.FixtureRequest) -> int:
    global WORKERS
    WORKERS = request.param
    return WORKERS


REGISTERED = {f"35630704244{n:04d}" for n in range(100)}
IMEI = "356307042440000"


class Sink:
    """What the core gives a source: batches and rejection counts, remembered."""

    def __init__(self) -> None:
        self.batches: list[Sequence[Observation]] = []
        self.rejected: collections.Counter[str] = collections.Counter()

    async def submit(self, batch: Sequence[Observation]) -> None:
        self.batches.append(batch)

    def reject(self, reason: str, count: int = 1) -> None:
        self.rejected[reason] += count

    @property
    def observations(self) -> list[Observation]:
        return [o for b in self.batches for o in b]


class Running:
    def __init__(self, listener: TrackerListener, sink: Sink, devices: DeviceBook) -> None:
        self.listener = listener
        self.sink = sink
        self.devices = devices
        assert listener.bound is not None
        self.host, self.port = listener.bound

    def teltonika(self, imei: str = IMEI) -> TeltonikaTracker:
        return TeltonikaTracker(imei, self.host, self.port)

    def gt06(self, imei: str = IMEI) -> Gt06Tracker:
        return Gt06Tracker(imei, self.host, self.port)


def listener_for(
    protocol: str,
    *,
    cap: ConnectionCap | None = None,
    idle: float = 30.0,
    batch: float = 0.05,
    port: int = 0,
    devices: DeviceBook | None = None,
) -> TrackerListener:
    clock = ManualClock(NOW)
    if protocol == "teltonika":

        def new_session() -> TeltonikaSession | Gt06Session:
            return TeltonikaSession(REGISTERED.__contains__)
    else:

        def new_session() -> TeltonikaSession | Gt06Session:
            return Gt06Session(REGISTERED.__contains__, clock.now)

    return TrackerListener(
        title=protocol,
        host="127.0.0.1",
        port=port,
        new_session=new_session,
        devices=devices or DeviceBook(clock.now),
        clock=clock,
        cap=cap or ConnectionCap(1000),
        idle_timeout=idle,
        batch_seconds=batch,
        workers=WORKERS,
        worker_protocol=protocol,
        is_registered=REGISTERED.__contains__,
    )


async def eventually(check: object, what: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def running(listener: TrackerListener, sink: Sink | None = None) -> AsyncIterator[Running]:
    sink = sink or Sink()
    task = asyncio.create_task(listener.run(sink))
    await eventually(lambda: listener.bound is not None or task.done(), "the listener")
    if task.done():
        task.result()
    try:
        yield Running(listener, sink, listener.devices)
    finally:
        started = time.monotonic()
        await listener.stop()
        await asyncio.wait_for(task, 2.0)
        assert time.monotonic() - started < 2.0


@pytest.fixture
async def teltonika() -> AsyncIterator[Running]:
    async with running(listener_for("teltonika")) as run:
        yield run


async def test_many_trackers_at_once_are_answered_and_batched(teltonika: Running) -> None:
    imeis = sorted(REGISTERED)[:40]

    async def report(imei: str) -> int:
        async with teltonika.teltonika(imei) as tracker:
            assert await tracker.log_in()
            return await tracker.send([fix_at(imei, "teltonika", NOW)])

    assert await asyncio.gather(*(report(i) for i in imeis)) == [1] * 40
    await eventually(lambda: len(teltonika.sink.observations) == 40, "40 fixes")
    assert sorted(o.tag for o in teltonika.sink.observations) == imeis
    assert len(teltonika.sink.batches) < 40
    assert {o.technology for o in teltonika.sink.observations} == {"gps"}


async def test_the_connection_cap_is_shared_by_both_protocols() -> None:
    cap = ConnectionCap(2)
    async with (
        running(listener_for("teltonika", cap=cap)) as teltonika,
        running(listener_for("gt06", cap=cap)) as gt06,
    ):
        async with teltonika.teltonika() as first, gt06.gt06() as second:
            assert await first.log_in() and await second.log_in()
            async with teltonika.teltonika() as third:
                assert await third.closed_by_server()
            assert teltonika.sink.rejected == {"too_many_connections": 1}
        await eventually(lambda: cap.held == 0, "the connections given back")
        async with gt06.gt06() as again:  # room again once they have gone
            assert await again.log_in()


async def test_a_silent_tracker_is_disconnected_after_the_idle_timeout() -> None:
    async with running(listener_for("teltonika", idle=0.2)) as run:
        async with run.teltonika() as tracker:
            assert await tracker.log_in()
            assert run.devices.listing()[0]["connected"] is True
            assert await tracker.closed_by_server(timeout=3.0)
        # A worker reports it with its next batch (at once, not at the tick).
        await eventually(lambda: run.sink.rejected == {"idle_timeout": 1}, "the count")
        await eventually(lambda: run.devices.listing()[0]["connected"] is False, "gone")


async def test_frames_cut_across_writes_and_joined_in_one_write(teltonika: Running) -> None:
    packet = teltonika_encode([fix_at(IMEI, "teltonika", NOW)])
    async with teltonika.teltonika() as tracker:
        for byte in teltonika_encode_imei(IMEI):
            await tracker.write(bytes([byte]))
            await asyncio.sleep(0.002)
        assert await tracker.read(1) == b"\x01"
        await tracker.write(packet[:5])
        await asyncio.sleep(0.02)
        await tracker.write(packet[5:40])
        await asyncio.sleep(0.02)
        await tracker.write(packet[40:] + packet + b"\xff" + packet)  # the rest, 2 more, a ping
        assert [await tracker.acknowledged() for _ in range(3)] == [1, 1, 1]


async def test_an_over_long_frame_closes_the_connection_and_is_counted(teltonika: Running) -> None:
    async with teltonika.teltonika() as tracker:
        assert await tracker.log_in()
        await tracker.write(b"\x00\x00\x00\x00\x7f\xff\xff\xff")
        assert await tracker.closed_by_server()
    assert teltonika.sink.rejected == {"frame_too_long": 1}


async def test_an_unregistered_tracker_is_refused_and_remembered(teltonika: Running) -> None:
    async with teltonika.teltonika("490154203237518") as stranger:
        assert not await stranger.log_in()
        assert await stranger.closed_by_server()
    assert teltonika.sink.rejected == {"unknown_device": 1}
    (entry,) = teltonika.devices.listing()
    assert (entry["device"], entry["registered"], entry["refused"]) == ("490154203237518", False, 1)


async def test_a_backlog_keeps_the_trackers_own_times(held_by: int) -> None:
    async with running(listener_for("teltonika", batch=5.0 if held_by == 0 else 0.2)) as run:
        backlog = [fix_at(IMEI, "teltonika", NOW - dt.timedelta(minutes=m)) for m in (30, 20, 10)]
        async with run.teltonika() as tracker:
            assert await tracker.log_in()
            assert await tracker.send(backlog) == 3
        if held_by == 0:
            assert run.sink.batches == []  # not due yet: handed over at the latest at stop
        else:
            assert len(run.sink.observations) == 3  # a worker answers once they are in
    assert [o.observed_at for o in run.sink.observations] == [f.at for f in backlog]
    assert {o.received_at for o in run.sink.observations} == {NOW}


async def test_stop_closes_every_connection_quickly() -> None:
    async with running(listener_for("gt06")) as run:
        trackers = [run.gt06(imei) for imei in sorted(REGISTERED)[:5]]
        for tracker in trackers:
            await tracker.open()
            assert await tracker.log_in()
        await eventually(lambda: run.listener.connections == 5, "5 connections")
    assert run.listener.connections == 0
    for tracker in trackers:
        assert await tracker.closed_by_server(timeout=1.0)
        await tracker.close()


async def test_a_port_already_taken_ends_run_with_the_reason() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        listener = listener_for("teltonika", port=port)
        with pytest.raises(ListenerUnavailable, match=f"127.0.0.1:{port}: .*in use"):
            await asyncio.wait_for(listener.run(Sink()), 2.0)


class SlowSink(Sink):
    """A core that has fallen behind: a batch is taken only when ``release`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    async def submit(self, batch: Sequence[Observation]) -> None:
        await self.release.wait()
        await super().submit(batch)


@pytest.mark.parametrize("held_by", [1], ids=["worker"], indirect=True)
async def test_a_core_behind_holds_a_workers_trackers_back_at_their_next_answer(
    held_by: int,
) -> None:
    # In a worker a packet is answered only once the core has its fixes (in-process the
    # answer comes first: the next test).
    sink = SlowSink()
    listener = listener_for("teltonika", batch=0.05)
    async with running(listener, sink) as run, run.teltonika() as tracker:
        assert await tracker.log_in()
        await tracker.write(teltonika_encode([fix_at(IMEI, "teltonika", NOW)]))
        try:
            with pytest.raises(TrackerClosed):  # the core is behind: no answer yet
                await tracker.read(4, timeout=0.3)
            assert sink.observations == []
        finally:
            sink.release.set()
        assert await tracker.acknowledged() == 1
        assert len(sink.observations) == 1  # answered once it was in


@pytest.mark.parametrize("held_by", [0], ids=["in-process"], indirect=True)
async def test_a_full_batch_goes_at_once_and_a_core_behind_holds_the_trackers_back(
    monkeypatch: pytest.MonkeyPatch, held_by: int
) -> None:
    monkeypatch.setattr(tcp_listener, "PENDING_LIMIT", 2)
    sink = SlowSink()
    async with running(listener_for("teltonika", batch=30.0), sink) as run:  # no tick
        packets = [
            teltonika_encode([fix_at(IMEI, "teltonika", NOW - dt.timedelta(seconds=n))])
            for n in range(5)
        ]
        async with run.teltonika() as tracker:
            assert await tracker.log_in()
            for packet in packets[:4]:  # two batches' worth: one handed over, one held
                await tracker.write(packet)
                assert await tracker.acknowledged() == 1
            await tracker.write(packets[4])
            try:
                with pytest.raises(TrackerClosed):  # not read while the core is behind
                    await tracker.read(4, timeout=0.3)
            finally:
                sink.release.set()
            assert await tracker.acknowledged() == 1
            await eventually(lambda: len(sink.observations) == 4, "two full batches, not a tick")
    assert len(sink.observations) == 5


async def test_a_tracker_that_never_reads_its_answers_is_hung_up_and_others_carry_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tcp_listener, "WRITE_TIMEOUT_SECONDS", 0.3)
    packet = teltonika_encode([fix_at(IMEI, "teltonika", NOW)])
    # The idle timeout is far off (and the sweep comes each second): only the write
    # timeout can end it within the test's deadline.
    async with running(listener_for("teltonika", idle=30.0)) as run:
        stuck = socket.socket()
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)  # before connecting
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        stuck.setblocking(False)
        loop = asyncio.get_running_loop()
        await loop.sock_connect(stuck, (run.host, run.port))
        await loop.sock_sendall(stuck, teltonika_encode_imei(IMEI))
        assert await loop.sock_recv(stuck, 1) == b"\x01"
        hung_up = False
        deadline = loop.time() + 10.0
        stream, sent = memoryview(packet * 100_000), 0
        while loop.time() < deadline and sent < len(stream):  # never reading an answer
            try:
                sent += stuck.send(stream[sent : sent + 4096])  # whole packets, in order
            except BlockingIOError:
                await asyncio.sleep(0.05)  # the listener reads no more from it
            except OSError:
                hung_up = True
                break
        stuck.close()
        assert hung_up, "a tracker not taking its answers was never hung up"
        assert run.sink.rejected == {}  # not for bad input: for not reading
        await eventually(lambda: run.listener.connections == 0, "the stuck one gone")
        async with run.teltonika(sorted(REGISTERED)[1]) as other:
            assert await other.log_in()
            assert await other.send([fix_at(sorted(REGISTERED)[1], "teltonika", NOW)]) == 1


class FailingSink(Sink):
    """A core that fails to take the first batch it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 1

    async def submit(self, batch: Sequence[Observation]) -> None:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("the core could not take the batch")
        await super().submit(batch)


@pytest.mark.parametrize("held_by", [1], ids=["worker"], indirect=True)
async def test_a_batch_the_core_fails_to_take_restarts_the_worker_and_is_sent_again(
    held_by: int,
) -> None:
    # (In-process the source itself fails, and its supervisor starts it again.)
    sink = FailingSink()
    packet = teltonika_encode([fix_at(IMEI, "teltonika", NOW)])
    async with running(listener_for("teltonika"), sink) as run:
        async with run.teltonika() as tracker:
            assert await tracker.log_in()
            await tracker.write(packet)
            assert await tracker.closed_by_server()  # never answered: nothing was taken
        pool = run.listener.worker_pool
        assert pool is not None
        await eventually(lambda: pool.restarts == 1 and pool.pids.get(0), "a new worker")
        async with run.teltonika() as tracker:  # the tracker sends it again
            assert await tracker.log_in()
            await tracker.write(packet)
            assert await tracker.acknowledged() == 1
    assert [o.tag for o in sink.observations] == [IMEI]
