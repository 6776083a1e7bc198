"""Phone pages: signing in and out, sessions on shared phones, forged forms, headers."""

from __future__ import annotations

import re
import ssl
from http.cookies import SimpleCookie
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from floki_core.api.keys import ROUTES
from floki_core.domain import SYSTEM
from floki_core.storage import accounts
from floki_core.testing import Floki
from floki_qr.pages.responses import CONTENT_SECURITY_POLICY
from floki_qr.pages.sessions import set_session_cookie
from tests.plugins.qr.pages_fixtures import (  # noqa: F401  (fixtures are found by name)
    STAFF,
    VIEWER,
    Department,
    csrf_in,
    department_fixture,
    ensure_user,
    sign_in,
)

CSP = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"


async def test_a_label_opened_signed_out_asks_for_login_then_returns_to_it(
    floki: Floki, department: Department
) -> None:
    await ensure_user(floki, STAFF)
    label = department.label(department.pump)
    resp = await floki.client.get(label, allow_redirects=False)
    assert resp.status == 303
    assert resp.headers["Location"] == f"/phone/login?next=%2Fq%2F{label[3:]}"

    login = await floki.client.get(resp.headers["Location"])
    form = {
        "csrf": csrf_in(await login.text()),
        "username": STAFF,
        "password": "test-password-123",
        "next": label,
    }
    resp = await floki.client.post("/phone/login", data=form, allow_redirects=False)
    assert resp.status == 303
    assert resp.headers["Location"] == label
    page = await floki.client.get(label)
    assert "E10001" in await page.text()


async def test_a_login_never_sends_the_phone_to_another_site(
    floki: Floki, department: Department
) -> None:
    await ensure_user(floki, STAFF)
    for target in ("https://evil.example/q/X", "//evil.example/", "/api/v1/users", "/\\evil"):
        floki.client.session.cookie_jar.clear()
        login = await floki.client.get("/phone/login", params={"next": target})
        form = {
            "csrf": csrf_in(await login.text()),
            "username": STAFF,
            "password": "test-password-123",
            "next": target,
        }
        resp = await floki.client.post("/phone/login", data=form, allow_redirects=False)
        assert resp.headers["Location"] == "/phone", target


async def test_pages_carry_a_strict_content_security_policy(
    floki: Floki, department: Department
) -> None:
    assert CONTENT_SECURITY_POLICY == CSP
    login = await floki.client.get("/phone/login")
    await sign_in(floki, STAFF)
    asset = await floki.client.get(department.label(department.pump))
    css = await floki.client.get("/phone/static/floki-pages.css")
    for resp in (login, asset, css):
        assert resp.headers["Content-Security-Policy"] == CSP
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Referrer-Policy"] == "same-origin"
    for resp in (login, asset):
        assert resp.headers["Cache-Control"] == "no-store"
        html = await resp.text()
        # Nothing inline for the policy to have to allow.
        assert "<script>" not in html and "style=" not in html and "<style" not in html


