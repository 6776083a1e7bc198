"""One Impinj reader's IoT device interface data stream, read as a Floki source.

``GET <url>/api/v1/data/stream`` with HTTP basic auth answers one JSON event a line for as
long as the connection lasts (``impinj_events`` decodes them). Reads are checked (an
antenna the reader named and the settings list) and folded into the reader's window per
(tag, antenna) (``aggregation``), handed to the core every ``batch_seconds`` (or at once
when the window fills) as the LLRP source hands its reads over: technology ``rfid``, the
tag its EPC in upper-case hex, the receiver ``<reader>:<antenna>``, the strongest RSSI,
the seen count and the reader's first/last seen in ``extras``, ``observed_at`` the
appliance's clock when the latest read arrived.

A stream that ends, is cut, stays silent for ``idle_seconds``, or is refused (a wrong
password) ends ``run`` with ``ReaderGone`` naming why, after every complete line already
received has been handed over; the supervisor shows the reason and connects again after
its backoff. A line cut by the connection's end was never whole, and is not a read.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
from typing import Any

import aiohttp

from floki_core.sdk import Clock, ObservationSink
from floki_rfid.aggregation import ReadWindow, hand_over, tally_observation
from floki_rfid.config import ImpinjReaderSettings
from floki_rfid.epc import EpcIdentities
from floki_rfid.impinj_events import ImpinjEventError, decode_event
from floki_rfid.llrp_reads import ReaderGone
from floki_rfid.reader_health import reader_details
from floki_rfid.reader_run import run_reading

STREAM_PATH = "/api/v1/data/stream"
MAX_LINE_BYTES = 1 << 20  # an event is a few hundred bytes; this is a broken stream


def source_name(reader: ImpinjReaderSettings) -> str:
    return f"rfid-impinj-{reader.name}"


observation = tally_observation  # the one shape every reader's observations take


def fold(
    line: bytes,
    window: ReadWindow,
    allowed: frozenset[int],
    identities: EpcIdentities,
    heard_at: dt.datetime,
) -> bool:
    """Fold one event line into ``window`` (or count why not); True when it is full."""
    try:
        read = decode_event(line, identities)
    except ImpinjEventError as exc:
        window.refuse(exc.reason)
        return False
    if read is None:
        return False
    return window.add_all((read,), heard_at, allowed)


class ImpinjStreamSource:
    """One reader's data stream, its reads aggregated and handed over in batches."""

    def __init__(
        self,
        settings: ImpinjReaderSettings,
        clock: Clock,
        *,
        batch_seconds: float = 0.25,
        max_tags_per_window: int = 50_000,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.batch_seconds = batch_seconds
        self.url = settings.url.rstrip("/") + STREAM_PATH
        self.connected = False
        self._allowed = frozenset(settings.antennas)
        self._identities = EpcIdentities()
        self._window = ReadWindow(max_tags_per_window)
        self._stopping = asyncio.Event()

    def details(self) -> dict[str, Any]:
        """The reader's health, as GET /api/v1/plugins lists it."""
        return reader_details(
            self._window.traffic,
            kind="impinj",
            connected=self.connected,
            address=self.settings.url,
            antennas=list(self.settings.antennas),
            now=self.clock.now(),
        )

    # --- the source protocol ------------------------------------------------------------

    async def run(self, sink: ObservationSink) -> None:
        self._stopping.clear()
        await run_reading(
            self._read(sink), self._tick(sink), self._stopping, lambda: self._hand_over(sink)
        )

    async def stop(self) -> None:
        self._stopping.set()

    # --- reading ---------------------------------------------------------------------------

    def _tls(self) -> ssl.SSLContext | bool:
        if not self.settings.verify_tls:
            return False
        if not self.settings.ca_file:
            return True
        try:
            return ssl.create_default_context(cafile=self.settings.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise ReaderGone(
                f"reader {self.settings.name}: ca_file {self.settings.ca_file} cannot be "
                f"used: {exc}"
            ) from None

    async def _read(self, sink: ObservationSink) -> None:
        name, url = self.settings.name, self.url
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=self.settings.connect_timeout_seconds,
            sock_read=self.settings.idle_seconds,
        )
        auth = aiohttp.encode_basic_auth(self.settings.username, self.settings.password)
        headers = {"Accept": "application/x-ndjson", "Authorization": auth}
        tls = self._tls()
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout, read_bufsize=MAX_LINE_BYTES) as session,
                session.get(url, headers=headers, ssl=tls) as resp,
            ):
                if resp.status == 401:
                    raise ReaderGone(
                        f"reader {name} at {url} refused user {self.settings.username}: "
                        "401 Unauthorized (check username and password)"
                    )
                if resp.status != 200:
                    raise ReaderGone(f"reader {name} at {url} answered {resp.status} {resp.reason}")
                self.connected = True
                await self._lines(resp, sink)
        except aiohttp.SocketTimeoutError as exc:
            raise ReaderGone(
                f"reader {name} at {url} sent nothing (no event, no keepalive) for "
                f"idle_seconds = {self.settings.idle_seconds:g} s"
            ) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ReaderGone(f"reader {name} at {url}: {type(exc).__name__}: {exc}") from exc
        except ValueError as exc:  # a line longer than MAX_LINE_BYTES
            raise ReaderGone(f"reader {name} at {url} sent a broken stream: {exc}") from exc
        finally:
            self.connected = False
        raise ReaderGone(f"reader {name} at {url} ended the data stream")

    async def _lines(self, resp: aiohttp.ClientResponse, sink: ObservationSink) -> None:
        window, allowed, identities, now = (
            self._window,
            self._allowed,
            self._identities,
            self.clock.now,
        )
        content = resp.content
        while True:
            line = await content.readline()
            if not line.endswith(b"\n"):
                return  # the end of the stream, or a line it cut: never a whole event
            if fold(line, window, allowed, identities, now()):
                await self._hand_over(sink)

    async def _tick(self, sink: ObservationSink) -> None:
        while True:
            await asyncio.sleep(self.batch_seconds)
            await self._hand_over(sink)

    async def _hand_over(self, sink: ObservationSink) -> None:
        await hand_over(self._window, sink, self.settings.name)
