"""``floki-core serve``: the core, the API over HTTPS and the LAN announcement."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from floki_core import __version__
from floki_core.api.app import core_route_keys, create_app
from floki_core.config import AppConfig, load_config
from floki_core.core import Core
from floki_core.discovery import ApplianceAdvertiser
from floki_core.errors import FlokiError
from floki_core.security import tls

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServingInfo:
    url: str
    fingerprint: str | None
    port: int


def tls_paths(data_dir: Path, config: AppConfig) -> tuple[Path, Path]:
    server = config.server
    if server.tls_cert or server.tls_key:
        if not (server.tls_cert and server.tls_key):
            raise FlokiError("server.tls_cert and server.tls_key must be set together")
        return Path(server.tls_cert), Path(server.tls_key)
    cert, key = data_dir / tls.CERT_FILE, data_dir / tls.KEY_FILE
    if not cert.exists():
        raise FlokiError(f"no certificate at {cert}; run 'floki-core init' first")
    return cert, key


def _ssl(data_dir: Path, config: AppConfig) -> tuple[ssl.SSLContext | None, str | None]:
    if not config.server.tls:
        return None, None
    cert, key = tls_paths(data_dir, config)
    return tls.server_context(cert, key), tls.fingerprint(cert)


def run(
    data_dir: Path,
    *,
    host: str | None = None,
    port: int | None = None,
    on_ready: Callable[[ServingInfo], None] | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM on the event loop ``[server] event_loop`` names."""
    event_loop = load_config(data_dir).server.event_loop
    main = serve(data_dir, host=host, port=port, on_ready=on_ready)
    if event_loop == "uvloop":
        import uvloop

        uvloop.run(main)
    else:
        asyncio.run(main)


async def serve(
    data_dir: Path,
    *,
    host: str | None = None,
    port: int | None = None,
    on_ready: Callable[[ServingInfo], None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Run until SIGINT/SIGTERM (or ``stop`` is set)."""
    config = load_config(data_dir)
    host = host or config.server.host
    port = config.server.port if port is None else port
    ssl_context, fingerprint = _ssl(data_dir, config)
    core = Core(data_dir, config, reserved_routes=core_route_keys())
    await core.start()
    runner = web.AppRunner(create_app(core), access_log=None)
    await runner.setup()
    advertiser: ApplianceAdvertiser | None = None
    previous_thresholds: tuple[int, int, int] | None = None
    try:
        site = web.TCPSite(runner, host, port, ssl_context=ssl_context)
        try:
            await site.start()
        except OSError as exc:
            raise FlokiError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
        bound = _bound_port(site) or port
        scheme = "https" if ssl_context else "http"
        shown_host = "localhost" if host in ("0.0.0.0", "::", "127.0.0.1") else host
        info = ServingInfo(f"{scheme}://{shown_host}:{bound}", fingerprint, bound)
        if config.discovery.enabled:
            advertiser = ApplianceAdvertiser(
                instance_name=config.discovery.name or config.site.name,
                port=bound,
                version=__version__,
                site=config.site.name,
                fingerprint=fingerprint,
                tls=ssl_context is not None,
                interfaces=config.discovery.interfaces or None,
            )
            try:
                await advertiser.start()
            except FlokiError as exc:
                log.warning("%s; the console can still connect by address", exc)
                advertiser = None
        previous_thresholds = tune_garbage_collector()
        if on_ready:
            on_ready(info)
        await _wait_for_stop(stop)
    finally:
        if advertiser is not None:
            await advertiser.stop()
        await runner.cleanup()
        await core.stop()
        if previous_thresholds is not None:  # an in-process serve (tests) gives it all back
            gc.unfreeze()
            gc.set_threshold(*previous_thresholds)


def tune_garbage_collector() -> tuple[int, int, int]:
    """Set the collector for a long-running appliance, once it has started.

    What start-up built (the register index, the zone geometry, the imported modules) is
    kept for the appliance's life: frozen, the cycle collector no longer walks it on
    every full collection. The hot paths allocate short-lived objects by the hundred
    thousand a second (observations, fixes, evidence), so the youngest generation is
    collected after 50,000 net allocations rather than 700: cycles among them are rare
    and live a little longer; the ingest benchmarks spend ~15 % less CPU per
    observation (docs/performance.md). Returns the thresholds it replaced."""
    previous = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    return previous


def _bound_port(site: web.TCPSite) -> int | None:
    server = site._server
    sockets: list[socket.socket] = list(getattr(server, "sockets", None) or [])
    return int(sockets[0].getsockname()[1]) if sockets else None


async def _wait_for_stop(stop: asyncio.Event | None) -> None:
    event = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, event.set)
    await event.wait()
