"""A real appliance for the console's tests: the core and its API over HTTPS with a
per-install certificate, on a loopback port, in a thread of its own.

The console runs on the test's thread under qasync, exactly as on a desktop; the appliance
has its own asyncio loop, as it would on its own box. It can be stopped and started again
on the same port, and observations are injected with its manual clock.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import io
import shutil
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from aiohttp import web
from PIL import Image, ImageDraw

from floki_core.api.app import create_app
from floki_core.clock import ManualClock
from floki_core.config import parse_config
from floki_core.core import Core
from floki_core.domain import SYSTEM, Role, TokenKind
from floki_core.observations import Observation
from floki_core.security import tls
from floki_core.storage import accounts
from floki_core.storage.database import DB_FILE
from tests.fixtures.processes import free_port

T = TypeVar("T")

SITE = "St Test General"
PASSWORD = "console-test-Passw0rd"
START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
PLAN_SIZE = (800, 500)

# Zones on Level 2 (plan pixels), then Level 3's one ward.
ZONES: dict[str, tuple[str, str | None, tuple[int, int, int, int], str]] = {
    # key: (name, parent key, (left, top, right, bottom), floor key)
    "ward7": ("Ward 7", None, (40, 40, 600, 460), "level2"),
    "room7a": ("Room 7A", "ward7", (60, 60, 300, 250), "level2"),
    "room7b": ("Room 7B", "ward7", (320, 60, 580, 250), "level2"),
    "store": ("Equipment store", None, (620, 40, 780, 460), "level2"),
    "ward9": ("Ward 9", None, (40, 40, 760, 460), "level3"),
}
ZONE_TYPES = {"ward7": "ward", "ward9": "ward", "store": "equipment_library"}
READERS = {  # QR reader identifier -> zone key
    "QR-READER-7A": "room7a",
    "QR-READER-7B": "room7b",
    "QR-READER-STORE": "store",
    "QR-READER-9": "ward9",
}
ASSETS = {  # asset number -> (description, class, QR tag)
    "SCAN-001": ("Bladder scanner BVI 9400", "Bladder scanner", "QR-SCAN-001"),
    "PUMP-001": ("Volumetric infusion pump", "Infusion pump", "QR-PUMP-001"),
    "PUMP-002": ("Volumetric infusion pump", "Infusion pump", "QR-PUMP-002"),
    "HOIST-001": ("Mobile patient hoist", "Hoist", "QR-HOIST-001"),
}


def plan_png(label: str) -> bytes:
    image = Image.new("RGB", PLAN_SIZE, "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, PLAN_SIZE[0] - 20, PLAN_SIZE[1] - 20), outline="black", width=4)
    draw.text((30, PLAN_SIZE[1] - 40), label, fill="black")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@dataclass
class Register:
    floors: dict[str, int] = field(default_factory=dict)
    zones: dict[str, int] = field(default_factory=dict)
    assets: dict[str, int] = field(default_factory=dict)
    classes: dict[str, int] = field(default_factory=dict)

    def zone_rect(self, key: str) -> tuple[int, int, int, int]:
        return ZONES[key][2]


class ThreadedAppliance:
    """``start()``/``stop()`` may be called again; the port and data directory stay."""

    def __init__(
        self,
        data_dir: Path,
        *,
        name: str = SITE,
        extra_plugins: Sequence[tuple[str, object]] = (),
    ) -> None:
        self.data_dir = data_dir
        self.extra_plugins = list(extra_plugins)
        self.port = free_port()
        self.clock = ManualClock(START)
        self.config = parse_config(
            {
                "site": {"name": name},
                "discovery": {"enabled": False},
                # Judge alert rules as soon as something changes, not a second later.
                "workflow": {"alerts": {"settle_seconds": 0}},
            }
        )
        self.cert, self.key = tls.generate_self_signed(data_dir, name)
        self.fingerprint = tls.fingerprint(self.cert)
        self.register = Register()
        self.admin_token = ""
        self.device_token = ""
        self.core: Core | None = None
        self._runner: web.AppRunner | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def base(self) -> str:
        return f"https://127.0.0.1:{self.port}/api/v1"

    def call(self, work: Callable[[], Coroutine[Any, Any, T]], timeout: float = 30) -> T:
        """Run ``work()`` on the appliance's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(work(), self._loop).result(timeout)

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        self.call(self._start)

    async def _start(self) -> None:
        core = Core(self.data_dir, self.config, clock=self.clock, extra_plugins=self.extra_plugins)
        await core.start()
        runner = web.AppRunner(create_app(core), access_log=None)
        await runner.setup()
        site = web.TCPSite(
            runner, "127.0.0.1", self.port, ssl_context=tls.server_context(self.cert, self.key)
        )
        await site.start()
        self.core, self._runner = core, runner

    def stop(self) -> None:
        self.call(self._stop)

    async def _stop(self) -> None:
        runner, core = self._runner, self.core
        self._runner = self.core = None
        if runner is not None:
            await runner.cleanup()
        if core is not None:
            await core.stop()

    def close(self) -> None:
        try:
            self.stop()
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()

    # --- the register --------------------------------------------------------------------

    def populate(self) -> Register:
        """Users, two floors with plans and zones, QR readers and four assets."""
        return self.call(self._populate)

    async def _user(self, username: str, role: Role) -> int:
        core = self._core()
        user = await core.write(
            accounts.create_user,
            username=username,
            role=role,
            password=PASSWORD,
            actor=SYSTEM,
            now=self.clock.now(),
        )
        return int(user.id)

    async def _token(self, user_id: int, kind: TokenKind) -> str:
        _, secret = await self._core().write(
            accounts.issue_token,
            user_id=user_id,
            name="test",
            kind=kind,
            now=self.clock.now(),
            expires_at=None,
            actor=SYSTEM,
        )
        return str(secret)

    async def _populate(self) -> Register:
        admin = await self._user("ce-lead", Role.ADMIN)
        await self._user("viewer", Role.VIEWER)
        gateway = await self._user("gateway", Role.ADMIN)
        self.admin_token = await self._token(admin, TokenKind.API)
        self.device_token = await self._token(gateway, TokenKind.DEVICE)
        reg = self.register
        async with self.http() as http:
            site = await http.post("/sites", {"name": SITE})
            building = await http.post("/buildings", {"site_id": site["id"], "name": "Main"})
            for key, (name, level) in {"level2": ("Level 2", 2), "level3": ("Level 3", 3)}.items():
                floor = await http.post(
                    "/floors", {"building_id": building["id"], "name": name, "level": level}
                )
                reg.floors[key] = floor["id"]
                await http.put_png(f"/floors/{floor['id']}/plan", plan_png(name))
            for key, (name, parent, (left, top, right, bottom), floor_key) in ZONES.items():
                zone = await http.post(
                    "/zones",
                    {
                        "site_id": site["id"],
                        "name": name,
                        "type": ZONE_TYPES.get(key, "room"),
                        "floor_id": reg.floors[floor_key],
                        "parent_id": reg.zones[parent] if parent else None,
                        "polygon": [[left, top], [right, top], [right, bottom], [left, bottom]],
                    },
                )
                reg.zones[key] = zone["id"]
            for identifier, zone_key in READERS.items():
                left, top, _, _ = ZONES[zone_key][2]
                await http.post(
                    "/receivers",
                    {
                        "name": f"QR point {ZONES[zone_key][0]}",
                        "technology": "qr",
                        "identifier": identifier,
                        "zone_id": reg.zones[zone_key],
                        "x": left + 10,
                        "y": top + 10,
                    },
                )
            for number, (description, class_name, tag) in ASSETS.items():
                if class_name not in reg.classes:
                    made = await http.post("/asset-classes", {"name": class_name})
                    reg.classes[class_name] = made["id"]
                asset = await http.post(
                    "/assets",
                    {
                        "asset_number": number,
                        "description": description,
                        "class_id": reg.classes[class_name],
                    },
                )
                reg.assets[number] = asset["id"]
                await http.post(
                    "/identifiers", {"asset_id": asset["id"], "technology": "qr", "value": tag}
                )
        await self._core().locations.reindex()
        return reg

    def _core(self) -> Core:
        assert self.core is not None, "the appliance is stopped"
        return self.core

    def http(self) -> AdminHttp:
        return AdminHttp(self.base, self.admin_token)

    # --- what happens on the ward ----------------------------------------------------------

    def scan(self, asset: str, reader: str, after: float = 5.0) -> None:
        """A QR scan of ``asset`` at ``reader``, ``after`` seconds on the appliance's clock."""

        async def work() -> None:
            self.clock.advance(after)
            observation = Observation(
                technology="qr",
                tag=ASSETS[asset][2],
                receiver=reader,
                observed_at=self.clock.now(),
            )
            core = self._core()
            await core.ingest.put("reader", [observation])
            await core.ingest.join()
            await core.locations.flush()

        self.call(work)

    def admin(self, method: str, path: str, body: dict[str, Any]) -> Any:
        """A write through the API as the admin, e.g. ``("PATCH", "/assets/1", {...})``."""

        async def work() -> Any:
            async with self.http() as http:
                call = http.post if method == "POST" else http.patch
                return await call(path, body)

        return self.call(work)

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def get(self, path: str, token: str | None = None) -> tuple[int, Any]:
        async def work() -> tuple[int, Any]:
            async with AdminHttp(self.base, token or self.admin_token) as http:
                return await http.get(path)

        return self.call(work)

    def get_bytes(self, path: str) -> bytes:
        """What the appliance answers to a GET as the admin, as it sent it (a CSV, a PDF)."""

        async def work() -> bytes:
            async with AdminHttp(self.base, self.admin_token) as http:
                return await http.get_bytes(path)

        return self.call(work)

    def run(self, work: Callable[[Core], Awaitable[T]]) -> T:
        async def wrapped() -> T:
            return await work(self._core())

        return self.call(wrapped)


