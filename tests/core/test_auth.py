"""Logins, lockout, sessions, API and device tokens, and user administration."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest

from floki_core.api.routes.accounts import lockout_policy
from floki_core.config import AppConfig, parse_config
from floki_core.domain import SYSTEM
from floki_core.storage import accounts
from floki_core.testing import TEST_PASSWORD, Floki

LOGIN = "/api/v1/auth/login"
ME = "/api/v1/auth/me"
BAD_LOGIN = {"error": "invalid username or password", "status": 401}


async def _login(floki: Floki, username: str, password: str):  # type: ignore[no-untyped-def]
    return await floki.client.post(LOGIN, json={"username": username, "password": password})


async def _audit(floki: Floki, **query: str) -> list[dict[str, Any]]:
    resp = await floki.client.get(
        "/api/v1/audit", params=query, headers=await floki.headers("admin")
    )
    assert resp.status == 200
    items: list[dict[str, Any]] = (await resp.json())["items"]
    return items


async def _user_id(floki: Floki, username: str) -> int:
    resp = await floki.client.get("/api/v1/users", headers=await floki.headers("admin"))
    return next(u["id"] for u in (await resp.json())["items"] if u["username"] == username)


async def test_login_returns_a_working_session_token(floki: Floki) -> None:
    await floki.token_for("engineer")
    resp = await _login(floki, "test-engineer", TEST_PASSWORD)
    assert resp.status == 200
    body = await resp.json()
    assert body["token"].startswith("flk_")
    expires = dt.datetime.fromisoformat(body["expires_at"])
    assert expires == floki.clock.now() + dt.timedelta(hours=12)  # security.session_hours
    assert body["user"]["username"] == "test-engineer"
    assert "password" not in body["user"] and "password_hash" not in body["user"]

    me = await floki.client.get(ME, headers=floki.auth(body["token"]))
    assert me.status == 200
    who = await me.json()
    assert (who["username"], who["role"], who["token_kind"]) == (
        "test-engineer",
        "engineer",
        "session",
    )
    # The session ends on time.
    floki.clock.advance(12 * 3600 + 1)
    assert (await floki.client.get(ME, headers=floki.auth(body["token"]))).status == 401


async def test_wrong_password_and_unknown_user_get_the_same_answer(floki: Floki) -> None:
    await floki.token_for("viewer")
    wrong = await _login(floki, "test-viewer", "not-the-password")
    unknown = await _login(floki, "nobody-here", TEST_PASSWORD)
    assert wrong.status == unknown.status == 401
    assert await wrong.json() == await unknown.json() == BAD_LOGIN
    assert "token" not in await wrong.json()


async def test_login_body_is_validated(floki: Floki) -> None:
    resp = await floki.client.post(LOGIN, json={"username": "x"})
    assert resp.status == 422
    assert "password" in (await resp.json())["error"]
    resp = await floki.client.post(LOGIN, data="username=x&password=y")
    assert resp.status == 415


async def test_lockout_refuses_even_the_correct_password(floki: Floki) -> None:
    attempts = floki.core.config.security.lockout_attempts
    minutes = floki.core.config.security.lockout_minutes
    assert attempts == 5  # the default the lockout is measured against
    await floki.token_for("staff")
    for _ in range(attempts):
        resp = await _login(floki, "test-staff", "wrong-password-1")
        assert resp.status == 401
        assert await resp.json() == BAD_LOGIN

    resp = await _login(floki, "test-staff", TEST_PASSWORD)
    assert resp.status == 429
    body = await resp.json()
    assert body["status"] == 429 and "locked" in body["error"]
    retry = int(resp.headers["Retry-After"])
    assert minutes * 60 <= retry <= minutes * 60 + 1
    assert "token" not in body

    # Part-way through, still locked, and the wait shrinks.
    floki.clock.advance(minutes * 60 / 2)
    resp = await _login(floki, "test-staff", TEST_PASSWORD)
    assert resp.status == 429
    assert int(resp.headers["Retry-After"]) <= minutes * 60 / 2 + 1

    floki.clock.advance(minutes * 60 / 2 + 1)
    resp = await _login(floki, "test-staff", TEST_PASSWORD)
    assert resp.status == 200
    assert (await floki.client.get(ME, headers=floki.auth((await resp.json())["token"]))).ok

    failed = await _audit(floki, action="login_failed")
    assert len(failed) == attempts + 2
    assert {e["actor"] for e in failed} == {"test-staff"}
    assert sum("locked" in e["detail"] for e in failed) >= 3


async def test_lockout_is_per_user(floki: Floki) -> None:
    await floki.token_for("staff")
    await floki.token_for("viewer")
    for _ in range(5):
        await _login(floki, "test-staff", "wrong-password-1")
    assert (await _login(floki, "test-staff", TEST_PASSWORD)).status == 429
    assert (await _login(floki, "test-viewer", TEST_PASSWORD)).status == 200


async def test_successful_login_resets_the_failure_count(floki: Floki) -> None:
    await floki.token_for("viewer")
    for _ in range(4):
        assert (await _login(floki, "test-viewer", "wrong-password-1")).status == 401
    assert (await _login(floki, "test-viewer", TEST_PASSWORD)).status == 200
    for _ in range(4):
        assert (await _login(floki, "test-viewer", "wrong-password-1")).status == 401
    # Eight failures in all, but never five in a row.
    assert (await _login(floki, "test-viewer", TEST_PASSWORD)).status == 200


async def test_password_reset_clears_a_lockout(floki: Floki) -> None:
    await floki.token_for("viewer")
    for _ in range(5):
        await _login(floki, "test-viewer", "wrong-password-1")
    assert (await _login(floki, "test-viewer", TEST_PASSWORD)).status == 429
    uid = await _user_id(floki, "test-viewer")
    resp = await floki.client.post(
        f"/api/v1/users/{uid}/password",
        json={"password": "a-fresh-password-42"},
        headers=await floki.headers("admin"),
    )
    assert resp.status == 200
    assert (await resp.json())["password"] is None  # chosen by the admin, so not echoed
    assert (await _login(floki, "test-viewer", "a-fresh-password-42")).status == 200
    assert (await _login(floki, "test-viewer", TEST_PASSWORD)).status == 401


async def test_logins_and_failures_are_audited(floki: Floki) -> None:
    await floki.token_for("engineer")
    assert (await _login(floki, "test-engineer", TEST_PASSWORD)).status == 200
    assert (await _login(floki, "test-engineer", "wrong-password-1")).status == 401
    assert (await _login(floki, "ghost", "wrong-password-1")).status == 401

    uid = await _user_id(floki, "test-engineer")
    logins = await _audit(floki, action="login")
    assert [(e["actor"], e["entity"], e["entity_id"]) for e in logins] == [
        ("test-engineer", "users", str(uid))
    ]
    failed = await _audit(floki, action="login_failed")
    assert [(e["actor"], e["entity_id"]) for e in failed] == [
        ("ghost", None),
        ("test-engineer", str(uid)),
    ]
    assert all(e["at"] for e in failed)
    assert "bad password" in failed[1]["detail"]
    assert "unknown user" in failed[0]["detail"]


async def test_logout_revokes_the_session(floki: Floki) -> None:
    await floki.token_for("viewer")
    token = (await (await _login(floki, "test-viewer", TEST_PASSWORD)).json())["token"]
    resp = await floki.client.post("/api/v1/auth/logout", headers=floki.auth(token))
    assert resp.status == 204
    resp = await floki.client.get(ME, headers=floki.auth(token))
    assert resp.status == 401
    # The user's other tokens are untouched.
    assert (await floki.client.get(ME, headers=await floki.headers("viewer"))).status == 200


async def test_admin_creates_device_tokens_limited_to_ingest(floki: Floki) -> None:
    admin = await floki.headers("admin")
    resp = await floki.client.post(
        "/api/v1/tokens", json={"name": "gateway-ward-7", "device": True}, headers=admin
    )
    assert resp.status == 201
    issued = await resp.json()
    assert issued["info"]["kind"] == "device"
    assert issued["info"]["name"] == "gateway-ward-7"
    device = floki.auth(issued["token"])
    # A device token reads nothing, even though it belongs to an admin.
    assert (await floki.client.get("/api/v1/assets", headers=device)).status == 403
    assert (await floki.client.get(ME, headers=device)).status == 403

    created = await _audit(
        floki, entity="tokens", action="create", entity_id=str(issued["info"]["id"])
    )
    assert len(created) == 1
    assert created[0]["actor"] == "test-admin"
    assert "device token" in created[0]["detail"]

    listed = await (await floki.client.get("/api/v1/tokens", headers=admin)).json()
    assert issued["token"] not in json.dumps(listed)  # the secret is shown once only


@pytest.mark.parametrize("role", ["viewer", "staff", "engineer"])
async def test_only_admins_create_device_tokens(floki: Floki, role: str) -> None:
    headers = await floki.headers(role)
    resp = await floki.client.post(
        "/api/v1/tokens", json={"name": "sneaky", "device": True}, headers=headers
    )
    assert resp.status == 403
    assert (await resp.json())["error"] == "only admins create device tokens"
    listed = await (await floki.client.get("/api/v1/tokens", headers=headers)).json()
    assert [t["name"] for t in listed["items"]] == ["test"]  # only the fixture's own


async def test_viewer_creates_tokens_for_themselves_only(floki: Floki) -> None:
    await floki.token_for("admin")
    viewer = await floki.headers("viewer")
    resp = await floki.client.post("/api/v1/tokens", json={"name": "my script"}, headers=viewer)
    assert resp.status == 201
    issued = await resp.json()
    assert issued["info"]["kind"] == "api"
    me = await (await floki.client.get(ME, headers=floki.auth(issued["token"]))).json()
    assert me["username"] == "test-viewer" and me["role"] == "viewer"

    resp = await floki.client.post(
        "/api/v1/tokens", json={"name": "borrowed", "username": "test-admin"}, headers=viewer
    )
    assert resp.status == 403
    assert (await resp.json())["error"] == "only admins create tokens for other users"
    tokens = await (
        await floki.client.get("/api/v1/tokens", headers=await floki.headers("admin"))
    ).json()
    assert "borrowed" not in {t["name"] for t in tokens["items"]}


async def test_viewer_cannot_revoke_someone_elses_token(floki: Floki) -> None:
    admin = await floki.headers("admin")
    issued = await (
        await floki.client.post("/api/v1/tokens", json={"name": "ops"}, headers=admin)
    ).json()
    resp = await floki.client.delete(
        f"/api/v1/tokens/{issued['info']['id']}", headers=await floki.headers("viewer")
    )
    assert resp.status == 404
    assert (await floki.client.get(ME, headers=floki.auth(issued["token"]))).status == 200


async def test_last_admin_cannot_be_demoted_or_disabled(floki: Floki) -> None:
    admin = await floki.headers("admin")
    uid = await _user_id(floki, "test-admin")
    before = len(await _audit(floki, entity="users"))
    for change in ({"role": "engineer"}, {"disabled": True}):
        resp = await floki.client.patch(f"/api/v1/users/{uid}", json=change, headers=admin)
        assert resp.status == 409, change
        assert "last active admin" in (await resp.json())["error"]
    users = await (await floki.client.get("/api/v1/users", headers=admin)).json()
    me = next(u for u in users["items"] if u["id"] == uid)
    assert (me["role"], me["disabled"]) == ("admin", False)
    assert len(await _audit(floki, entity="users")) == before

    # With a second admin, the first may step down.
    resp = await floki.client.post(
        "/api/v1/users", json={"username": "second-admin", "role": "admin"}, headers=admin
    )
    assert resp.status == 201
    resp = await floki.client.patch(
        f"/api/v1/users/{uid}", json={"role": "engineer"}, headers=admin
    )
    assert resp.status == 200
    assert (await resp.json())["role"] == "engineer"
    # The demoted admin's token now carries the lower role.
    assert (await floki.client.get("/api/v1/users", headers=admin)).status == 403


async def test_disabled_user_cannot_log_in_and_loses_tokens(floki: Floki) -> None:
    admin = await floki.headers("admin")
    resp = await floki.client.post(
        "/api/v1/users",
        json={"username": "agency.nurse", "role": "staff", "password": "temporary-pass-77"},
        headers=admin,
    )
    assert resp.status == 201
    created = await resp.json()
    assert created["password"] is None
    uid = created["user"]["id"]
    session = (await (await _login(floki, "agency.nurse", "temporary-pass-77")).json())["token"]
    assert (await floki.client.get(ME, headers=floki.auth(session))).status == 200

    resp = await floki.client.patch(f"/api/v1/users/{uid}", json={"disabled": True}, headers=admin)
    assert resp.status == 200
    assert (await resp.json())["disabled"] is True
    resp = await _login(floki, "agency.nurse", "temporary-pass-77")
    assert resp.status == 401
    assert await resp.json() == BAD_LOGIN
    assert (await floki.client.get(ME, headers=floki.auth(session))).status == 401

    updates = await _audit(floki, entity="users", action="update", entity_id=str(uid))
    assert updates[0]["before"]["disabled"] is False
    assert updates[0]["after"]["disabled"] is True
    assert updates[0]["actor"] == "test-admin"


async def test_generated_password_is_shown_once_and_works(floki: Floki) -> None:
    admin = await floki.headers("admin")
    resp = await floki.client.post(
        "/api/v1/users",
        json={"username": "ce.engineer", "role": "engineer", "display_name": "CE Engineer"},
        headers=admin,
    )
    assert resp.status == 201
    body = await resp.json()
    password = body["password"]
    assert isinstance(password, str) and len(password) >= 10
    assert body["user"]["role"] == "engineer"
    listed = await (await floki.client.get("/api/v1/users", headers=admin)).json()
    assert password not in json.dumps(listed)
    created = await _audit(floki, entity="users", action="create")
    assert password not in json.dumps(created)

    resp = await _login(floki, "ce.engineer", password)
    assert resp.status == 200
    assert (await resp.json())["user"]["role"] == "engineer"


async def test_user_admin_input_is_checked(floki: Floki) -> None:
    admin = await floki.headers("admin")
    await floki.token_for("viewer")
    resp = await floki.client.post(
        "/api/v1/users", json={"username": "test-viewer", "role": "viewer"}, headers=admin
    )
    assert resp.status == 409
    resp = await floki.client.post(
        "/api/v1/users", json={"username": "x.y", "role": "superuser"}, headers=admin
    )
    assert resp.status == 422
    assert "$.role" in (await resp.json())["error"]
    resp = await floki.client.post(
        "/api/v1/users",
        json={"username": "short.pw", "role": "viewer", "password": "abc"},
        headers=admin,
    )
    assert resp.status == 422
    uid = await _user_id(floki, "test-viewer")
    resp = await floki.client.patch(f"/api/v1/users/{uid}", json={}, headers=admin)
    assert resp.status == 422
    resp = await floki.client.patch("/api/v1/users/9999", json={"role": "staff"}, headers=admin)
    assert resp.status == 404
    users = await (await floki.client.get("/api/v1/users", headers=admin)).json()
    assert {u["username"] for u in users["items"]} == {"test-admin", "test-viewer"}


# --- lockout per username and address, with rate limits (identical for unknown names) ---


@contextlib.asynccontextmanager
async def _from_address(floki: Floki, address: str) -> AsyncIterator[aiohttp.ClientSession]:
    """A client on another loopback address: to the appliance, another machine."""
    connector = aiohttp.TCPConnector(local_addr=(address, 0))
    async with aiohttp.ClientSession(
        base_url=str(floki.client.make_url("/")), connector=connector
    ) as session:
        yield session


async def _answer(resp: Any) -> tuple[int, Any, dict[str, str]]:
    shown = ("Retry-After", "WWW-Authenticate", "Content-Type")
    return resp.status, await resp.json(), {h: resp.headers.get(h, "") for h in shown}


async def test_unknown_usernames_get_the_same_answers_as_real_ones_up_to_lockout(
    floki: Floki,
) -> None:
    await floki.token_for("staff")
    real = [await _answer(await _login(floki, "test-staff", "wrong-password-1")) for _ in range(6)]
    unknown = [
        await _answer(await _login(floki, "no-such-user", "wrong-password-1")) for _ in range(6)
    ]
    assert [a[0] for a in real] == [401] * 5 + [429]
    assert real == unknown
    # The real account is refused even its right password, like the unknown one.
    assert (await _login(floki, "test-staff", TEST_PASSWORD)).status == 429


async def test_unknown_usernames_cost_one_password_hash_like_real_ones(
    floki: Floki, monkeypatch: pytest.MonkeyPatch
) -> None:
    from floki_core.security import passwords

    await floki.token_for("staff")
    spent: list[str] = []
    hasher = passwords._hasher
    monkeypatch.setattr(
        passwords,
        "_hasher",
        SimpleNamespace(
            hash=lambda p: spent.append("hash") or hasher.hash(p),
            verify=lambda h, p: spent.append("verify") or hasher.verify(h, p),
        ),
    )
    await _login(floki, "test-staff", "wrong-password-1")
    real, spent[:] = list(spent), []
    await _login(floki, "no-such-user", "wrong-password-1")
    assert len(real) == len(spent) == 1  # one argon2 computation each


async def test_a_lockout_from_one_address_does_not_lock_out_another(floki: Floki) -> None:
    await floki.token_for("admin")
    for _ in range(6):
        await _login(floki, "test-admin", "wrong-password-1")  # an attacker on 127.0.0.1
    assert (await _login(floki, "test-admin", TEST_PASSWORD)).status == 429
    async with _from_address(floki, "127.0.0.2") as admin_pc:
        resp = await admin_pc.post(
            LOGIN, json={"username": "test-admin", "password": TEST_PASSWORD}
        )
        assert resp.status == 200
    failed = await _audit(floki, action="login_failed")
    assert all("from 127.0.0.1" in e["detail"] for e in failed)


async def test_one_address_cannot_spray_many_accounts(floki: Floki) -> None:
    limit = floki.core.config.security.address_failures_per_minute
    assert limit == 20
    for n in range(limit):
        assert (await _login(floki, f"user-{n}", "Winter2026!")).status == 401
    resp = await _login(floki, "user-x", "Winter2026!")
    assert resp.status == 429
    body = await resp.json()
    assert "from this address" in body["error"]
    assert 1 <= int(resp.headers["Retry-After"]) <= 61
    await floki.token_for("viewer")
    assert (await _login(floki, "test-viewer", TEST_PASSWORD)).status == 429  # that address
    async with _from_address(floki, "127.0.0.2") as other:
        ok = await other.post(LOGIN, json={"username": "test-viewer", "password": TEST_PASSWORD})
        assert ok.status == 200
    floki.advance(61)
    assert (await _login(floki, "test-viewer", TEST_PASSWORD)).status == 200


class TestGlobalLimit:
    @pytest.fixture
    def floki_config(self) -> AppConfig:
        return parse_config(
            {
                "discovery": {"enabled": False},
                "server": {"tls": False},
                "security": {"address_failures_per_minute": 4, "failures_per_minute": 8},
            }
        )

    async def test_many_addresses_together_are_held_back_but_not_a_clean_one(
        self, floki: Floki
    ) -> None:
        await floki.token_for("admin")
        for address in ("127.0.0.2", "127.0.0.3"):
            async with _from_address(floki, address) as attacker:
                for n in range(4):
                    resp = await attacker.post(
                        LOGIN, json={"username": f"u{n}", "password": "Winter2026!"}
                    )
                    assert resp.status == 401
        async with _from_address(floki, "127.0.0.4") as attacker:
            first = await attacker.post(LOGIN, json={"username": "v", "password": "Winter2026!"})
            assert first.status == 401  # a fresh address may try once ...
            second = await attacker.post(LOGIN, json={"username": "w", "password": "Winter2026!"})
            assert second.status == 429  # ... and then waits while the appliance is sprayed
            assert "too many failed logins" in (await second.json())["error"]
        # The admin's own machine has no failures: it is not held back.
        assert (await _login(floki, "test-admin", TEST_PASSWORD)).status == 200


# --- a new password, or disabling, ends the user's tokens and sessions ---------------


async def test_a_password_reset_ends_the_users_sessions_and_api_tokens(floki: Floki) -> None:
    admin = await floki.headers("admin")
    await floki.token_for("engineer")
    session = (await (await _login(floki, "test-engineer", TEST_PASSWORD)).json())["token"]
    api_token = floki.auth(await floki.token_for("engineer"))
    device = await (
        await floki.client.post(
            "/api/v1/tokens",
            json={"name": "gateway", "device": True, "username": "test-engineer"},
            headers=admin,
        )
    ).json()
    assert (await floki.client.get(ME, headers=floki.auth(session))).status == 200
    assert (await floki.client.get(ME, headers=api_token)).status == 200

    uid = await _user_id(floki, "test-engineer")
    resp = await floki.client.post(
        f"/api/v1/users/{uid}/password", json={"password": "a-fresh-password-42"}, headers=admin
    )
    assert resp.status == 200
    assert (await floki.client.get(ME, headers=floki.auth(session))).status == 401
    assert (await floki.client.get(ME, headers=api_token)).status == 401
    # A gateway's device token is the device's credential, not the person's: it goes on.
    ingest = await floki.client.post(
        "/api/v1/ingest", json={"observations": []}, headers=floki.auth(device["token"])
    )
    assert ingest.status != 401
    listed = await (await floki.client.get("/api/v1/tokens", headers=admin)).json()
    revoked = {t["name"]: t["revoked_at"] for t in listed["items"] if t["user_id"] == uid}
    assert revoked["test"] is not None and revoked["gateway"] is None
    (reset,) = await _audit(floki, action="reset_password")
    assert "2 tokens ended" in reset["detail"]
    assert (await _login(floki, "test-engineer", "a-fresh-password-42")).status == 200


async def test_a_password_set_by_another_process_ends_tokens_within_the_cache_time(
    floki: Floki,
) -> None:
    """The CLI's ``user reset-password`` runs in its own process, on the same database."""
    api_token = floki.auth(await floki.token_for("viewer"))
    assert (await floki.client.get(ME, headers=api_token)).status == 200
    await floki.core.write(
        accounts.set_password,
        "test-viewer",
        "a-fresh-password-42",
        actor=SYSTEM,
        now=floki.clock.now(),
    )
    floki.advance(6)  # the token cache's time to live
    assert (await floki.client.get(ME, headers=api_token)).status == 401


