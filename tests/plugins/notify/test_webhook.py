"""Alerts POSTed to a real webhook receiver: signed, retried with backoff, recorded."""

from __future__ import annotations

import hashlib
import hmac
import json
import stat
from typing import Any

import pytest

from floki_core.config import AppConfig, parse_config
from floki_core.testing import Floki
from tests.core.location.register_builder import Register, get_json
from tests.core.workflow.test_alerts import listed, put_at, ward_world
from tests.plugins.notify.conftest import WebhookReceiver

SECRET = "a-secret-shared-with-the-cmms-0042"
DWELL = 60.0


def notify_config(
    receiver: WebhookReceiver, *, secret: str | None = SECRET, attempts: int = 3, **rule: Any
) -> AppConfig:
    webhook: dict[str, Any] = {"name": "cmms", "url": receiver.url}
    if secret is not None:
        webhook["secret"] = secret
    return parse_config(
        {
            "discovery": {"enabled": False},
            "server": {"tls": False, "public_url": "https://floki.ward7.test:8443"},
            "workflow": {
                "alerts": {
                    "sweep_seconds": 3600,
                    "settle_seconds": 60,
                    "notify_events": ["raised", "resolved"],
                    "rules": [
                        {
                            "name": "Ward 7 kit stays home",
                            "type": "geofence_exit",
                            "params": {"dwell_seconds": DWELL},
                            "notify": ["cmms"],
                            **rule,
                        }
                    ],
                    # No real waiting between attempts in tests; the doubling still runs.
                    "delivery": {"attempts": attempts, "first_retry_seconds": 0},
                }
            },
            "plugin": {"notify": {"webhooks": [webhook]}},
        }
    )


@pytest.fixture
def floki_config(request: pytest.FixtureRequest, webhook_receiver: WebhookReceiver) -> AppConfig:
    # parametrize(..., [None], indirect=True): no secret in the file
    return notify_config(webhook_receiver, secret=getattr(request, "param", SECRET))


async def raise_alert(floki: Floki) -> tuple[Register, dict[str, Any]]:
    reg = await ward_world(floki)
    await put_at(floki, reg, "PUMP-001", "qr-2d")
    floki.clock.advance(DWELL + 1)
    await floki.core.workflow.alerts.evaluate()
    [alert] = await listed(floki, status="open")
    await floki.core.workflow.alerts.outbox.join()
    return reg, alert


def verified(secret: bytes, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """What a receiver does (docs/alerts.md): check the signature, then the timestamp."""
    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Floki-Signature"], expected)
    payload = json.loads(body)
    assert isinstance(payload, dict)
    assert str(payload["sent_at"]) == headers["X-Floki-Timestamp"]
    return payload


async def test_an_alert_arrives_signed_and_a_500_is_retried(
    floki: Floki, webhook_receiver: WebhookReceiver
) -> None:
    webhook_receiver.statuses = [500]
    _, alert = await raise_alert(floki)

    assert len(webhook_receiver.requests) == 2, "one failure, one retry"
    first, second = webhook_receiver.requests
    for headers, body in (first, second):
        payload = verified(SECRET.encode(), headers, body)
        assert headers["Content-Type"] == "application/json"
        [sent] = payload["alerts"]
        assert sent["id"] == alert["id"] and sent["event"] == "alert.raised"
        assert sent["title"] == alert["title"]
        assert sent["link"] == f"https://floki.ward7.test:8443/api/v1/alerts/{alert['id']}"
        assert payload["sent_at"] == int(floki.clock.now().timestamp())
    # Each attempt is its own delivery id; the alert is the same.
    assert first[0]["X-Floki-Delivery"] != second[0]["X-Floki-Delivery"]

    detail = await get_json(floki, f"/alerts/{alert['id']}")
    [delivery] = detail["deliveries"]
    assert (delivery["notifier"], delivery["change"], delivery["outcome"]) == (
        "cmms",
        "raised",
        "delivered",
    )
    assert (delivery["attempts"], delivery["error"]) == (2, "")


async def test_a_tampered_body_fails_verification(
    floki: Floki, webhook_receiver: WebhookReceiver
) -> None:
    await raise_alert(floki)
    [(headers, body)] = webhook_receiver.requests
    verified(SECRET.encode(), headers, body)  # what Floki signed checks out ...
    forged = body.replace(b"PUMP-001", b"PUMP-999")
    assert forged != body
    with pytest.raises(AssertionError):
        verified(SECRET.encode(), headers, forged)
    with pytest.raises(AssertionError):
        verified(b"another-install-secret", headers, body)


async def test_resolution_is_sent_too_when_the_rule_asks(
    floki: Floki, webhook_receiver: WebhookReceiver
) -> None:
    reg, alert = await raise_alert(floki)
    await put_at(floki, reg, "PUMP-001", "qr-7a")
    await floki.core.workflow.alerts.evaluate()
    await floki.core.workflow.alerts.outbox.join()
    events = [
        (a["event"], a["asset_id"])
        for _, body in webhook_receiver.requests
        for a in json.loads(body)["alerts"]
    ]
    pump = alert["asset_id"]
    assert events == [("alert.raised", pump), ("alert.resolved", pump)]


@pytest.mark.parametrize(
    ("statuses", "outcome", "attempts", "requests"),
    [
        ([500, 502, 503], "failed", 3, 3),  # gave up after the configured attempts
        ([400], "failed", 1, 1),  # refused: retrying cannot help
        ([429, 200], "delivered", 2, 2),  # rate-limited: worth another try
    ],
)
async def test_retries_give_up_and_are_recorded(
    floki: Floki,
    webhook_receiver: WebhookReceiver,
    statuses: list[int],
    outcome: str,
    attempts: int,
    requests: int,
) -> None:
    webhook_receiver.statuses = list(statuses)
    _, alert = await raise_alert(floki)
    assert len(webhook_receiver.requests) == requests
    [delivery] = (await get_json(floki, f"/alerts/{alert['id']}"))["deliveries"]
    assert (delivery["outcome"], delivery["attempts"]) == (outcome, attempts)
    if outcome == "failed":
        assert str(statuses[-1]) in delivery["error"]
    # A failed delivery never touches the alert itself.
    assert (await get_json(floki, f"/alerts/{alert['id']}"))["status"] == "raised"


@pytest.mark.parametrize("floki_config", [None], indirect=True)
async def test_without_a_configured_secret_one_is_generated_and_kept_private(
    floki: Floki, webhook_receiver: WebhookReceiver
) -> None:
    path = floki.core.data_dir / "plugins" / "notify" / "webhook-cmms.secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    secret = path.read_text().strip()
    assert len(secret) == 64
    await raise_alert(floki)
    [(headers, body)] = webhook_receiver.requests
    verified(secret.encode(), headers, body)