class AdminHttp:
    """The appliance's own API from the appliance's side (certificate not checked here)."""

    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self.headers = {"Authorization": f"Bearer {token}"}
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> AdminHttp:
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False))
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._session is not None
        await self._session.close()

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        assert self._session is not None
        async with self._session.post(self.base + path, json=body, headers=self.headers) as r:
            data = await r.json()
            assert r.status in (200, 201), (path, r.status, data)
            return data

    async def patch(self, path: str, body: dict[str, Any]) -> Any:
        assert self._session is not None
        async with self._session.patch(self.base + path, json=body, headers=self.headers) as r:
            data = await r.json()
            assert r.status == 200, (path, r.status, data)
            return data

    async def put_png(self, path: str, raw: bytes) -> None:
        assert self._session is not None
        headers = {**self.headers, "Content-Type": "image/png"}
        async with self._session.put(self.base + path, data=raw, headers=headers) as r:
            assert r.status == 200, (path, r.status, await r.text())

    async def get_bytes(self, path: str) -> bytes:
        assert self._session is not None
        async with self._session.get(self.base + path, headers=self.headers) as r:
            assert r.status == 200, (path, r.status, await r.text())
            return await r.read()

    async def get(self, path: str) -> tuple[int, Any]:
        assert self._session is not None
        async with self._session.get(self.base + path, headers=self.headers) as r:
            return r.status, await r.json()