async def test_re_enabling_a_user_does_not_bring_old_tokens_back(floki: Floki) -> None:
    admin = await floki.headers("admin")
    api_token = floki.auth(await floki.token_for("staff"))
    uid = await _user_id(floki, "test-staff")
    await floki.client.patch(f"/api/v1/users/{uid}", json={"disabled": True}, headers=admin)
    assert (await floki.client.get(ME, headers=api_token)).status == 401
    await floki.client.patch(f"/api/v1/users/{uid}", json={"disabled": False}, headers=admin)
    assert (await floki.client.get(ME, headers=api_token)).status == 401
    _enabled, disabled = await _audit(floki, entity="users", action="update", entity_id=str(uid))
    assert disabled["after"]["disabled"] is True
    assert "1 token ended" in disabled["detail"]


# --- many source addresses: IPv6 counted per /64, and a cap per username -------------


def _count_password_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Password checks made, by username's stored hash (cheap: no argon2 here)."""
    from floki_core.security import passwords

    checked: list[str] = []
    real = passwords.verify_password

    def counting(stored: str | None, password: str) -> bool:
        checked.append(password)
        return real(stored, password) if password == TEST_PASSWORD else False

    monkeypatch.setattr(passwords, "verify_password", counting)
    return checked


def _outcome(session: Any, username: str, password: str, source: str, now: Any, policy: Any) -> str:
    """What a login attempt from ``source`` got: "ok", "401 ..." or "429 ..." with the
    seconds to wait (returned, not raised, so the failure is kept as the API keeps it)."""
    try:
        accounts.authenticate(session, username, password, now=now, policy=policy, source=source)
    except accounts.LoginRefused as exc:
        if exc.retry_after is None:
            return f"401 {exc}"
        return f"429 {exc} (wait {exc.retry_after:.0f} s)"
    return "ok"