async def test_the_session_cookie_is_http_only_and_same_site_strict(
    floki: Floki, department: Department
) -> None:
    await ensure_user(floki, STAFF)
    login = await floki.client.get("/phone/login")
    form = {"csrf": csrf_in(await login.text()), "username": STAFF, "password": "test-password-123"}
    resp = await floki.client.post("/phone/login", data=form, allow_redirects=False)
    cookie = SimpleCookie(resp.headers["Set-Cookie"])["floki-page"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == "/"
    assert not cookie["secure"]  # plain HTTP in this test; see the TLS test below
    assert not cookie["max-age"]  # ends with the browser, too


def test_over_tls_the_session_cookie_is_secure_and_host_only() -> None:
    request = make_mocked_request("GET", "/phone", sslcontext=ssl.create_default_context())
    response = web.Response()
    set_session_cookie(request, response, "secret")
    cookie = response.cookies["__Host-floki-page"]
    assert cookie["secure"] is True
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"
    assert not cookie["domain"]


async def test_a_form_without_the_session_token_changes_nothing(
    floki: Floki, department: Department
) -> None:
    token = await sign_in(floki, STAFF)
    action = f"/phone/assets/{department.pump}/state"
    forged = await floki.client.post(action, data={"to": "dirty"})
    wrong = await floki.client.post(action, data={"to": "dirty", "csrf": token[:-2] + "xx"})
    cross_site = await floki.client.post(
        action, data={"to": "dirty", "csrf": token}, headers={"Origin": "https://evil.example"}
    )
    fetched_cross_site = await floki.client.post(
        action, data={"to": "dirty", "csrf": token}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    for resp in (forged, wrong, cross_site, fetched_cross_site):
        assert resp.status == 403
        assert "nothing was changed" in await resp.text()
    asset = await floki.client.get(
        f"/api/v1/assets/{department.pump}", headers=await floki.headers()
    )
    assert (await asset.json())["state"] == "available"

    genuine = await floki.client.post(action, data={"to": "dirty", "csrf": token})
    assert genuine.status == 200
    assert "Marked as awaiting decontamination." in await genuine.text()


async def test_a_login_form_without_its_cookie_token_is_refused(
    floki: Floki, department: Department
) -> None:
    form = {"csrf": "made-up", "username": STAFF, "password": "test-password-123"}
    resp = await floki.client.post("/phone/login", data=form, allow_redirects=False)
    assert resp.status == 403
    assert "sign in again" in await resp.text()
    assert not any("floki-page" in c for c in resp.headers.getall("Set-Cookie", []))


async def test_a_shared_phone_is_signed_out_after_fifteen_idle_minutes(
    floki: Floki, department: Department
) -> None:
    await sign_in(floki, STAFF)
    for _ in range(3):  # in use: each page restarts the idle time
        floki.advance(14 * 60)
        resp = await floki.client.get("/phone", allow_redirects=False)
        assert resp.status == 200
    floki.advance(15 * 60 + 1)
    resp = await floki.client.get("/phone", allow_redirects=False)
    assert resp.status == 303
    assert resp.headers["Location"].startswith("/phone/login")


async def test_a_post_after_the_session_ended_says_so_and_changes_nothing(
    floki: Floki, department: Department
) -> None:
    token = await sign_in(floki, STAFF)
    floki.advance(16 * 60)
    resp = await floki.client.post(
        f"/phone/assets/{department.pump}/state", data={"to": "dirty", "csrf": token}
    )
    assert resp.status == 401
    text = await resp.text()
    assert "Your session ended, so nothing was changed" in text
    assert f"next=%2Fphone%2Fassets%2F{department.pump}" in text


async def test_wrong_passwords_lock_the_account_as_the_api_does(
    floki: Floki, department: Department
) -> None:
    await ensure_user(floki, STAFF)
    for attempt in range(5):
        login = await floki.client.get("/phone/login")
        form = {"csrf": csrf_in(await login.text()), "username": STAFF, "password": "wrong"}
        resp = await floki.client.post("/phone/login", data=form)
        assert resp.status == 401, attempt
        assert "invalid username or password" in await resp.text()
    login = await floki.client.get("/phone/login")
    form = {"csrf": csrf_in(await login.text()), "username": STAFF, "password": "test-password-123"}
    resp = await floki.client.post("/phone/login", data=form)
    assert resp.status == 429
    assert int(resp.headers["Retry-After"]) > 0
    assert "locked" in await resp.text()


async def test_a_disabled_user_is_signed_out_at_once(floki: Floki, department: Department) -> None:
    await sign_in(floki, STAFF)
    users = await floki.client.get("/api/v1/users", headers=await floki.headers())
    user_id = next(u["id"] for u in (await users.json())["items"] if u["username"] == STAFF)
    resp = await floki.client.patch(
        f"/api/v1/users/{user_id}", json={"disabled": True}, headers=await floki.headers()
    )
    assert resp.status == 200
    resp = await floki.client.get("/phone", allow_redirects=False)
    assert resp.status == 303


async def test_signing_out_ends_the_session_and_is_audited(
    floki: Floki, department: Department
) -> None:
    token = await sign_in(floki, VIEWER)
    resp = await floki.client.post("/phone/logout", data={"csrf": token})
    assert resp.status == 200
    assert "You are signed out." in await resp.text()
    resp = await floki.client.get("/phone", allow_redirects=False)
    assert resp.status == 303
    audit = await floki.client.get(
        "/api/v1/audit", params={"action": "logout"}, headers=await floki.headers()
    )
    assert [e["actor"] for e in (await audit.json())["items"]] == [VIEWER]


class TestSessionLimitsFromSettings:
    @pytest.fixture
    def qr_settings(self) -> dict[str, Any]:
        return {"pages": {"session_idle_minutes": 5, "session_max_hours": 1}}

    async def test_idle_and_longest_session_follow_the_settings(
        self, floki: Floki, department: Department
    ) -> None:
        login = await floki.client.get("/phone/login")
        assert "signed out after 5 minutes without use" in await login.text()
        await sign_in(floki, STAFF)
        for _ in range(12):  # busy all the time, up to the hour
            floki.advance(4 * 60 + 59)
            resp = await floki.client.get("/phone", allow_redirects=False)
            assert resp.status == 200
        floki.advance(60)
        resp = await floki.client.get("/phone", allow_redirects=False)
        assert resp.status == 303
        await sign_in(floki, STAFF)
        floki.advance(5 * 60 + 1)
        resp = await floki.client.get("/phone", allow_redirects=False)
        assert resp.status == 303


async def test_every_page_but_login_and_static_files_needs_a_session(
    floki: Floki, department: Department
) -> None:
    open_to_all = {("GET", "/phone/login"), ("POST", "/phone/login")}
    pages = [
        r
        for r in floki.client.app[ROUTES].routes
        if r.plugin == "qr" and r.policy == "public" and not r.path.startswith("/api/")
    ]
    assert len(pages) > 10
    for route in pages:
        if (route.method, route.path) in open_to_all or route.path.startswith("/phone/static/"):
            continue
        path = re.sub(r"\{id\}", str(department.pump), route.path)
        path = re.sub(r"\{\w+\}", department.codes[department.pump], path)
        resp = await floki.client.request(route.method, path, allow_redirects=False)
        name = f"{route.method} {route.path}"
        if route.method == "GET":
            assert resp.status == 303, name
            assert resp.headers["Location"].startswith("/phone/login?next="), name
        else:
            assert resp.status == 401, name
            assert "nothing was changed" in await resp.text(), name


async def _phone_login(floki: Floki, username: str, password: str) -> Any:
    login = await floki.client.get("/phone/login")
    form = {"csrf": csrf_in(await login.text()), "username": username, "password": password}
    return await floki.client.post("/phone/login", data=form, allow_redirects=False)


async def test_an_unknown_username_is_answered_as_a_real_one_up_to_lockout(
    floki: Floki, department: Department
) -> None:
    await ensure_user(floki, STAFF)
    answers: dict[str, list[tuple[int, str]]] = {}
    for username in (STAFF, "no.such.nurse"):
        answers[username] = []
        for _ in range(6):
            resp = await _phone_login(floki, username, "wrong-password")
            notice = re.search(r'role="alert"[^>]*>([^<]*)<', await resp.text())
            assert notice is not None
            answers[username].append((resp.status, notice.group(1).strip()))
    assert [s for s, _ in answers[STAFF]] == [401] * 5 + [429]
    assert answers[STAFF] == answers["no.such.nurse"]


async def test_a_password_reset_signs_the_phone_out(floki: Floki, department: Department) -> None:
    await sign_in(floki, STAFF)
    assert (await floki.client.get("/phone", allow_redirects=False)).status == 200
    users = await floki.client.get("/api/v1/users", headers=await floki.headers())
    user_id = next(u["id"] for u in (await users.json())["items"] if u["username"] == STAFF)
    resp = await floki.client.post(
        f"/api/v1/users/{user_id}/password",
        json={"password": "a-fresh-password-42"},
        headers=await floki.headers(),
    )
    assert resp.status == 200
    resp = await floki.client.get("/phone", allow_redirects=False)
    assert resp.status == 303
    assert resp.headers["Location"].startswith("/phone/login")


async def test_a_password_reset_from_the_command_line_signs_the_phone_out(
    floki: Floki, department: Department
) -> None:
    """``floki-core user reset-password`` writes the database from another process."""
    await sign_in(floki, STAFF)
    await floki.core.write(
        accounts.set_password,
        STAFF,
        "a-fresh-password-42",
        actor=SYSTEM,
        now=floki.clock.now(),
    )
    resp = await floki.client.get("/phone", allow_redirects=False)
    assert resp.status == 303
