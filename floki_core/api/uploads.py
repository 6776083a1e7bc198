"""Sightings posted over HTTP: one way of taking them, for ``POST /api/v1/ingest`` and for
every plugin's gateway route (a BLE gateway's JSON or Ingics upload, and any vendor's
format a plugin reads).

The caller supplies only the decoding of its format; what every upload shares is here,
so that a gateway sees the same limits and the same answers whichever route it posts to:
the body read within ``[server] max_upload_bytes`` (decoded from its
``Content-Encoding``); the source named after the device token; entries the decoder
refuses counted by reason against that source (``GET /api/v1/sources``, ``/metrics``);
at most ``[ingest] max_batch`` observations (413); a full queue is a 503 with
``Retry-After: 1`` so that the gateway keeps its data and retries; otherwise 202 with what
was queued. Errors have the body every API error has: ``{"error": reason, "status": n}``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import msgspec
from aiohttp import web

from floki_core.api.bodies import ApiError, json_response, read_raw
from floki_core.api.keys import CORE, PRINCIPAL
from floki_core.observations import Observation


class UploadReceipt(msgspec.Struct, kw_only=True):
    """The 202 answer to an upload."""

    queued: int  # observations taken into the queue
    queue_depth: int  # batches waiting in it now
    rejected: dict[str, int] = msgspec.field(default_factory=dict)  # entries refused, by reason


@dataclass
class Decoded:
    """What a decoder made of an upload: the observations, and the entries it refused by
    reason (each a short snake_case word, as ``GET /api/v1/sources`` lists them). Reasons
    in ``expected`` are entries dropped by design (a Wi-Fi feed's phones nobody tracks):
    counted alike, logged at INFO (plugin API 1.3)."""

    observations: Sequence[Observation]
    rejected: Mapping[str, int] = field(default_factory=dict)
    expected: frozenset[str] = frozenset()


class UploadRefused(Exception):
    """The whole upload is unreadable: answered ``status`` (400 or 422) with ``reason``,
    and counted against the source as ``counted_as``."""

    def __init__(self, status: int, reason: str, counted_as: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.counted_as = counted_as


Decoder = Callable[[bytes], Decoded]


def upload_source(request: web.Request, prefix: str) -> str:
    """The source an upload is counted against: ``prefix:<device token name>``."""
    who = request.get(PRINCIPAL)
    return f"{prefix}:{who.token_name or who.username}" if who is not None else prefix


async def accept_upload(request: web.Request, source: str, decode: Decoder) -> web.Response:
    """Read, decode, count and queue one upload; the answer to give the gateway."""
    core = request.app[CORE]
    admission = core.locations.admission
    raw = await read_raw(request, core.config.server.max_upload_bytes)
    try:
        decoded = decode(raw)
    except UploadRefused as exc:
        admission.reject(source, exc.counted_as)
        raise ApiError(exc.status, exc.reason) from None
    rejected = {reason: n for reason, n in decoded.rejected.items() if n}
    for reason, count in rejected.items():
        admission.reject(source, reason, count, expected=reason in decoded.expected)
    batch = decoded.observations
    limit = core.config.ingest.max_batch
    if len(batch) > limit:
        admission.reject(source, "batch_too_large", len(batch))
        raise ApiError(413, f"{len(batch)} observations; at most {limit} per batch")
    if batch and not core.ingest.try_put(source, batch):
        # Backpressure made visible: the gateway keeps its data and retries.
        admission.reject(source, "queue_full", len(batch))
        raise ApiError(503, "the appliance is busy; retry this batch", {"Retry-After": "1"})
    receipt = UploadReceipt(queued=len(batch), queue_depth=core.ingest.depth, rejected=rejected)
    return json_response(receipt, 202)
