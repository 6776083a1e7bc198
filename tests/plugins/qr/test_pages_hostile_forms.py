"""Phone pages: bodies that are not the pages' own forms get a 4xx page with the reason,
never a 500 and never a traceback in the log, signed in or not."""

from __future__ import annotations

import logging

import aiohttp
import pytest

from floki_core.testing import TEST_PASSWORD, Floki
from tests.plugins.qr.pages_fixtures import (  # noqa: F401  (fixtures are found by name)
    ENGINEER,
    Department,
    csrf_in,
    department_fixture,
    ensure_user,
    sign_in,
)

FORM = "application/x-www-form-urlencoded"
# (what, Content-Type, body, status, words the page says)
REFUSED = [
    ("multipart without boundary", "multipart/form-data", b"--xx\r\n", 415, FORM),
    (
        "truncated multipart",
        "multipart/form-data; boundary=xx",
        b'--xx\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n',
        415,
        FORM,
    ),
    ("garbage multipart", "multipart/form-data; boundary=xx", b"garbage", 415, FORM),
    ("json", "application/json", b'{"username": "x"}', 415, FORM),
    ("text", "text/plain", b"username=x", 415, FORM),
    ("unknown charset", f"{FORM}; charset=bogus", b"a=b", 415, "UTF-8"),
    ("bad percent-encoding", FORM, b"csrf=%ff%fe&state=dirty", 400, "UTF-8"),
    ("bad raw bytes", FORM, b"csrf=\xff\xfe", 400, "UTF-8"),
]


def well_formed_multipart(fields: dict[str, str]) -> aiohttp.FormData:
    data = aiohttp.FormData()
    for name, value in fields.items():
        data.add_field(name, value)
    data.add_field("file", b"not a form field", filename="a.txt", content_type="text/plain")
    return data


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def test_login_refuses_a_body_that_is_not_its_form(
    floki: Floki, caplog: pytest.LogCaptureFixture
) -> None:
    for what, ctype, body, status, says in REFUSED:
        resp = await floki.client.post("/phone/login", data=body, headers={"Content-Type": ctype})
        assert resp.status == status, what
        assert resp.content_type == "text/html", what
        assert says in await resp.text(), what
    assert no_tracebacks(caplog) == []


async def test_login_refuses_a_well_formed_multipart_form(
    floki: Floki, caplog: pytest.LogCaptureFixture
) -> None:
    await ensure_user(floki, ENGINEER)
    login = await floki.client.get("/phone/login")
    fields = {"csrf": csrf_in(await login.text()), "username": ENGINEER, "password": TEST_PASSWORD}
    resp = await floki.client.post(
        "/phone/login", data=well_formed_multipart(fields), allow_redirects=False
    )
    assert resp.status == 415
    assert FORM in await resp.text()
    assert no_tracebacks(caplog) == []


async def test_signed_in_forms_refuse_a_body_that_is_not_their_form(
    floki: Floki, department: Department, caplog: pytest.LogCaptureFixture
) -> None:
    csrf = await sign_in(floki, ENGINEER)
    fields = {"csrf": csrf, "state": "dirty", "mode": "check_in", "code": "E10001"}
    for target in (f"/phone/assets/{department.pump}/state", "/workshop/scan", "/phone/logout"):
        for what, ctype, body, status, says in REFUSED:
            resp = await floki.client.post(target, data=body, headers={"Content-Type": ctype})
            assert resp.status == status, (target, what)
            assert says in await resp.text(), (target, what)
        resp = await floki.client.post(target, data=well_formed_multipart(fields))
        assert resp.status == 415, target
        assert FORM in await resp.text()
    assert no_tracebacks(caplog) == []
    # Nothing changed, and the phone is still signed in.
    asset = await floki.client.get(
        f"/api/v1/assets/{department.pump}", headers=await floki.headers()
    )
    assert (await asset.json())["state"] == "available"
    assert (await floki.client.get("/phone", allow_redirects=False)).status == 200
