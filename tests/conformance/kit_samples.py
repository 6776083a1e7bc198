"""A small source plugin for the conformance kit's own tests, with faults to switch on:
each fault is something the kit must catch.

The plugin reads lines ``<tag MAC>,<receiver>,<RSSI>`` from an in-memory port that the
test writes to (``MemoryPort``), and is installed under the entry point ``kit-sample``
by the ``sample_installed`` fixture.
"""

from __future__ import annotations

import asyncio
import collections
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import pytest
from aiohttp import web

from floki_core.sdk import Observation, ObservationSink, PluginContext, hookimpl
from floki_core.testing import Floki

NAME = "kit-sample"
README = """# floki-kit-sample

```toml
[plugin.kit-sample]
port = "memory"    # which port to read
```
"""


@dataclass
class Faults:
    one_per_batch: bool = False  # submits each sighting on its own
    blocks_the_loop: bool = False  # a blocking read on the event loop
    leaves_a_thread: bool = False  # a reader thread nobody stops
    uncounted_refusals: bool = False  # drops bad lines without a word
    raises_on_bad_input: bool = False  # a bad line ends run()
    slow_stop: bool = False  # stop() waits two and a half seconds
    undocumented_setting: bool = False  # a setting no page mentions
    decoder_raises: bool = False  # int() on the RSSI field
    route_raises: bool = False  # its status route fails with a server error
    swallows_failures: bool = False  # its notifier says delivered when the peer failed


class Settings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    port: str = "memory"


class SettingsWithAKnob(Settings, kw_only=True):
    poll_knob: int = 3


def decode(line: bytes, faults: Faults | None = None) -> tuple[str, str, float] | str:
    """A line to (tag, receiver, RSSI), or the reason it is refused."""
    fields = line.decode("ascii", "replace").split(",")
    if len(fields) != 3:
        return "bad_field_count"
    if faults is not None and faults.decoder_raises:
        return fields[0], fields[1], int(fields[2])
    try:
        rssi = float(fields[2])
    except ValueError:
        return "bad_rssi"
    return fields[0], fields[1], rssi


def raising_decode(line: bytes) -> Any:
    return decode(line, Faults(decoder_raises=True))


class MemoryPort:
    """The device: bursts of lines the source reads, and whether it is plugged in."""

    def __init__(self) -> None:
        self.bursts: asyncio.Queue[list[bytes]] = asyncio.Queue()
        self.present = True

    async def open(self) -> None:
        self.present = True

    def settings(self) -> Mapping[str, Any]:
        return {"port": "memory"}

    async def send_good(self, floki: Floki) -> None:
        self.bursts.put_nowait([b"C3:A1:B2:C3:D4:E5,bay-1,-60", b"C3:A1:B2:C3:D4:E6,bay-1,-62"])

    async def send_bad(self, floki: Floki) -> None:
        self.bursts.put_nowait([b"C3:A1:B2:C3:D4:E7,bay-1,loud", b"nonsense"])

    async def lose(self) -> None:
        self.present = False
        self.bursts.put_nowait([])  # wakes the reader to find the port gone

    async def restore(self) -> None:
        self.present = True

    async def close(self) -> None:
        pass


