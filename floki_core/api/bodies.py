"""Reading request bodies and query strings strictly; writing JSON responses."""

from __future__ import annotations

import zlib
from typing import Any, Generic, TypeVar

import msgspec
from aiohttp import web

from floki_core.api.keys import CORE, PRINCIPAL
from floki_core.domain import Principal

T = TypeVar("T")
_encoder = msgspec.json.Encoder()


class ApiError(Exception):
    """An HTTP error with a reason the client can act on."""

    def __init__(self, status: int, reason: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers = headers or {}


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=_encoder.encode(data), status=status, content_type="application/json")


def error_response(status: int, reason: str, headers: dict[str, str] | None = None) -> web.Response:
    response = json_response({"error": reason, "status": status}, status)
    response.headers.update(headers or {})
    return response


async def read_raw(request: web.Request, limit: int) -> bytes:
    """The request body, decoded if it came compressed (``Content-Encoding``).

    At most ``limit`` bytes, compressed and decoded alike (413 beyond); a body that is
    not what its encoding says is a 400 naming the encoding, an encoding that is not
    read here a 415.
    """
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, f"request body is {request.content_length} bytes; the limit is {limit}")
    if getattr(request.content, "total_compressed_bytes", None) is not None:
        # The server decodes this body as it arrives: its errors surface while reading.
        return await _read_decoded_by_server(request, limit)
    encoding = content_encoding(request)
    raw = await _read_to_end(request, limit)
    if encoding is None or not raw:
        return raw
    return decode_body(raw, encoding, limit)


async def _read_to_end(request: web.Request, limit: int) -> bytes:
    # read(n) returns what has arrived so far, not n bytes: keep reading to the end.
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.read(limit + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"request body is over the limit of {limit} bytes")
    return b"".join(chunks)


CLOSE = {"Connection": "close"}  # tells the client not to send more on this connection


async def _read_decoded_by_server(request: web.Request, limit: int) -> bytes:
    try:
        return await _read_to_end(request, limit)
    except web.RequestPayloadError:
        # The connection's parser has given up on this body and reads nothing more from
        # the connection: answer, then close it, rather than drain the body after the
        # answer (which raises again, outside any handler, and drops the connection).
        request.content.feed_eof()
        request.protocol.close()
        encoding = request.headers.get("Content-Encoding", "").strip().lower()
        raise ApiError(400, not_valid(encoding or "compressed"), CLOSE) from None


# How zlib reads each encoding a client may compress a request body with.
_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


def content_encoding(request: web.Request) -> str | None:
    """The body's one ``Content-Encoding`` (lower case), None for none or identity."""
    named = [
        part.strip().lower()
        for value in request.headers.getall("Content-Encoding", [])
        for part in value.split(",")
    ]
    named = [n for n in named if n not in ("", "identity")]
    if not named:
        return None
    if len(named) > 1:
        raise ApiError(
            415, f"the body is encoded {len(named)} times ({', '.join(named)}); send one encoding"
        )
    if named[0] not in _WBITS:
        raise ApiError(
            415,
            f"Content-Encoding {named[0]} is not accepted; send the body as gzip or deflate, "
            "or uncompressed",
        )
    return named[0]


def not_valid(encoding: str, why: str = "") -> str:
    return (
        f"the body is not valid {encoding} data{why}, though its Content-Encoding says "
        f"{encoding}; send it compressed as the header says, or without the header"
    )


def decode_body(raw: bytes, encoding: str, limit: int) -> bytes:
    """Decompress ``raw`` (one or more gzip members, or one deflate stream), at most
    ``limit`` bytes of it (413 beyond, without decompressing the rest)."""
    out: list[bytes] = []
    size = 0
    rest = raw
    while rest:
        wbits = _WBITS[encoding]
        if encoding == "deflate" and rest[0] & 0x0F != 8:
            wbits = -zlib.MAX_WBITS  # a bare deflate stream, as some clients send
        decoder = zlib.decompressobj(wbits)
        try:
            chunk = decoder.decompress(rest, limit + 1 - size)
        except zlib.error:
            raise ApiError(400, not_valid(encoding)) from None
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"request body decompresses to over the limit of {limit} bytes")
        out.append(chunk)
        if not decoder.eof:
            raise ApiError(400, not_valid(encoding, ": it ends before its compressed data does"))
        rest = decoder.unused_data
        if rest and encoding == "deflate":
            raise ApiError(400, not_valid(encoding, ": bytes follow its compressed data"))
    return b"".join(out)


async def read_json(request: web.Request, schema: type[T]) -> T:
    """Decode and validate a JSON body against ``schema`` (unknown fields refused)."""
    if request.content_type != "application/json":
        raise ApiError(415, f"expected Content-Type application/json, got {request.content_type}")
    limit = request.app[CORE].config.server.max_body_bytes
    raw = await read_raw(request, limit)
    if not raw.strip():
        raise ApiError(400, "request body is empty; expected a JSON object")
    try:
        return msgspec.json.decode(raw, type=schema)
    except msgspec.ValidationError as exc:
        raise ApiError(422, f"invalid body: {exc}") from None
    except msgspec.DecodeError as exc:
        raise ApiError(400, f"malformed JSON: {exc}") from None


def int_param(request: web.Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"query parameter {name} must be an integer, got {raw!r}") from None
    if not lo <= value <= hi:
        raise ApiError(400, f"query parameter {name} must be between {lo} and {hi}")
    return value


MAX_ID = 2**63 - 1


def id_param(request: web.Request, name: str) -> int | None:
    """An optional id in the query string (``?class_id=3``); absent or empty: None."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    return int_param(request, name, 0, 1, MAX_ID)


class Page(msgspec.Struct, Generic[T], kw_only=True):
    """One page of a listing."""

    items: list[T]
    total: int
    limit: int
    offset: int


def page_response(items: list[Any], total: int, limit: int, offset: int) -> web.Response:
    return json_response(Page(items=items, total=total, limit=limit, offset=offset))


def path_id(request: web.Request, name: str = "id") -> int:
    raw = request.match_info[name]
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(404, f"{raw!r} is not a valid id") from None
    if not 1 <= value <= MAX_ID:
        raise ApiError(404, f"{raw!r} is not a valid id")
    return value


def page(request: web.Request) -> tuple[int, int]:
    return int_param(request, "limit", 50, 1, 500), int_param(request, "offset", 0, 0, 10**9)


def principal(request: web.Request) -> Principal:
    found: Principal | None = request.get(PRINCIPAL)
    if found is None:  # public routes never call this
        raise ApiError(401, "authentication required")
    return found
