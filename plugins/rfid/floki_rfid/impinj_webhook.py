"""Impinj readers posting their events to the appliance (the IoT device interface's
webhook form) instead of being streamed from.

The reader posts batches of the events its data stream carries, a JSON array (or events
one a line), to ``POST /api/v1/rfid/impinj?reader=<name>`` with a device token; ``reader``
names it as ``[[plugin.rfid.impinj]]`` would, so its antennas are the receivers
``<name>:<port>``. Each post's reads are folded per (tag, antenna) as the stream's are
and queued through the shared upload helper: counted against
``rfid-impinj-webhook:<token name>``, 202 with what was queued and what refused, 400 with
the reason for a body with no event in it or a missing or malformed ``reader``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from aiohttp import web

from floki_core.sdk import (
    Clock,
    Decoded,
    Param,
    RouteRegistry,
    UploadRefused,
    accept_upload,
    upload_source,
)
from floki_rfid.aggregation import ReadWindow
from floki_rfid.epc import EpcIdentities
from floki_rfid.impinj_events import ImpinjEventError, decode_upload
from floki_rfid.impinj_source import observation

PATH = "/api/v1/rfid/impinj"
SOURCE_PREFIX = "rfid-impinj-webhook"  # counted as rfid-impinj-webhook:<device token name>
READER_NAME = r"^[a-z0-9][a-z0-9_-]{0,39}$"
_READER_NAME = re.compile(READER_NAME)


def _reader(request: web.Request) -> str:
    name = request.query.get("reader", "")
    if not name:
        raise UploadRefused(
            400, "reader is missing: post to /api/v1/rfid/impinj?reader=<name>", "no_reader"
        )
    if not _READER_NAME.match(name):
        raise UploadRefused(
            400,
            f"reader {name[:60]!r} is not a reader name (lower-case letters, digits, - "
            "and _, at most 40)",
            "bad_reader",
        )
    return name


def _handler(clock: Clock, max_tags: int) -> Callable[[web.Request], Awaitable[web.Response]]:
    identities = EpcIdentities()

    async def posted(request: web.Request) -> web.Response:
        heard_at = clock.now()

        def decode(raw: bytes) -> Decoded:
            reader = _reader(request)
            try:
                reads, refused = decode_upload(raw, identities)
            except ImpinjEventError as exc:
                raise UploadRefused(400, str(exc), exc.reason) from None
            window = ReadWindow(max(max_tags, len(reads) + 1))
            # Any antenna port is taken; a read naming none is counted as no_antenna.
            window.add_all(reads, heard_at, frozenset())
            for reason, count in window.take_refused().items():
                refused[reason] = refused.get(reason, 0) + count
            return Decoded([observation(reader, t) for t in window.take()], refused)

        return await accept_upload(request, upload_source(request, SOURCE_PREFIX), decode)

    return posted


def register_route(
    registry: RouteRegistry, clock: Clock, *, max_tags_per_window: int = 50_000
) -> None:
    """Serve ``POST /api/v1/rfid/impinj``, its reads stamped with ``clock``."""
    registry.add(
        "POST",
        PATH,
        _handler(clock, max_tags_per_window),
        policy="device",
        summary="Tag inventory events an Impinj reader posts (its IoT device interface's "
        "webhook: a JSON array of events, or NDJSON); reads folded per tag and antenna; "
        "202 with refused events counted by reason",
        query=(
            Param(
                "reader",
                description="the reader's name: its antennas are the receivers <name>:<port>",
                required=True,
                pattern=READER_NAME,
            ),
        ),
        status=202,
        body_type="application/json, application/x-ndjson",
    )
