"""Compressed request bodies (``Content-Encoding``), read by ``bodies.read_raw``.

A body that is what its encoding says is read decoded; one that is not is a 400 naming
the encoding; a stream cut short or followed by stray bytes is a 400 saying so; a body
that decompresses past the limit is a 413; an encoding not read here is a 415. Never a
500, a dropped connection or a traceback in the log.

Two ways of serving are covered: the body layer decoding bodies itself (the server's
own decoding turned off, ``auto_decompress=False``), and aiohttp decoding them as they
arrive (its default), where the body layer maps aiohttp's decoding errors.
"""

from __future__ import annotations

import gzip
import logging
import zlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from floki_core.api.bodies import ApiError, error_response, read_raw

LIMIT = 1000
TEXT = b"asset_number,description\nE10001,Infusion pump\n"


async def _echo(request: web.Request) -> web.StreamResponse:
    try:
        body = await read_raw(request, LIMIT)
    except ApiError as exc:
        return error_response(exc.status, exc.reason, exc.headers)
    return web.Response(body=body)


async def _serving(*, server_decodes: bool) -> AsyncIterator[TestClient[Any, Any]]:
    app = web.Application(handler_args={"auto_decompress": server_decodes})
    app.router.add_post("/", _echo)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


@pytest_asyncio.fixture(params=["body layer", "server"])
async def client(request: pytest.FixtureRequest) -> AsyncIterator[TestClient[Any, Any]]:
    """Either way of serving."""
    async for test_client in _serving(server_decodes=request.param == "server"):
        yield test_client


@pytest_asyncio.fixture
async def body_layer() -> AsyncIterator[TestClient[Any, Any]]:
    """Serving with the body layer decoding what the server leaves as it arrived."""
    async for test_client in _serving(server_decodes=False):
        yield test_client


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def _post(client: TestClient[Any, Any], body: bytes, encoding: str) -> tuple[int, Any]:
    resp = await client.post("/", data=body, headers={"Content-Encoding": encoding})
    if resp.content_type == "application/json":
        return resp.status, (await resp.json())["error"]
    return resp.status, await resp.read()


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("gzip", gzip.compress(TEXT, mtime=0)),
        ("GZIP", gzip.compress(TEXT, mtime=0)),
        ("x-gzip", gzip.compress(TEXT, mtime=0)),
        ("deflate", zlib.compress(TEXT)),
        ("identity", TEXT),
    ],
    ids=["gzip", "GZIP", "x-gzip", "deflate", "identity"],
)
async def test_a_compressed_body_is_read_decoded(
    client: TestClient[Any, Any], encoding: str, body: bytes
) -> None:
    assert await _post(client, body, encoding) == (200, TEXT)


async def test_the_body_layer_reads_bare_deflate_and_several_gzip_members(
    body_layer: TestClient[Any, Any],
) -> None:
    client = body_layer
    bare = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    raw_deflate = bare.compress(TEXT) + bare.flush()
    assert await _post(client, raw_deflate, "deflate") == (200, TEXT)
    two_members = gzip.compress(TEXT[:10], mtime=0) + gzip.compress(TEXT[10:], mtime=0)
    assert await _post(client, two_members, "gzip") == (200, TEXT)
    assert await _post(client, b"", "gzip") == (200, b"")


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_a_body_that_is_not_what_its_encoding_says_is_a_400_naming_it(
    client: TestClient[Any, Any], caplog: pytest.LogCaptureFixture, encoding: str
) -> None:
    status, reason = await _post(client, b"this is not compressed", encoding)
    assert status == 400
    assert reason.startswith(f"the body is not valid {encoding} data")
    # The connection was closed or kept cleanly: the next request is answered as usual.
    assert await _post(client, gzip.compress(TEXT, mtime=0), "gzip") == (200, TEXT)
    assert errors_logged(caplog) == []


@pytest.mark.parametrize(
    ("encoding", "body", "says"),
    [
        ("gzip", gzip.compress(TEXT, mtime=0)[:-6], "ends before its compressed data does"),
        ("gzip", gzip.compress(TEXT, mtime=0)[:20], "ends before its compressed data does"),
        ("deflate", zlib.compress(TEXT)[:-3], "ends before its compressed data does"),
        ("deflate", zlib.compress(TEXT) + b"more", "bytes follow its compressed data"),
        ("gzip", gzip.compress(TEXT, mtime=0) + b"more", "not valid gzip data"),
    ],
    ids=["gzip cut", "gzip header only", "deflate cut", "deflate then more", "gzip then more"],
)
async def test_a_stream_cut_short_or_followed_by_stray_bytes_is_a_400(
    body_layer: TestClient[Any, Any],
    caplog: pytest.LogCaptureFixture,
    encoding: str,
    body: bytes,
    says: str,
) -> None:
    """Only when the body layer decodes: aiohttp's own decoding reads a cut gzip stream
    as a shorter body (tests/security/test_encoded_bodies.py keeps that in view)."""
    status, reason = await _post(body_layer, body, encoding)
    assert status == 400
    assert reason.startswith(f"the body is not valid {encoding} data")
    assert says in reason
    assert errors_logged(caplog) == []


async def test_a_body_that_decompresses_past_the_limit_is_a_413(
    client: TestClient[Any, Any],
) -> None:
    bomb = gzip.compress(bytes(LIMIT * 100), mtime=0)
    assert len(bomb) < LIMIT
    status, reason = await _post(client, bomb, "gzip")
    assert status == 413
    assert f"limit of {LIMIT} bytes" in reason


@pytest.mark.parametrize(
    ("encoding", "says"),
    [
        ("compress", "Content-Encoding compress is not accepted; send the body as gzip"),
        ("gzip, gzip", "encoded 2 times (gzip, gzip); send one encoding"),
    ],
)
async def test_an_encoding_not_read_here_is_a_415_naming_it(
    body_layer: TestClient[Any, Any], encoding: str, says: str
) -> None:
    """(aiohttp, decoding itself, refuses unknown encodings before the body layer.)"""
    status, reason = await _post(body_layer, gzip.compress(TEXT, mtime=0), encoding)
    assert status == 415
    assert says in reason


async def test_a_plain_body_is_read_as_sent(client: TestClient[Any, Any]) -> None:
    resp = await client.post("/", data=TEXT)
    assert (resp.status, await resp.read()) == (200, TEXT)
    big = await client.post("/", data=bytes(LIMIT + 1))
    assert big.status == 413


async def test_a_client_may_send_a_compressed_body_through_aiohttp(
    client: TestClient[Any, Any],
) -> None:
    """aiohttp's own client compresses a request body when asked (compress=...)."""
    resp = await client.post("/", data=TEXT, compress="deflate")
    assert (resp.status, await resp.read()) == (200, TEXT)
