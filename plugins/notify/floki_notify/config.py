"""Settings of ``[plugin.notify]``: any number of webhooks and mail routes, each a notifier
that alert rules and ``[[workflow.alerts.routes]]`` name."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

# Also the file name of a generated webhook secret, so no path characters.
NotifierName = Annotated[str, Meta(pattern=r"^[a-z][a-z0-9_-]{0,63}$")]
Url = Annotated[str, Meta(pattern=r"^https?://[^\s]+$", max_length=2000)]
Address = Annotated[str, Meta(pattern=r"^[^@\s<>]+@[^@\s<>]+$", max_length=320)]
Port = Annotated[int, Meta(ge=1, le=65535)]
Seconds = Annotated[float, Meta(gt=0, le=300)]


class WebhookSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``[[plugin.notify.webhooks]]``: alerts POSTed as signed JSON."""

    name: NotifierName = "webhook"
    url: Url
    # The HMAC key. Unset: one is generated on first start and kept in
    # <data-dir>/plugins/notify/webhook-<name>.secret for the receiver's owner to copy.
    secret: Annotated[str, Meta(min_length=16, max_length=500)] | None = None
    timeout_seconds: Seconds = 10.0
    headers: dict[str, str] = msgspec.field(default_factory=dict)  # e.g. a receiver's API key
    verify_tls: bool = True
    ca_file: str | None = None  # a private CA (or a receiver's self-signed certificate)


class EmailSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``[[plugin.notify.emails]]``: one plain-text message per alert over SMTP."""

    name: NotifierName = "email"
    host: Annotated[str, Meta(min_length=1, max_length=255)]
    port: Port | None = None  # default: 465 for tls, 587 for starttls, 25 for none
    # starttls: upgrade a plain connection (refused if the server cannot); tls: TLS from
    # the first byte (SMTPS); none: plain text, for a relay on the same host only.
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: str | None = None
    from_address: Address
    to: Annotated[list[Address], Meta(min_length=1, max_length=100)]
    subject_prefix: Annotated[str, Meta(max_length=50)] = "[Floki]"
    timeout_seconds: Seconds = 30.0
    verify_tls: bool = True
    ca_file: str | None = None

    @property
    def effective_port(self) -> int:
        if self.port is not None:
            return self.port
        return {"tls": 465, "starttls": 587, "none": 25}[self.security]


class NotifySettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    # Links in messages point here (e.g. "https://floki.ward7.example.nhs.uk:8443");
    # unset: [server] public_url; neither: messages carry no link.
    base_url: Url | None = None
    webhooks: list[WebhookSettings] = msgspec.field(default_factory=list)
    emails: list[EmailSettings] = msgspec.field(default_factory=list)
