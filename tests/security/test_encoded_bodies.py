"""A request body that is not what its ``Content-Encoding`` says: on every route that
takes a body, a 4xx naming the encoding (a page on the phone pages), never a 500, a
dropped connection or a traceback in the appliance's log.

Generated from the appliance's route table, so a new route that takes a body is covered
without editing this file. Each route is called by a caller it lets in (an admin's
token, an admin's page session, a device token, or nobody for the two sign-in routes)
so that the body is really read; ids name the records the suite's register holds.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import re
import zlib
from collections.abc import Iterator

import pytest

from floki_core.api.routing import ApiRoute
from tests.security.conftest import appliance
from tests.security.live import Caller, LiveAppliance

GARBAGE = b"this is not compressed data, whatever the header says"
# Refused by POST /api/v1/sites even when read whole, so a case that fails creates nothing.
SAMPLE = b'{"name": "Compressed", "no_such_field": 1}'
# What a client sends under each (encoding, damage): the damage is in the name.
BODIES = {
    ("gzip", "garbage"): GARBAGE,
    ("deflate", "garbage"): GARBAGE,
    ("gzip", "truncated"): gzip.compress(SAMPLE)[:-6],
    ("deflate", "truncated"): zlib.compress(SAMPLE)[:-3],
}


def operation(route: ApiRoute) -> str:
    return f"{route.method} {route.path}"


def _body_routes() -> dict[str, ApiRoute]:
    return {
        operation(r): r for r in appliance().routes if r.body is not None or r.body_type is not None
    }


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if {"op", "encoding", "damage"} <= set(metafunc.fixturenames):
        metafunc.parametrize(
            ("op", "encoding", "damage"),
            [
                pytest.param(op, encoding, damage, id=f"{op} {damage} {encoding}")
                for op in _body_routes()
                for encoding, damage in BODIES
                if damage == "garbage" or op == "POST /api/v1/sites"
            ],
        )


class _Logged(logging.Handler):
    """Every error, and every record carrying a traceback, while a request is served."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.exc_info:
            self.records.append(f"{record.name}: {record.getMessage()}")


@pytest.fixture
def logged() -> Iterator[_Logged]:
    handler = _Logged()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


def _refused_unread() -> list[str]:
    return [op for op, r in _body_routes().items() if r.policy != "public" or r.session_role]


@pytest.mark.parametrize("refused_op", _refused_unread())
def test_a_body_refused_unread_leaves_no_traceback(
    live: LiveAppliance, logged: _Logged, refused_op: str
) -> None:
    """A caller without credentials is refused before the body is read; the server then
    reads the rest of the body to reuse the connection, and must not fail doing so."""
    route = _body_routes()[refused_op]
    resp = live.http.request(
        route.method,
        live.url + re.sub(r"\{\w+\}", "1", route.path),
        data=GARBAGE,
        headers={"Content-Type": _content_type(route), "Content-Encoding": "gzip"},
        allow_redirects=False,
        timeout=30,
    )
    live.run(asyncio.sleep(0.05))
    assert resp.status_code == 401, (resp.status_code, resp.text[:300])
    assert logged.records == []


def _caller(live: LiveAppliance, route: ApiRoute) -> Caller:
    if route.policy == "device":
        return live.caller("device")
    if route.policy == "public" and route.session_role is None:
        return live.caller("anonymous")
    return live.caller("admin")  # admins pass every other policy, token and page alike


def _content_type(route: ApiRoute) -> str:
    if route.body_type is not None:
        return route.body_type.split(",")[0].strip()
    return "application/json"


def test_a_body_that_is_not_what_its_encoding_says_is_refused_with_the_reason(
    live: LiveAppliance, logged: _Logged, op: str, encoding: str, damage: str
) -> None:
    route = _body_routes()[op]
    caller = _caller(live, route)
    page = not route.path.startswith("/api/")
    headers = {"Content-Type": _content_type(route), "Content-Encoding": encoding}
    resp = live.http.request(
        route.method,
        live.url + re.sub(r"\{\w+\}", "1", route.path),  # the register's first records
        data=BODIES[(encoding, damage)],
        headers={**headers, **({} if page else caller.headers)},
        cookies=caller.cookies if page else {},
        allow_redirects=False,
        timeout=30 if damage == "garbage" else 2,  # today a cut deflate stream is waited on
    )
    live.run(asyncio.sleep(0.05))  # the server finishes with the connection
    assert 400 <= resp.status_code < 500, (resp.status_code, resp.text[:300])
    if page:
        assert resp.headers["Content-Type"].startswith("text/html")
        reason = resp.text
    else:
        reason = resp.json()["error"]
    assert f"not valid {encoding} data" in reason, reason[:300]
    assert logged.records == []
    # The appliance answers the next request as usual.
    health = live.http.get(live.url + "/api/v1/health", timeout=30)
    assert health.status_code == 200
