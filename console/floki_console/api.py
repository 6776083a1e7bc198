"""Talking to one appliance: HTTPS pinned to a certificate fingerprint, and its live events.

Everything the console knows about an appliance comes through here, over the public
``/api/v1`` API and the ``/api/v1/events`` WebSocket, as a third party's client would.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import random
import re
import ssl
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import msgspec

DEFAULT_PORT = 8443
API_PATH = "/api/v1"
PAGE_SIZE = 500  # the API's largest page
UPLOAD_CHUNK = 64 * 1024

_FINGERPRINT = re.compile(r"^(?:[0-9A-F]{2}:){31}[0-9A-F]{2}$")
_HOST = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")


class ConsoleError(Exception):
    """Something the user is told about in words; ``str()`` is those words."""


class AddressError(ConsoleError):
    """What was typed is not an appliance address."""


class ApplianceUnreachable(ConsoleError):
    """No answer: the appliance is off, the network is down, or the address is wrong."""


class CertificateMismatch(ConsoleError):
    """The appliance presented a certificate other than the one pinned for it."""

    def __init__(self, address: Address, expected: str, presented: str) -> None:
        self.address = address
        self.expected = expected
        self.presented = presented
        super().__init__(
            f"Refused to connect to {address}: its certificate has changed since you trusted "
            f"it.\nTrusted:   {expected}\nPresented: {presented}\n"
            "Someone may be intercepting the connection, or the appliance's certificate "
            "was replaced. Check the fingerprint with whoever runs the appliance before "
            "trusting it again."
        )


class ApiError(ConsoleError):
    """The appliance answered with an error status; ``reason`` is what it said."""

    def __init__(self, status: int, reason: str) -> None:
        self.status = status
        self.reason = reason
        super().__init__(f"{reason} (HTTP {status})")


class Unauthorized(ApiError):
    """The token is missing, expired or revoked, or the password was wrong."""


# --- addresses and fingerprints -----------------------------------------------------------


@dataclass(frozen=True)
class Address:
    """Where an appliance answers: ``https://host:port`` plus the API's path."""

    host: str
    port: int = DEFAULT_PORT
    tls: bool = True
    api_path: str = API_PATH

    @property
    def key(self) -> str:
        """How pins and stored tokens are filed: ``host:port``."""
        return f"{self._host_for_url}:{self.port}"

    @property
    def _host_for_url(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host

    @property
    def origin(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self._host_for_url}:{self.port}"

    @property
    def api_url(self) -> str:
        return self.origin + self.api_path

    def __str__(self) -> str:
        return self.key if self.tls else f"http://{self.key}"

    @classmethod
    def parse(cls, text: str) -> Address:
        """``host``, ``host:port``, ``[v6]:port`` or a URL; HTTPS on 8443 unless it says."""
        raw = text.strip()
        if not raw:
            raise AddressError("Type the appliance's address, e.g. floki.local:8443")
        if "://" not in raw:
            raw = "https://" + raw
        try:
            parts = urlsplit(raw)
            port = parts.port
        except ValueError as exc:
            raise AddressError(f"{text.strip()!r} is not an address: {exc}") from None
        if parts.scheme not in ("https", "http"):
            raise AddressError(f"{parts.scheme}:// is not supported; use https://")
        host = parts.hostname or ""
        if not _valid_host(host):
            raise AddressError(f"{text.strip()!r} is not a host name or IP address")
        path = parts.path.rstrip("/")
        api_path = path if path.endswith(API_PATH) else API_PATH
        return cls(
            host=host,
            port=port or DEFAULT_PORT,
            tls=parts.scheme == "https",
            api_path=api_path,
        )


def _valid_host(host: str) -> bool:
    if not host:
        return False
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return bool(_HOST.match(host))
    return True


def fingerprint_of(der: bytes) -> str:
    """SHA-256 of a DER certificate as colon-separated upper-case hex, as the appliance
    prints it (``floki-core serve``) and announces it."""
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def normalise_fingerprint(text: str) -> str | None:
    """The canonical form of a SHA-256 fingerprint typed or announced any usual way."""
    hexed = re.sub(r"[\s:-]", "", text).upper()
    if len(hexed) != 64 or not re.fullmatch(r"[0-9A-F]{64}", hexed):
        return None
    return ":".join(hexed[i : i + 2] for i in range(0, 64, 2))


def is_fingerprint(text: str) -> bool:
    return bool(_FINGERPRINT.match(text))


def _unverified_context() -> ssl.SSLContext:
    # The appliance's certificate is self-signed: trust comes from the pinned fingerprint,
    # which every connection checks, not from a certificate authority.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


async def presented_fingerprint(address: Address, timeout: float = 10.0) -> str:
    """The fingerprint of the certificate the appliance presents, before trusting it."""
    if not address.tls:
        raise ConsoleError(f"{address} does not use TLS, so it has no certificate to check")
    try:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(
                address.host, address.port, ssl=_unverified_context(), server_hostname=None
            )
    except (OSError, TimeoutError, ssl.SSLError) as exc:
        raise ApplianceUnreachable(_unreachable(address, exc)) from None
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()
    if not der:
        raise ConsoleError(f"{address} presented no certificate")
    return fingerprint_of(der)


def _unreachable(address: Address, exc: BaseException) -> str:
    detail = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    if isinstance(exc, TimeoutError):
        detail = "no answer in time"
    return f"{address} is not answering: {detail}"


# --- reconnecting ------------------------------------------------------------------------


@dataclass
class Backoff:
    """Delays between reconnection attempts: doubling from ``initial`` up to ``maximum``,
    with jitter so that many consoles do not knock on a restarted appliance at once."""

    initial: float = 1.0
    maximum: float = 30.0
    jitter: float = 0.2
    attempts: int = 0
    _rng: random.Random = field(default_factory=random.Random, repr=False)

    def next(self) -> float:
        base = min(self.initial * 2.0**self.attempts, self.maximum)
        self.attempts += 1
        return float(base * (1 + self.jitter * (2 * self._rng.random() - 1)))

    def reset(self) -> None:
        self.attempts = 0


# --- the client --------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginResult:
    token: str
    expires_at: str
    user: dict[str, Any]


_decode = msgspec.json.Decoder()


class ApplianceClient:
    """One appliance's API, pinned to ``fingerprint`` (``None`` only for plain HTTP)."""

    def __init__(
        self,
        address: Address,
        fingerprint: str | None,
        *,
        token: str | None = None,
        timeout: float = 15.0,
    ) -> None:
        if address.tls and (fingerprint is None or not is_fingerprint(fingerprint)):
            raise ValueError("an HTTPS appliance needs a pinned SHA-256 fingerprint")
        self.address = address
        self.fingerprint = fingerprint
        self.token = token
        self._timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=min(timeout, 5.0))
        self._session: aiohttp.ClientSession | None = None

    def _ssl(self) -> aiohttp.Fingerprint | bool:
        if not self.address.tls or self.fingerprint is None:
            return False
        return aiohttp.Fingerprint(bytes.fromhex(self.fingerprint.replace(":", "")))

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=self._ssl(), limit=8),
                timeout=self._timeout,
            )
        return self._session

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def _url(self, path: str) -> str:
        return self.address.api_url + path

    def _mismatch(self, exc: aiohttp.ServerFingerprintMismatch) -> CertificateMismatch:
        return CertificateMismatch(
            self.address, self.fingerprint or "", fingerprint_of_digest(exc.got)
        )

    @contextlib.asynccontextmanager
    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        try:
            async with self.session.request(
                method,
                self._url(path),
                params=params,
                json=json_body,
                data=data,
                headers={**self._headers(), **(headers or {})},
            ) as response:
                if response.status >= 400:
                    raise await _error(response)
                yield response
        except aiohttp.ServerFingerprintMismatch as exc:
            raise self._mismatch(exc) from None
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, TimeoutError) as exc:
            raise ApplianceUnreachable(_unreachable(self.address, exc)) from None

    async def request_json(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
    ) -> Any:
        async with self._request(method, path, params=params, json_body=json_body) as response:
            if response.status == 204:
                return None
            raw = await response.read()
        return _decode.decode(raw) if raw else None

    async def get_json(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        return await self.request_json("GET", path, params=params)

    async def post_json(self, path: str, body: Any = None) -> Any:
        return await self.request_json("POST", path, json_body=body if body is not None else {})

    async def get_bytes(self, path: str, params: Mapping[str, str] | None = None) -> bytes:
        async with self._request("GET", path, params=params) as response:
            return await response.read()

    async def send_bytes(
        self,
        method: str,
        path: str,
        body: bytes,
        content_type: str,
        *,
        params: Mapping[str, str] | None = None,
        progress: Callable[[int, int], None] | None = None,
        chunk_size: int = UPLOAD_CHUNK,
    ) -> Any:
        """Send ``body`` as it is (a CSV, an image); ``progress(sent, total)`` follows the
        bytes handed to the connection. The answer is decoded JSON (``None`` if empty)."""
        total = len(body)

        async def chunks() -> AsyncIterator[bytes]:
            sent = 0
            if progress is not None:
                progress(0, total)
            while sent < total:
                piece = body[sent : sent + chunk_size]
                yield piece
                sent += len(piece)
                if progress is not None:
                    progress(sent, total)

        async with self._request(
            method,
            path,
            params=params,
            data=chunks(),
            headers={"Content-Type": content_type, "Content-Length": str(total)},
        ) as response:
            if response.status == 204:
                return None
            raw = await response.read()
        return _decode.decode(raw) if raw else None

    async def get_all(self, path: str, params: Mapping[str, str] | None = None) -> list[Any]:
        """Every item of a paged list, page by page."""
        items: list[Any] = []
        offset = 0
        while True:
            page = await self.get_json(
                path, {**(params or {}), "limit": str(PAGE_SIZE), "offset": str(offset)}
            )
            batch = list(page.get("items", []))
            items.extend(batch)
            offset += len(batch)
            total = page.get("total")
            if not batch or total is None or offset >= int(total):
                return items

    async def health(self) -> dict[str, Any]:
        answer = await self.get_json("/health")
        return dict(answer) if isinstance(answer, dict) else {}

    async def login(self, username: str, password: str) -> LoginResult:
        answer = await self.request_json(
            "POST", "/auth/login", json_body={"username": username, "password": password}
        )
        result = LoginResult(
            token=str(answer["token"]),
            expires_at=str(answer.get("expires_at", "")),
            user=dict(answer.get("user") or {}),
        )
        self.token = result.token
        return result

    async def me(self) -> dict[str, Any]:
        answer = await self.get_json("/auth/me")
        return dict(answer) if isinstance(answer, dict) else {}

    async def logout(self) -> None:
        """Revoke the token in use on the appliance, then forget it."""
        if self.token is None:
            return
        try:
            await self.request_json("POST", "/auth/logout")
        finally:
            self.token = None

    @contextlib.asynccontextmanager
    async def events(self, heartbeat: float = 10.0) -> AsyncIterator[EventStream]:
        """The live event WebSocket, open; iterate it for batches of events."""
        try:
            ws = await self.session.ws_connect(
                self._url("/events"), headers=self._headers(), heartbeat=heartbeat
            )
        except aiohttp.ServerFingerprintMismatch as exc:
            raise self._mismatch(exc) from None
        except aiohttp.WSServerHandshakeError as exc:
            if exc.status == 401:
                raise Unauthorized(401, "the session has ended; log in again") from None
            raise ApiError(exc.status, exc.message) from None
        except (aiohttp.ClientConnectionError, TimeoutError) as exc:
            raise ApplianceUnreachable(_unreachable(self.address, exc)) from None
        try:
            yield EventStream(ws, self.address)
        finally:
            await ws.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class EventStream:
    """Batches of events (each a dict with ``type``, ``at``, ``entity``, ``entity_id``,
    ``data``) as the appliance sends them; ends with :class:`ApplianceUnreachable`."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, address: Address) -> None:
        self._ws = ws
        self._address = address

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> list[dict[str, Any]]:
        while True:
            message = await self._ws.receive()
            if message.type is aiohttp.WSMsgType.TEXT:
                try:
                    batch = _decode.decode(message.data)
                except msgspec.DecodeError:
                    continue
                if isinstance(batch, list):
                    return [event for event in batch if isinstance(event, dict)]
                continue
            if message.type in (
                aiohttp.WSMsgType.CLOSE,
                aiohttp.WSMsgType.CLOSING,
                aiohttp.WSMsgType.CLOSED,
            ):
                code = message.data if message.type is aiohttp.WSMsgType.CLOSE else None
                code = code or self._ws.close_code
                said = "the appliance is shutting down" if code == 1001 else "connection closed"
                raise ApplianceUnreachable(f"{self._address} went away ({said})")
            if message.type is aiohttp.WSMsgType.ERROR:
                raise ApplianceUnreachable(
                    _unreachable(self._address, self._ws.exception() or ConnectionError())
                )


def fingerprint_of_digest(digest: bytes) -> str:
    hexed = digest.hex().upper()
    return ":".join(hexed[i : i + 2] for i in range(0, len(hexed), 2))


async def _error(response: aiohttp.ClientResponse) -> ApiError:
    reason = response.reason or "error"
    with contextlib.suppress(Exception):
        body = _decode.decode(await response.read())
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            reason = body["error"]
    if response.status == 401:
        return Unauthorized(401, reason)
    return ApiError(response.status, reason)
