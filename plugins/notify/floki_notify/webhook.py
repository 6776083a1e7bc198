"""Alerts to a webhook: JSON POSTed with an HMAC-SHA256 signature of the body.

The body carries ``sent_at`` and the same time goes in ``X-Floki-Timestamp``; because the
timestamp is inside what is signed, a receiver that refuses old timestamps refuses
replays (docs/alerts.md shows the check).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import ssl
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
import msgspec

from floki_core.sdk import Alert, Clock, DeliveryRefused
from floki_notify.config import WebhookSettings

log = logging.getLogger("floki.plugin.notify")
SIGNATURE_HEADER = "X-Floki-Signature"
TIMESTAMP_HEADER = "X-Floki-Timestamp"
DELIVERY_HEADER = "X-Floki-Delivery"
# Worth another try: the receiver is busy, restarting or rate-limiting us.
RETRYABLE = frozenset({408, 425, 429})


def signature(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def webhook_secret(settings: WebhookSettings, plugin_dir: Path) -> bytes:
    """The configured secret, or the one generated for this install (made on first use)."""
    if settings.secret is not None:
        return settings.secret.encode()
    path = plugin_dir / f"webhook-{settings.name}.secret"
    try:
        return path.read_text(encoding="ascii").strip().encode()
    except FileNotFoundError:
        pass
    plugin_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(value + "\n")
    log.warning("webhook %s: generated its signing secret in %s", settings.name, path)
    return value.encode()


def alert_link(base_url: str | None, alert: Alert) -> str | None:
    return f"{base_url.rstrip('/')}/api/v1/alerts/{alert.id}" if base_url else None


class WebhookNotifier:
    def __init__(
        self, settings: WebhookSettings, secret: bytes, clock: Clock, base_url: str | None
    ) -> None:
        self.settings = settings
        self.secret = secret
        self.clock = clock
        self.base_url = base_url
        self._ssl: ssl.SSLContext | bool = True
        if settings.ca_file:
            self._ssl = ssl.create_default_context(cafile=settings.ca_file)
        elif not settings.verify_tls:
            self._ssl = False

    def body(self, alerts: Sequence[Alert], delivery: str) -> tuple[bytes, int]:
        now = self.clock.now()
        stamp = int(now.timestamp())
        payload: dict[str, Any] = {
            "type": "floki.alerts",
            "delivery": delivery,
            "sent_at": stamp,
            "alerts": [
                {
                    **msgspec.to_builtins(alert),
                    "event": f"alert.{alert.status}",
                    "link": alert_link(self.base_url, alert),
                }
                for alert in alerts
            ],
        }
        return msgspec.json.encode(payload), stamp

    async def send(self, alerts: Sequence[Alert]) -> None:
        delivery = str(uuid.uuid4())
        body, stamp = self.body(alerts, delivery)
        headers = {
            **self.settings.headers,
            "Content-Type": "application/json",
            "User-Agent": "floki-notify",
            SIGNATURE_HEADER: signature(self.secret, body),
            TIMESTAMP_HEADER: str(stamp),
            DELIVERY_HEADER: delivery,
        }
        timeout = aiohttp.ClientTimeout(total=self.settings.timeout_seconds)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.post(self.settings.url, data=body, headers=headers, ssl=self._ssl) as resp,
        ):
            if resp.status < 300:
                return
            reply = (await resp.text())[:200]
            what = f"{self.settings.url} answered {resp.status}: {reply}"
            if 400 <= resp.status < 500 and resp.status not in RETRYABLE:
                raise DeliveryRefused(what)
            raise RuntimeError(what)
