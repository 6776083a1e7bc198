"""Finding appliances on the local network: a zeroconf browser for ``_floki._tcp``.

Appliances announce their site name, version, API path, whether they speak TLS and their
certificate fingerprint in a TXT record. Anyone on the LAN can announce anything, so the
record is parsed defensively: a malformed or oversized record, or odd bytes in it, never
stops discovery; what cannot be read is left out and said so. The announced fingerprint is
only a hint shown beside the one the appliance presents; trust is the user's decision.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from zeroconf import DNSQuestionType, InterfaceChoice, ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from floki_console.api import API_PATH, Address, normalise_fingerprint

log = logging.getLogger(__name__)

SERVICE_TYPE = "_floki._tcp.local."

MAX_TXT_BYTES = 1300  # one Ethernet frame's worth; Floki's own record is ~200 bytes
MAX_TEXT = 80  # characters kept of a site name or instance name
MAX_VERSION = 40
MAX_APPLIANCES = 200  # a flood of announcements cannot grow the list without bound
_VERSION = re.compile(r"^[0-9A-Za-z.+\-_]{1,40}$")
_API_PATH = re.compile(r"^/[A-Za-z0-9._~/\-]{0,99}$")


@dataclass(frozen=True)
class DiscoveredAppliance:
    """One appliance as announced. ``problems`` says what of the announcement was unusable."""

    name: str
    host: str
    port: int
    site: str = ""
    version: str = ""
    fingerprint: str | None = None
    api_path: str = API_PATH
    tls: bool = True
    problems: tuple[str, ...] = field(default=())
    service: str = ""  # the full DNS-SD name: what identifies it while it is announced

    @property
    def address(self) -> Address:
        return Address(self.host, self.port, tls=self.tls, api_path=self.api_path)


def clean_text(raw: str, limit: int = MAX_TEXT) -> str:
    """Printable text only (no control or bidi-override characters), at most ``limit``."""
    kept = "".join(ch if unicodedata.category(ch)[0] not in ("C",) else " " for ch in raw).strip()
    kept = re.sub(r"\s+", " ", kept)
    return kept if len(kept) <= limit else kept[: limit - 1] + "\u2026"


def split_txt(raw: bytes) -> tuple[dict[str, bytes | None], bool]:
    """RFC 6763 TXT data as ``{key: value}`` (first occurrence wins, keys case-insensitive)
    and whether the data was well formed. A string whose length runs past the end is
    dropped rather than read short."""
    entries: dict[str, bytes | None] = {}
    well_formed = True
    at = 0
    while at < len(raw):
        length = raw[at]
        start, end = at + 1, at + 1 + length
        if end > len(raw):
            well_formed = False
            break
        chunk = raw[start:end]
        at = end
        if not chunk:
            continue
        key_raw, sep, value = chunk.partition(b"=")
        try:
            key = key_raw.decode("ascii").lower()
        except UnicodeDecodeError:
            well_formed = False
            continue
        if not key or not key.isprintable():
            well_formed = False
            continue
        entries.setdefault(key, value if sep else None)
    return entries, well_formed


def parse_announcement(
    instance: str, host: str, port: int, txt: bytes, service: str = ""
) -> DiscoveredAppliance:
    """What the console shows for one announcement, whatever its TXT record holds."""
    problems: list[str] = []
    if len(txt) > MAX_TXT_BYTES:
        problems.append(f"announced details ignored: TXT record of {len(txt)} bytes is too large")
        entries: dict[str, bytes | None] = {}
    else:
        entries, well_formed = split_txt(txt)
        if not well_formed:
            problems.append("part of the TXT record was malformed and was ignored")

    def text(key: str) -> str:
        value = entries.get(key)
        return value.decode("utf-8", errors="replace") if value else ""

    site = clean_text(text("site"))
    version = text("version").strip()
    if version and not _VERSION.match(version):
        problems.append("announced version unreadable")
        version = clean_text(version, MAX_VERSION)
    fingerprint: str | None = None
    if text("fp"):
        fingerprint = normalise_fingerprint(text("fp"))
        if fingerprint is None:
            problems.append("announced fingerprint is not a SHA-256 fingerprint")
    api_path = text("api").strip() or API_PATH
    if not _API_PATH.match(api_path):
        problems.append("announced API path ignored")
        api_path = API_PATH
    tls = text("tls").strip() != "0"
    return DiscoveredAppliance(
        name=clean_text(instance) or host,
        host=host,
        port=port,
        site=site,
        version=version,
        fingerprint=fingerprint,
        api_path=api_path,
        tls=tls,
        problems=tuple(problems),
        service=service or instance,
    )


def _from_info(info: AsyncServiceInfo) -> DiscoveredAppliance | None:
    addresses = info.parsed_scoped_addresses()
    if not addresses or not info.port:
        return None
    # IPv4 first: a link-local IPv6 address needs a scope that URLs carry badly.
    host = sorted(addresses, key=lambda a: ":" in a)[0]
    instance = info.name.removesuffix("." + SERVICE_TYPE)
    return parse_announcement(
        instance, host, int(info.port), bytes(info.text or b""), service=info.name
    )


Found = Callable[[DiscoveredAppliance], None]
Lost = Callable[[str], None]


class ApplianceBrowser:
    """Browses until stopped; calls ``on_found`` for each appliance announced or changed
    (keyed by ``service``) and ``on_lost`` with that key when one says goodbye. Callbacks
    run on the event loop."""

    def __init__(
        self,
        on_found: Found,
        on_lost: Lost,
        *,
        interfaces: list[str] | None = None,
        resolve_timeout: float = 3.0,
    ) -> None:
        self._on_found = on_found
        self._on_lost = on_lost
        self._interfaces = list(interfaces) if interfaces else None
        self._resolve_ms = resolve_timeout * 1000
        self._zc: AsyncZeroconf | None = None
        self._browser: AsyncServiceBrowser | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._known: set[str] = set()
        self.error: str | None = None

    @property
    def running(self) -> bool:
        return self._zc is not None

    async def start(self) -> None:
        if self._zc is not None:
            return
        try:
            self._zc = AsyncZeroconf(interfaces=self._interfaces or InterfaceChoice.All)
        except (OSError, RuntimeError) as exc:
            # No usable network: say so and let the user type an address instead.
            self.error = f"Cannot search the network: {exc}"
            log.warning("%s", self.error)
            return
        self.error = None
        self._browser = AsyncServiceBrowser(
            self._zc.zeroconf,
            SERVICE_TYPE,
            handlers=[self._on_change],
            question_type=DNSQuestionType.QM,
        )

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        browser, zc = self._browser, self._zc
        self._browser = self._zc = None
        if browser is not None:
            with contextlib.suppress(Exception):
                await browser.async_cancel()
        if zc is not None:
            with contextlib.suppress(Exception):
                await zc.async_close()

    def _on_change(
        self,
        zeroconf: Zeroconf,
        service_type: str,
        name: str,
        state_change: ServiceStateChange,
    ) -> None:
        try:
            if state_change is ServiceStateChange.Removed:
                if name in self._known:
                    self._known.discard(name)
                    self._on_lost(name)
                return
            if name not in self._known and len(self._known) >= MAX_APPLIANCES:
                return
            task = asyncio.get_running_loop().create_task(self._resolve(zeroconf, name))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        except Exception:
            log.exception("ignoring a discovery event for %r", name)

    async def _resolve(self, zeroconf: Zeroconf, name: str) -> None:
        try:
            info = AsyncServiceInfo(SERVICE_TYPE, name)
            if not await info.async_request(zeroconf, self._resolve_ms, DNSQuestionType.QM):
                return
            appliance = _from_info(info)
        except asyncio.CancelledError:
            raise
        except Exception:
            # Whatever a stranger announces, the browser carries on.
            log.exception("ignoring an unreadable announcement %r", name)
            return
        if appliance is None:
            return
        self._known.add(name)
        try:
            self._on_found(appliance)
        except Exception:
            log.exception("a discovery listener failed")
