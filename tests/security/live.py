"""A real appliance on a loopback port, with a caller for every role.

schemathesis and the route matrix talk HTTP with blocking clients, so the appliance runs
on its own event loop in a background thread: the same ``Core`` and ``create_app`` that
``floki-core serve`` runs, every built-in plugin loaded through its entry point, a manual
clock (nothing expires during a run) and a small register so generated ids find records.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import http.cookiejar
import itertools
import logging
import re
import threading
import traceback
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import requests
from aiohttp import web

from floki_core.api.app import create_app
from floki_core.api.keys import ROUTES
from floki_core.api.routing import ApiRoute
from floki_core.clock import ManualClock
from floki_core.config import parse_config
from floki_core.core import Core
from floki_core.domain import SYSTEM, Role, TokenKind
from floki_core.storage import accounts

T = TypeVar("T")
USER_ROLES = ("admin", "engineer", "staff", "viewer")
ROLES = (*USER_ROLES, "device", "anonymous")
PASSWORD = "security-suite-password-1"
START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class _KeepNoCookies(http.cookiejar.DefaultCookiePolicy):
    """The suite's client sends the cookies each caller owns and never picks up another's."""

    def set_ok(self, cookie: http.cookiejar.Cookie, request: object) -> bool:
        return False


class _ServerErrors(logging.Handler):
    """The last frames of every exception the appliance logs, for the failure report."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            frames = traceback.format_exception(record.exc_info[1])
            text += "\n" + "".join(frames[-4:])
        self.seen.append(text)


@dataclass
class Caller:
    """How one role reaches the appliance: a bearer token and, for users, a phone session."""

    role: str
    token: str | None = None
    cookies: dict[str, str] = field(default_factory=dict)
    csrf: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


def config() -> Any:
    return parse_config(
        {
            "discovery": {"enabled": False},
            "server": {"tls": False},
            "plugin": {"qr": {"labels": {"base_url": "https://floki.example.org"}}},
        }
    )


