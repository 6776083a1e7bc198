"""Alerts by email: one plain-text message per alert, all of a batch over one connection."""

from __future__ import annotations

import datetime as dt
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import aiosmtplib

from floki_core.sdk import Alert, Clock, DeliveryRefused
from floki_notify.config import EmailSettings
from floki_notify.webhook import alert_link

_HEADLINE = {"raised": "Alert", "acknowledged": "Acknowledged", "resolved": "Resolved"}


def _when(at: dt.datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else ""


def message_text(alert: Alert, link: str | None) -> str:
    lines = [alert.title, ""]
    facts = [
        ("Status", alert.status),
        ("Severity", alert.severity),
        ("Rule", f"{alert.rule_name} ({alert.rule_type})"),
        ("Raised", _when(alert.raised_at)),
    ]
    if alert.occurrences > 1:
        facts.append(("Occurrences", str(alert.occurrences)))
    if alert.acknowledged_at:
        facts.append(("Acknowledged", f"{_when(alert.acknowledged_at)} by {alert.acknowledged_by}"))
    if alert.resolved_at:
        facts.append(("Resolved", f"{_when(alert.resolved_at)} by {alert.resolved_by}"))
        facts.append(("Resolution", alert.resolution))
    lines += [f"{label + ':':<14}{value}" for label, value in facts]
    if alert.detail:
        lines += ["", "Details:"]
        lines += [f"  {key}: {value}" for key, value in alert.detail.items()]
    if link:
        lines += ["", f"Alert {alert.id}: {link}"]
    lines += ["", "-- ", "Sent by Floki, the equipment tracking appliance."]
    return "\n".join(lines) + "\n"


class EmailNotifier:
    def __init__(self, settings: EmailSettings, clock: Clock, base_url: str | None) -> None:
        self.settings = settings
        self.clock = clock
        self.base_url = base_url
        self._tls: ssl.SSLContext | None = None
        if settings.security != "none":
            self._tls = ssl.create_default_context(cafile=settings.ca_file)
            if not settings.verify_tls:
                self._tls.check_hostname = False
                self._tls.verify_mode = ssl.CERT_NONE

    def message(self, alert: Alert) -> EmailMessage:
        settings = self.settings
        message = EmailMessage()
        headline = _HEADLINE.get(alert.status, alert.status)
        subject = f"{settings.subject_prefix} {headline} ({alert.severity}): {alert.title}"
        message["Subject"] = subject.strip()[:250]
        message["From"] = settings.from_address
        message["To"] = ", ".join(settings.to)
        message["Date"] = format_datetime(self.clock.now())
        message["Message-ID"] = make_msgid(domain=settings.from_address.rsplit("@", 1)[1])
        message["X-Floki-Alert"] = str(alert.id)
        message.set_content(message_text(alert, alert_link(self.base_url, alert)))
        return message

    async def send(self, alerts: Sequence[Alert]) -> None:
        settings = self.settings
        client = aiosmtplib.SMTP(
            hostname=settings.host,
            port=settings.effective_port,
            username=settings.username,
            password=settings.password,
            use_tls=settings.security == "tls",
            start_tls=settings.security == "starttls",
            tls_context=self._tls,
            timeout=settings.timeout_seconds,
        )
        async with client:
            for alert in alerts:
                try:
                    await client.send_message(self.message(alert))
                except aiosmtplib.SMTPRecipientsRefused as exc:
                    raise DeliveryRefused(f"recipients refused: {exc}") from None