@dataclass(frozen=True)
class PreparedRegister:
    """A data directory holding ``populate()``'s register (the database and the floor
    plans) and the tokens it made: built once per session, so that an appliance started
    on a copy skips the migrations and the thirty-odd requests. Copy it, never change it."""

    data_dir: Path
    register: Register
    admin_token: str
    device_token: str


def prepare_register(data_dir: Path, template: Path) -> PreparedRegister:
    """``populate()`` in an appliance of its own on a copy of ``template`` (the test
    kit's migrated, empty database), stopped before this returns."""
    running = ThreadedAppliance(data_dir)
    shutil.copyfile(template, data_dir / DB_FILE)
    running.start()
    try:
        register = running.populate()
    finally:
        running.close()
    wal = data_dir / f"{DB_FILE}-wal"
    assert not wal.exists() or wal.stat().st_size == 0, "the register is not all in the file"
    return PreparedRegister(data_dir, register, running.admin_token, running.device_token)


@contextmanager
def serving(
    data_dir: Path, *, database: Path | None = None, prepared: PreparedRegister | None = None
) -> Iterator[ThreadedAppliance]:
    """A started appliance in ``data_dir`` for the ``with`` block, closed after it: on a
    copy of ``prepared`` (populated already), else of the SQLite file ``database``, else
    on a database of its own made by the migrations."""
    running = ThreadedAppliance(data_dir)
    if prepared is not None:
        # The appliance keeps the certificate it made for itself.
        ignore = shutil.ignore_patterns("tls", f"{DB_FILE}-*")
        shutil.copytree(prepared.data_dir, data_dir, ignore=ignore, dirs_exist_ok=True)
        running.register = copy.deepcopy(prepared.register)
        running.admin_token, running.device_token = prepared.admin_token, prepared.device_token
    elif database is not None:
        shutil.copyfile(database, data_dir / DB_FILE)
    running.start()
    try:
        yield running
    finally:
        running.close()