class LiveAppliance:
    """Start with ``start()``, stop with ``stop()``; ``url`` is where it answers."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.core: Core | None = None
        self.clock: ManualClock | None = None
        self.url = ""
        self.callers: dict[str, Caller] = {}
        self._runner: web.AppRunner | None = None
        self._names = itertools.count(1)
        self._suspect: set[str] = set()
        self.http = requests.Session()
        self.http.cookies.set_policy(_KeepNoCookies())
        self.errors = _ServerErrors()

    # --- life cycle -------------------------------------------------------------

    def start(self) -> None:
        logging.getLogger("floki_core").addHandler(self.errors)
        self._thread.start()
        self.run(self._start())
        for role in ROLES:
            self.callers[role] = self.provision(role)

    async def _start(self) -> None:
        self.clock = ManualClock(START)
        self.core = Core(self.data_dir, config(), clock=self.clock)
        await self.core.start()
        self._runner = web.AppRunner(create_app(self.core), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        logging.getLogger("floki_core").removeHandler(self.errors)
        self.http.close()
        if self._runner is not None:
            self.run(self._runner.cleanup())
        if self.core is not None:
            self.run(self.core.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    @property
    def routes(self) -> list[ApiRoute]:
        assert self._runner is not None
        return list(self._runner.app[ROUTES].routes)

    def app_routes(self) -> list[web.AbstractRoute]:
        assert self._runner is not None
        return list(self._runner.app.router.routes())

    # --- callers ------------------------------------------------------------------

    def provision(self, role: str) -> Caller:
        """A new user (or device token) for ``role``; users also sign in to the pages."""
        if role == "anonymous":
            return Caller(role)
        core = self.core
        assert core is not None
        user_role = Role.ADMIN if role == "device" else Role(role)
        name = f"sec-{role}-{next(self._names)}"

        async def make() -> str:
            user = await core.write(
                accounts.create_user,
                username=name,
                role=user_role,
                password=PASSWORD,
                actor=SYSTEM,
                now=core.clock.now(),
            )
            _, secret = await core.write(
                accounts.issue_token,
                user_id=user.id,
                name="security suite",
                kind=TokenKind.DEVICE if role == "device" else TokenKind.API,
                now=core.clock.now(),
                expires_at=None,
                actor=SYSTEM,
            )
            return secret

        caller = Caller(role, token=self.run(make()))
        if role != "device":
            # Fuzzed logins from this address count against its failed-login limit (per
            # minute): let the minute pass on the appliance's clock before signing in.
            self.run(self._advance(61))
            self._sign_in(caller, name)
        return caller

    async def _advance(self, seconds: float) -> None:
        assert self.clock is not None
        self.clock.advance(seconds)

    def _sign_in(self, caller: Caller, username: str) -> None:
        """Sign in on the phone pages as a browser would; keep the cookie and form token."""
        browser = requests.Session()
        form = browser.get(f"{self.url}/phone/login", timeout=30)
        found = _CSRF.search(form.text)
        assert form.status_code == 200 and found, form.text[:300]
        done = browser.post(
            f"{self.url}/phone/login",
            data={"csrf": found.group(1), "username": username, "password": PASSWORD},
            allow_redirects=False,
            timeout=30,
        )
        assert done.status_code == 303, (done.status_code, done.text[:300])
        caller.cookies = {c.name: c.value for c in browser.cookies if c.name.endswith("floki-page")}
        home = browser.get(f"{self.url}/phone", timeout=30)
        found = _CSRF.search(home.text)
        assert home.status_code == 200 and found, home.text[:300]
        caller.csrf = found.group(1)
        browser.close()

    def suspect(self) -> None:
        """A write went through: it may have ended a caller's token or session, or
        demoted or disabled its user, so check each before it is used next."""
        self._suspect.update(self.callers)

    def caller(self, role: str) -> Caller:
        """The role's caller, provisioned again if an earlier write broke it."""
        caller = self.callers[role]
        if role in self._suspect:
            self._suspect.discard(role)
            if role != "anonymous" and not self._still_works(caller):
                caller = self.callers[role] = self.provision(role)
        return caller

    def _still_works(self, caller: Caller) -> bool:
        if caller.role == "device":
            resp = self.http.post(
                f"{self.url}/api/v1/ingest",
                json={"observations": []},
                headers=caller.headers,
                timeout=30,
            )
            return resp.status_code == 202
        resp = self.http.get(f"{self.url}/api/v1/auth/me", headers=caller.headers, timeout=30)
        if resp.status_code != 200 or resp.json().get("role") != caller.role:
            return False
        resp = self.http.get(
            f"{self.url}/phone", cookies=caller.cookies, allow_redirects=False, timeout=30
        )
        return resp.status_code == 200

    # --- a small register ---------------------------------------------------------

    def seed(self) -> None:
        """One of most things, so generated ids (1, 2, ...) often name a real record."""
        admin = self.callers["admin"].headers

        def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
            resp = self.http.post(f"{self.url}/api/v1{path}", json=body, headers=admin, timeout=30)
            assert resp.status_code in (201, 202), (path, resp.status_code, resp.text)
            found: dict[str, Any] = resp.json()
            return found

        site = post("/sites", {"name": "General"})
        building = post("/buildings", {"site_id": site["id"], "name": "Main"})
        floor = post("/floors", {"building_id": building["id"], "name": "Ground", "level": 0})
        ward = post(
            "/zones",
            {"site_id": site["id"], "floor_id": floor["id"], "name": "Ward 5", "type": "ward"},
        )
        post(
            "/zones",
            {
                "site_id": site["id"],
                "floor_id": floor["id"],
                "parent_id": ward["id"],
                "name": "Bay 1",
                "type": "room",
            },
        )
        post(
            "/receivers",
            {
                "name": "Ward 5 gateway",
                "zone_id": ward["id"],
                "technology": "ble",
                "identifier": "AC:23:3F:00:00:01",
            },
        )
        pumps = post("/asset-classes", {"name": "Infusion pump", "category": "infusion"})
        lent, asset = (
            post(
                "/assets",
                {"asset_number": number, "class_id": pumps["id"], "home_zone_id": ward["id"]},
            )
            for number in ("E10001", "E10002")
        )
        post(
            "/identifiers",
            {"asset_id": asset["id"], "technology": "ble", "value": "AC:23:3F:11:22:33"},
        )
        post("/work-orders", {"asset_id": asset["id"], "kind": "ppm"})
        post(
            "/loans",
            {
                "asset_id": lent["id"],
                "reference": "CE-0001",
                "destination_type": "home",
                "due_back": "2026-02-01",
            },
        )
        sighting = {
            "technology": "ble",
            "tag": "AC:23:3F:11:22:33",
            "receiver": "AC:23:3F:00:00:01",
            "rssi": -60,
            "observed_at": START.isoformat(),
        }
        resp = self.http.post(
            f"{self.url}/api/v1/ingest",
            json={"observations": [sighting]},
            headers=self.callers["device"].headers,
            timeout=30,
        )
        assert resp.status_code == 202, resp.text