class SampleSource:
    def __init__(self, port: MemoryPort, context: PluginContext, faults: Faults) -> None:
        self.port = port
        self.context = context
        self.faults = faults
        self._stopped = asyncio.Event()

    async def run(self, sink: ObservationSink) -> None:
        self._stopped.clear()
        if self.faults.leaves_a_thread:
            threading.Thread(
                target=time.sleep, args=(30,), name="sample-reader", daemon=True
            ).start()
        while not self._stopped.is_set():
            if not self.port.present:
                raise ConnectionError("memory port unplugged")
            getting = asyncio.ensure_future(self.port.bursts.get())
            stopping = asyncio.ensure_future(self._stopped.wait())
            try:
                await asyncio.wait({getting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiting in (getting, stopping):
                    waiting.cancel()
            if not getting.done() or getting.cancelled():
                return
            await self._take(getting.result(), sink)

    async def _take(self, lines: list[bytes], sink: ObservationSink) -> None:
        if self.faults.blocks_the_loop:
            time.sleep(0.3)
        now = self.context.clock.now()
        batch: list[Observation] = []
        refused: collections.Counter[str] = collections.Counter()
        for line in lines:
            made = decode(line)
            if isinstance(made, str):
                if self.faults.raises_on_bad_input:
                    raise ValueError(f"cannot read {line!r}")
                refused[made] += 1
                continue
            tag, receiver, rssi = made
            batch.append(
                Observation(
                    technology="ble",
                    tag=tag,
                    receiver=receiver,
                    rssi=rssi,
                    observed_at=now,
                    received_at=now,
                )
            )
        if not self.faults.uncounted_refusals:
            for reason, count in refused.items():
                sink.reject(reason, count)
        if self.faults.one_per_batch:
            for obs in batch:
                await sink.submit([obs])
        elif batch:
            await sink.submit(batch)

    async def stop(self) -> None:
        if self.faults.slow_stop:
            await asyncio.sleep(2.5)
        self._stopped.set()


class Pager:
    """The notifier's peer: what it was given, and whether it is down."""

    def __init__(self) -> None:
        self.titles: list[str] = []
        self.failing = False

    async def open(self) -> None:
        pass

    def settings(self) -> Mapping[str, Any]:
        return {}

    def received(self) -> list[str]:
        return list(self.titles)

    async def fail(self) -> None:
        self.failing = True

    async def recover(self) -> None:
        self.failing = False

    async def close(self) -> None:
        pass


class SampleNotifier:
    def __init__(self, pager: Pager, faults: Faults) -> None:
        self.pager = pager
        self.faults = faults

    async def send(self, alerts: Any) -> None:
        if self.pager.failing:
            if self.faults.swallows_failures:
                return
            raise ConnectionError("pager gateway down")
        self.pager.titles += [alert.title for alert in alerts]


@dataclass
class SamplePlugin:
    faults: Faults = field(default_factory=Faults)
    port: MemoryPort | None = None
    pager: Pager = field(default_factory=Pager)

    async def status(self, request: web.Request) -> web.Response:
        if self.faults.route_raises:
            raise RuntimeError("status unknown")
        return web.json_response({"port": "memory"})

    @hookimpl
    def floki_register_routes(self, registry: Any, context: PluginContext) -> None:
        registry.add(
            "GET", "/api/v1/kit-sample/status", self.status, policy="engineer", summary="Status"
        )

    @hookimpl
    def floki_register_notifiers(self, registry: Any, context: PluginContext) -> None:
        registry.add("kit-pager", SampleNotifier(self.pager, self.faults))

    @hookimpl
    def floki_register_config(self, registry: Any) -> None:
        registry.section(SettingsWithAKnob if self.faults.undocumented_setting else Settings)

    @hookimpl
    def floki_register_sources(self, registry: Any, context: PluginContext) -> None:
        assert self.port is not None
        registry.add(NAME, SampleSource(self.port, context, self.faults))


SAMPLE = SamplePlugin()


@pytest.fixture
def sample_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SamplePlugin:
    """``SAMPLE`` installed as plugin ``kit-sample``: a dist-info on the path, as an
    editable install leaves it. Set its ``faults`` before the kit starts an appliance."""
    site = tmp_path / "site"
    info = site / "floki_kit_sample-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: floki-kit-sample\nVersion: 0.1.0\n\n{README}"
    )
    (info / "entry_points.txt").write_text(f"[floki]\n{NAME} = {__name__}:SAMPLE\n")
    monkeypatch.syspath_prepend(str(site))
    SAMPLE.faults, SAMPLE.port, SAMPLE.pager = Faults(), MemoryPort(), Pager()
    return SAMPLE
