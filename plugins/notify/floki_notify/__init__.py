"""Floki notifiers: webhook and email. This module holds only the hook implementations."""

from __future__ import annotations

from floki_core.sdk import (
    ConfigRegistry,
    NotifierRegistry,
    PluginContext,
    RegistrationError,
    hookimpl,
)
from floki_notify.config import NotifySettings
from floki_notify.email import EmailNotifier
from floki_notify.webhook import WebhookNotifier, webhook_secret

__version__ = "0.1.0"
# The plugin API versions (floki_core.PLUGIN_API) this plugin is written for.
FLOKI_PLUGIN_API = ">=1.0,<2"


@hookimpl
def floki_register_config(registry: ConfigRegistry) -> None:
    registry.section(NotifySettings)


@hookimpl
def floki_register_notifiers(registry: NotifierRegistry, context: PluginContext) -> None:
    settings: NotifySettings = context.settings
    names = [w.name for w in settings.webhooks] + [e.name for e in settings.emails]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise RegistrationError(
            f"[plugin.notify]: notifier name {twice[0]!r} is used twice; give each webhook "
            "and email its own name"
        )
    # Links in alerts point at the appliance's own address unless one is set here.
    base_url = settings.base_url or (
        context.config.server.public_url if context.services is not None else None
    )
    for hook in settings.webhooks:
        secret = webhook_secret(hook, context.data_dir)
        registry.add(hook.name, WebhookNotifier(hook, secret, context.clock, base_url))
    for mail in settings.emails:
        registry.add(mail.name, EmailNotifier(mail, context.clock, base_url))
