"""The Cisco Spaces firehose, read as the supervised source ``wifi-spaces``.

``GET <url>`` with the app's key in ``X-API-Key`` answers a long-lived stream of
newline-delimited JSON, one ``EventRecord`` a line (Cisco's "HTTP Streaming" page,
https://developer.cisco.com/docs/cisco-spaces-firehose/http-streaming/, and its sample
client, CiscoDevNet/DNASpaces-FirehoseAPI-DetectAndLocate). ``fromTimestamp`` (epoch
milliseconds; 0 or none: from now) resumes the stream: after a lost connection it is
asked again from the last record read, less ``resume_overlap_seconds``, and records
read twice are dropped by their ``recordUid``.

A lost stream (refused, closed, silent past ``silent_seconds``) ends ``run`` with an error
saying why: the appliance's supervisor shows the source in backoff with that reason and
starts it again after its backoff. Only devices an asset carries go further than the
decoder; their AP is the observation's receiver and their position goes in its extras.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

import aiohttp

from floki_core.sdk import (
    Observation,
    ObservationSink,
    PluginContext,
    SourceRegistry,
)
from floki_wifi import state
from floki_wifi.config import WifiSettings
from floki_wifi.positions import PositionPlacer, position_extras, shared_placer
from floki_wifi.privacy import DROPPED_BY_DESIGN, TECHNOLOGY, refusal
from floki_wifi.spaces_config import SpacesSettings
from floki_wifi.spaces_decoder import Refused, Skipped, SpacesLocation, decode_line

SOURCE = "wifi-spaces"
REMEMBERED_UIDS = 20_000  # records recognised as read already after a resumption
LINE_LIMIT = 1 << 20  # bytes: a longer line is no event
log = logging.getLogger("floki.plugin.wifi.spaces")


class FirehoseLost(ConnectionError):
    """The stream could not be opened or was lost; the message says why."""


def observation_of(
    found: SpacesLocation, settings: SpacesSettings, now: dt.datetime
) -> Observation:
    """The observation of a bound device (already let through by the device filter)."""
    # The decoder gives a map id only with a position on it: x/y go with their map.
    with_map = found.map_id is not None
    extras = position_extras(
        "spaces",
        settings.floor_plans,
        x=found.x_m if with_map else None,
        y=found.y_m if with_map else None,
        floor_plan=found.map_id,
        uncertainty_m=found.uncertainty_m,
    )
    return Observation(
        technology=TECHNOLOGY,
        tag=found.mac,
        observed_at=found.at or now,
        received_at=now,
        receiver=found.access_point,
        rssi=found.rssi,
        lat=found.lat,
        lon=found.lon,
        accuracy_m=found.uncertainty_m if found.lat is not None else None,
        extras=extras,
    )


class SpacesFirehose:
    """The firehose's event stream, kept open; resumed from the last record."""

    def __init__(
        self, settings: SpacesSettings, context: PluginContext, placer: PositionPlacer
    ) -> None:
        self.settings = settings
        self.context = context
        self.placer = placer
        self.connected = False
        self.last_timestamp_ms: int | None = None  # of the last record handed over
        self._read_up_to: int | None = None  # of the last record read
        self.events = 0
        self.located = 0
        self.connections = 0
        self._uids: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._stopping = asyncio.Event()

    # --- the source protocol ------------------------------------------------------------

    def details(self) -> dict[str, Any]:
        last = self.last_timestamp_ms
        return {
            "connected": self.connected,
            "url": self.settings.url,
            "events": self.events,
            "located": self.located,
            "connections": self.connections,
            "last_record_at": None
            if last is None
            else dt.datetime.fromtimestamp(last / 1000.0, dt.UTC).isoformat(),
        }

    async def run(self, sink: ObservationSink) -> None:
        self._stopping.clear()
        timeout = aiohttp.ClientTimeout(
            total=None, connect=self.settings.connect_timeout_seconds, sock_read=None
        )
        async with aiohttp.ClientSession(timeout=timeout, read_bufsize=LINE_LIMIT) as session:
            reading = asyncio.ensure_future(self._read(session, sink))
            stopping = asyncio.ensure_future(self._stopping.wait())
            try:
                await asyncio.wait({reading, stopping}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (reading, stopping):
                    task.cancel()
                await asyncio.gather(reading, stopping, return_exceptions=True)
                self.connected = False
            if reading.done() and not reading.cancelled() and reading.exception():
                raise reading.exception()  # type: ignore[misc]

    async def stop(self) -> None:
        self._stopping.set()

    # --- reading ---------------------------------------------------------------------------

    def params(self) -> dict[str, str]:
        """``fromTimestamp``: where to resume (nothing on the first connection: from now)."""
        if self.last_timestamp_ms is None:
            return {}
        overlap = int(self.settings.resume_overlap_seconds * 1000)
        return {"fromTimestamp": str(max(1, self.last_timestamp_ms - overlap))}

    async def _read(self, session: aiohttp.ClientSession, sink: ObservationSink) -> None:
        url = self.settings.url
        headers = {"X-API-Key": self.settings.api_key, "Accept": "application/x-ndjson"}
        try:
            async with session.get(url, params=self.params(), headers=headers) as resp:
                if resp.status in (401, 403):
                    raise FirehoseLost(f"the firehose refused the API key: {resp.status}")
                if resp.status != 200:
                    raise FirehoseLost(f"the firehose answered {resp.status} {resp.reason}")
                self.connected = True
                self.connections += 1
                log.info("reading the Cisco Spaces firehose at %s", url)
                await self._lines(resp, sink)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise FirehoseLost(f"the firehose at {url}: {type(exc).__name__}: {exc}") from exc
        finally:
            self.connected = False

    async def _lines(self, resp: aiohttp.ClientResponse, sink: ObservationSink) -> None:
        """Decode lines as they arrive; hand them over every ``batch_seconds``."""
        loop = asyncio.get_running_loop()
        pending: list[SpacesLocation] = []
        refused: dict[str, int] = {}
        due = 0.0
        feet = self.settings.units == "feet"
        while True:
            wait = (
                max(0.0, due - loop.time()) if pending or refused else self.settings.silent_seconds
            )
            try:
                line = await asyncio.wait_for(resp.content.readline(), wait)
            except TimeoutError:
                if pending or refused:
                    await self._hand_over(sink, pending, refused)
                    pending, refused = [], {}
                    continue
                raise FirehoseLost(
                    f"the firehose sent nothing for {self.settings.silent_seconds:g} s"
                ) from None
            except ValueError:  # a line past the reader's limit: the stream is out of step
                refused["bad_record"] = refused.get("bad_record", 0) + 1
                await self._hand_over(sink, pending, refused)
                raise FirehoseLost("the firehose sent a line too long to be an event") from None
            if not line:
                await self._hand_over(sink, pending, refused)
                raise FirehoseLost("the firehose closed the stream")
            if not line.endswith(b"\n"):
                continue  # the stream ended mid-line: the record comes again on resumption
            if not pending and not refused:
                due = loop.time() + self.settings.batch_seconds
            found = decode_line(line, feet=feet)
            self.events += 1
            self._note(found.timestamp_ms)
            if isinstance(found, Refused):
                refused[found.reason] = refused.get(found.reason, 0) + 1
            elif not isinstance(found, Skipped) and self._first_time(found.uid):
                pending.append(found)

    def _first_time(self, uid: str) -> bool:
        if not uid:
            return True
        if uid in self._uids:
            return False
        self._uids[uid] = None
        if len(self._uids) > REMEMBERED_UIDS:
            self._uids.popitem(last=False)
        return True

    def _note(self, timestamp_ms: int | None) -> None:
        if timestamp_ms is not None and (
            self._read_up_to is None or timestamp_ms > self._read_up_to
        ):
            self._read_up_to = timestamp_ms

    async def _hand_over(
        self, sink: ObservationSink, found: Sequence[SpacesLocation], refused: dict[str, int]
    ) -> None:
        """Filter, record and submit what arrived together, as one batch."""
        devices = state.device_filter(self.context)
        book = state.association_book(self.context)
        now = self.context.clock.now()
        batch: list[Observation] = []
        for record in found:
            asset_id = devices.asset_for(record.mac)
            if asset_id is None:
                reason = refusal(record.mac)
                refused[reason] = refused.get(reason, 0) + 1
                continue
            if record.access_point is not None:
                book.associated(record.mac, asset_id, record.access_point, record.at or now, SOURCE)
            batch.append(observation_of(record, self.settings, now))
        for reason, count in refused.items():
            sink.reject(reason, count, expected=reason in DROPPED_BY_DESIGN)
        if batch:
            # The zones the positions are placed in, read now if they changed, so that
            # the locator places this batch without waiting.
            await self.placer.refresh()
            await sink.submit(batch)
            self.located += len(batch)
        # Only what has been handed over is resumed past.
        self.last_timestamp_ms = self._read_up_to


def register_sources(
    registry: SourceRegistry, context: PluginContext, settings: WifiSettings
) -> None:
    """The firehose source, once an API key is set."""
    if not settings.spaces.api_key:
        return
    registry.add(SOURCE, SpacesFirehose(settings.spaces, context, shared_placer(context)))
