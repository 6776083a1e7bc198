"""Alerts by email, received by a real SMTP server (aiosmtpd) on a loopback port."""

from __future__ import annotations

from typing import Any

import pytest

from floki_core.config import AppConfig, parse_config
from floki_core.testing import Floki
from tests.core.location.register_builder import get_json
from tests.core.workflow.test_alerts import listed, put_at, ward_world
from tests.fixtures.smtp import SMTP_PASSWORD, SMTP_USER, SmtpServer

DWELL = 60.0
RULE = {
    "name": "Ward 7 kit stays home",
    "type": "geofence_exit",
    "params": {"dwell_seconds": DWELL},
}


def mail_config(email: dict[str, Any], **alerts: Any) -> AppConfig:
    return parse_config(
        {
            "discovery": {"enabled": False},
            "server": {"tls": False, "public_url": "https://floki.ward7.test:8443"},
            "workflow": {
                "alerts": {
                    "sweep_seconds": 3600,
                    "settle_seconds": 60,
                    "delivery": {"attempts": 2, "first_retry_seconds": 0},
                    **alerts,
                }
            },
            "plugin": {
                "notify": {
                    "emails": [
                        {
                            "from_address": "floki@ward7.test",
                            "to": ["ce-oncall@trust.test", "ward7-manager@trust.test"],
                            **email,
                        }
                    ]
                }
            },
        }
    )


@pytest.fixture
def mail_server(request: pytest.FixtureRequest) -> SmtpServer:
    """Plain SMTP, or with parametrize(..., ["starttls"], indirect=True) STARTTLS + AUTH."""
    kind = getattr(request, "param", "plain")
    server = request.getfixturevalue(
        "smtp_server_starttls" if kind == "starttls" else "smtp_server"
    )
    assert isinstance(server, SmtpServer)
    return server


@pytest.fixture
def floki_config(mail_server: SmtpServer) -> AppConfig:
    where = {"host": mail_server.host, "port": mail_server.port}
    if mail_server.cert_path is None:
        # The route, not the rule, sends it: every warning or worse goes to the CE inbox,
        # raised and resolved.
        return mail_config(
            {**where, "security": "none"},
            rules=[RULE],
            routes=[
                {"notifier": "email", "min_severity": "warning", "events": ["raised", "resolved"]}
            ],
        )
    return mail_config(
        {
            **where,
            "security": "starttls",
            "username": SMTP_USER,
            "password": SMTP_PASSWORD,
            "ca_file": str(mail_server.cert_path),
        },
        rules=[{**RULE, "notify": ["email"]}],
    )


async def away_and_back(floki: Floki) -> dict[str, Any]:
    reg = await ward_world(floki)
    await put_at(floki, reg, "PUMP-001", "qr-2d")
    floki.clock.advance(DWELL + 1)
    await floki.core.workflow.alerts.evaluate()
    [alert] = await listed(floki, status="open")
    await floki.core.workflow.alerts.outbox.join()
    await put_at(floki, reg, "PUMP-001", "qr-7a")
    await floki.core.workflow.alerts.evaluate()
    await floki.core.workflow.alerts.outbox.join()
    return alert


async def test_an_email_arrives_for_the_alert_and_for_its_resolution(
    floki: Floki, mail_server: SmtpServer
) -> None:
    alert = await away_and_back(floki)
    raised, resolved = mail_server.messages
    assert raised["Subject"] == f"[Floki] Alert (warning): {alert['title']}"
    assert raised["From"] == "floki@ward7.test"
    assert raised["To"] == "ce-oncall@trust.test, ward7-manager@trust.test"
    assert mail_server.recipients[0] == ["ce-oncall@trust.test", "ward7-manager@trust.test"]
    body = raised.get_content()
    assert alert["title"] in body
    assert "Room 2D" in body and "Ward 7" in body
    assert f"https://floki.ward7.test:8443/api/v1/alerts/{alert['id']}" in body
    assert raised.get_content_type() == "text/plain"

    assert resolved["Subject"].startswith("[Floki] Resolved (warning): ")
    assert "condition cleared" in resolved.get_content()

    [delivered, *_] = (await get_json(floki, f"/alerts/{alert['id']}"))["deliveries"]
    assert (delivered["notifier"], delivered["outcome"]) == ("email", "delivered")


@pytest.mark.parametrize(
    ("floki_config", "attempted"),
    [
        (
            mail_config(
                {"host": "127.0.0.1", "port": 1, "security": "none"},
                rules=[RULE],
                routes=[{"notifier": "email", "min_severity": severity}],
            ),
            attempted,
        )
        for severity, attempted in (("critical", False), ("warning", True))
    ],
)
async def test_a_route_only_sends_alerts_at_its_severity(floki: Floki, attempted: bool) -> None:
    alert = await away_and_back(floki)
    # This alert is a warning: a route wanting critical ones attempts nothing, a route
    # taking warnings tries (and, with no mail server on port 1, records the failure).
    deliveries = (await get_json(floki, f"/alerts/{alert['id']}"))["deliveries"]
    assert [d["notifier"] for d in deliveries][:1] == (["email"] if attempted else [])


@pytest.mark.parametrize("mail_server", ["starttls"], indirect=True)
async def test_starttls_then_login_then_the_message(floki: Floki, mail_server: SmtpServer) -> None:
    alert = await away_and_back(floki)
    assert mail_server.logins == [SMTP_USER]
    [message] = mail_server.messages  # the rule names email for raised alerts only
    assert message["Subject"] == f"[Floki] Alert (warning): {alert['title']}"


@pytest.mark.parametrize(
    "floki_config",
    [
        mail_config(
            {"host": "127.0.0.1", "port": 9, "security": "starttls"},
            rules=[{**RULE, "notify": ["email"]}],
        )
    ],
)
async def test_a_mail_server_that_cannot_be_reached_is_recorded_as_failed(floki: Floki) -> None:
    alert = await away_and_back(floki)
    [delivery] = (await get_json(floki, f"/alerts/{alert['id']}"))["deliveries"]
    assert (delivery["outcome"], delivery["attempts"]) == ("failed", 2)
    assert delivery["error"]