async def _try(floki: Floki, username: str, password: str, source: str) -> str:
    floki.advance(0.1)  # ten attempts a second
    policy = lockout_policy(floki.core.config.security)
    return await floki.core.write(_outcome, username, password, source, floki.clock.now(), policy)


async def test_addresses_of_one_ipv6_64_count_as_one_address(
    floki: Floki, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rotating through the addresses of one /64 (privacy addresses, or an attacker's
    pick of 2^64) buys no more guesses than one address."""
    checked = _count_password_checks(monkeypatch)
    await floki.token_for("admin")
    outcomes = [await _try(floki, "test-admin", "guess", f"fd00::1:{n:x}") for n in range(40)]
    attempts = floki.core.config.security.lockout_attempts
    assert len(checked) == attempts
    assert outcomes[:attempts] == ["401 invalid username or password"] * attempts
    assert all(o.startswith("429 ") for o in outcomes[attempts:]), outcomes
    # Another /64 (another network) is not locked out by it.
    assert await _try(floki, "test-admin", TEST_PASSWORD, "fd00:0:0:2::9") == "ok"


async def test_an_ipv4_mapped_address_counts_as_the_ipv4_address(
    floki: Floki, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked = _count_password_checks(monkeypatch)
    await floki.token_for("staff")
    for source in ("192.0.2.7", "::ffff:192.0.2.7", "192.0.2.7", "::ffff:c000:207", "192.0.2.7"):
        assert (await _try(floki, "test-staff", "guess", source)).startswith("401 ")
    assert (await _try(floki, "test-staff", "guess", "::ffff:192.0.2.7")).startswith("429 ")
    assert len(checked) == 5


async def test_guesses_at_one_username_from_many_addresses_are_capped(
    floki: Floki, monkeypatch: pytest.MonkeyPatch
) -> None:
    """200 guesses in 20 s from 200 addresses: only ``username_failures`` of them get a
    password check; the rest wait, the same way for a username that does not exist."""
    checked = _count_password_checks(monkeypatch)
    await floki.token_for("admin")
    security = floki.core.config.security
    cap = security.username_failures
    answers = {}
    for username in ("test-admin", "no-such-admin"):
        floki.advance(security.username_failure_minutes * 60)  # a fresh window each
        answers[username] = [
            await _try(floki, username, "guess", f"10.1.{n // 200}.{n % 200 + 1}")
            for n in range(200)
        ]
    real, unknown = answers["test-admin"], answers["no-such-admin"]
    assert real == unknown
    assert len(checked) == 2 * cap
    assert real[:cap] == ["401 invalid username or password"] * cap
    held = real[cap:]
    assert all(a.startswith("429 too many failed logins for this username") for a in held)
    waits = [float(a.rsplit("(wait ", 1)[1].split()[0]) for a in held]
    assert min(waits) >= 1 and max(waits) <= security.username_failure_minutes * 60


async def test_an_address_that_signed_in_as_the_user_is_not_held_back(
    floki: Floki, monkeypatch: pytest.MonkeyPatch
) -> None:
    _count_password_checks(monkeypatch)
    await floki.token_for("admin")
    assert await _try(floki, "test-admin", TEST_PASSWORD, "192.168.1.10") == "ok"
    assert await _try(floki, "test-admin", TEST_PASSWORD, "fd00:0:0:7::10") == "ok"
    floki.advance(7 * 24 * 3600)  # a week later, under attack from everywhere
    cap = floki.core.config.security.username_failures
    for n in range(cap + 5):
        await _try(floki, "test-admin", "guess", f"10.2.{n // 200}.{n % 200 + 1}")
    # The admin's own machine, and a new privacy address of the admin's own /64:
    assert await _try(floki, "test-admin", TEST_PASSWORD, "192.168.1.10") == "ok"
    assert await _try(floki, "test-admin", TEST_PASSWORD, "fd00:0:0:7::beef") == "ok"
    # ... but an address that never signed in as the admin waits, right password or not,
    held = await _try(floki, "test-admin", TEST_PASSWORD, "192.168.1.99")
    assert held.startswith("429 too many failed logins for this username")
    # ... and the admin's machine is not trusted for another username.
    for n in range(cap):
        await _try(floki, "no-such-user", "guess", f"10.3.{n // 200}.{n % 200 + 1}")
    other = await _try(floki, "no-such-user", "guess", "192.168.1.10")
    assert other.startswith("429 too many failed logins for this username")
    # Once the window has passed, the new address may try again.
    floki.advance(floki.core.config.security.username_failure_minutes * 60)
    assert await _try(floki, "test-admin", TEST_PASSWORD, "192.168.1.99") == "ok"


async def test_a_new_password_lets_a_new_machine_in_at_once(
    floki: Floki, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``floki-core user reset-password`` clears the username's count as well."""
    _count_password_checks(monkeypatch)
    await floki.token_for("admin")
    for n in range(floki.core.config.security.username_failures):
        await _try(floki, "test-admin", "guess", f"10.5.0.{n + 1}")
    held = await _try(floki, "test-admin", TEST_PASSWORD, "192.168.1.99")
    assert held.startswith("429 too many failed logins for this username")
    await floki.core.write(
        accounts.set_password, "test-admin", TEST_PASSWORD, actor=SYSTEM, now=floki.clock.now()
    )
    assert await _try(floki, "test-admin", TEST_PASSWORD, "192.168.1.99") == "ok"


async def test_a_sign_in_long_ago_does_not_vouch_for_an_address(
    floki: Floki, monkeypatch: pytest.MonkeyPatch
) -> None:
    _count_password_checks(monkeypatch)
    await floki.token_for("admin")
    assert await _try(floki, "test-admin", TEST_PASSWORD, "192.168.1.10") == "ok"
    floki.advance((floki.core.config.security.known_address_days + 1) * 24 * 3600)
    for n in range(floki.core.config.security.username_failures):
        await _try(floki, "test-admin", "guess", f"10.4.0.{n + 1}")
    held = await _try(floki, "test-admin", TEST_PASSWORD, "192.168.1.10")
    assert held.startswith("429 too many failed logins for this username")


class TestUsernameCapOverHttp:
    @pytest.fixture
    def floki_config(self) -> AppConfig:
        return parse_config(
            {
                "discovery": {"enabled": False},
                "server": {"tls": False},
                "security": {"username_failures": 3, "username_failure_minutes": 10},
            }
        )

    async def test_429_with_retry_after_the_same_for_unknown_usernames(self, floki: Floki) -> None:
        await floki.token_for("admin")
        assert (await _login(floki, "test-admin", TEST_PASSWORD)).status == 200  # 127.0.0.1
        answers = {}
        for username in ("test-admin", "nobody-here"):
            for n in (2, 3, 4):
                async with _from_address(floki, f"127.0.0.{n}") as attacker:
                    resp = await attacker.post(
                        LOGIN, json={"username": username, "password": "Winter2026!"}
                    )
                    assert resp.status == 401
            async with _from_address(floki, "127.0.0.5") as fresh:
                resp = await fresh.post(LOGIN, json={"username": username, "password": "x"})
                answers[username] = await _answer(resp)
        assert answers["test-admin"] == answers["nobody-here"]
        status, body, headers = answers["test-admin"]
        assert status == 429
        assert body["error"].startswith("too many failed logins for this username")
        assert 1 <= int(headers["Retry-After"]) <= 601
        # The admin's own machine signs in regardless.
        assert (await _login(floki, "test-admin", TEST_PASSWORD)).status == 200


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("username_failures", 0),
        ("username_failure_minutes", 0),
        ("known_address_days", -1),
    ],
)
def test_username_cap_settings_are_checked(setting: str, value: int) -> None:
    from floki_core.errors import ConfigError

    with pytest.raises(ConfigError, match=f"security.{setting}"):
        parse_config({"security": {setting: value}})
