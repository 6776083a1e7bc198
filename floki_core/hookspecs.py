"""Every hook a Floki plugin can implement.

A plugin is any module or object with functions marked ``@floki_core.hookimpl``,
named in the ``floki`` entry-point group of its distribution. Hooks are called
by the core's supervisor one plugin at a time, so one plugin's exception is
recorded against that plugin and never reaches the others.

Registration hooks receive a registry bound to the calling plugin; names must be
unique across plugins, and a clash is reported at start-up naming both.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING

from floki_core import hookspec

if TYPE_CHECKING:
    from floki_core.events import DomainEvent
    from floki_core.plugins.context import PluginContext
    from floki_core.plugins.registry import (
        CommandRegistry,
        ConfigRegistry,
        LocatorRegistry,
        NotifierRegistry,
        RouteRegistry,
        RuleTypeRegistry,
        SourceRegistry,
    )


# --- lifecycle ---------------------------------------------------------------


@hookspec
def floki_startup(context: PluginContext) -> Awaitable[None] | None:
    """The appliance is starting; the database is migrated and registration is done.

    Called once per plugin, after every ``floki_register_*`` hook and before sources
    start. May be a coroutine function. Runs under the supervision setup timeout
    (``[plugins.supervision] setup_timeout``); raising or timing out marks the plugin
    ``failed`` with the reason, and its sources are not started.

    :param context: the plugin's view of the core (config section, clock, events, log).
    :returns: nothing (or an awaitable).

    .. versionadded:: 0.1
    """


@hookspec
def floki_shutdown(context: PluginContext) -> Awaitable[None] | None:
    """The appliance is stopping; sources have been stopped already.

    Release what ``floki_startup`` acquired. May be a coroutine function; bounded by
    the setup timeout. Errors are logged and do not stop the shutdown.

    :param context: the same context ``floki_startup`` received.

    .. versionadded:: 0.1
    """


# --- registration ------------------------------------------------------------


@hookspec
def floki_register_config(registry: ConfigRegistry) -> None:
    """Declare the plugin's configuration section ``[plugin.<name>]``.

    Called first, before any other registration hook. ``registry.section(schema)``
    takes a ``msgspec.Struct`` whose fields (with defaults) are the settings;
    unknown keys and wrong types are a start-up error naming the key.

    .. versionadded:: 0.1
    """


@hookspec
def floki_register_sources(registry: SourceRegistry, context: PluginContext) -> None:
    """Add long-running inputs: scanners, gateway feeds, serial ports, readers.

    ``registry.add(name, source)`` where ``source`` has ``async run(sink)`` (runs until
    cancelled; returning or raising counts as a stop and is restarted with backoff)
    and ``async stop()``. Each source runs in its own supervised task and delivers
    observation batches to ``sink.submit``.

    .. versionadded:: 0.1
    """


@hookspec
def floki_register_locators(registry: LocatorRegistry) -> None:
    """Add a locator: turns one technology's observation batches into zone evidence.

    ``registry.add(name, technology, locator)``.

    .. versionadded:: 0.1
    """


@hookspec
def floki_register_routes(registry: RouteRegistry) -> None:
    """Add HTTP routes to the appliance (pages, gateway endpoints, plugin APIs).

    ``registry.add(method, path, handler, policy=...)``: every route names its role
    policy (``public``, ``device``, ``viewer``, ``staff``, ``engineer``, ``admin``);
    a route without one is refused. Paths may not shadow the core's routes. The other
    arguments describe the route in ``/api/v1/openapi.json`` as its handler behaves
    (``status``, ``query`` and ``path_params`` as ``Param``, ``body``, ``body_type``,
    ``response``, ``produces``, ``answers``, ``rate_limited``, ``session_role``; see
    ``RouteRegistry.add``); a description that cannot be right is refused at start-up.

    .. versionadded:: 0.1
    .. versionchanged:: 0.1 routes describe their answers and parameters
    """


@hookspec
def floki_register_notifiers(registry: NotifierRegistry, context: PluginContext) -> None:
    """Add a notifier (webhook, email, pager ...) that alert routing can name.

    ``registry.add(name, notifier)`` where ``await notifier.send(alerts)`` delivers a
    batch of ``floki_core.workflow.alerts.Alert`` records; each alert's ``status``
    (``raised``, ``acknowledged``, ``resolved``) is the change being announced. Rules
    (``notify = [name]``) and ``[[workflow.alerts.routes]]`` name notifiers. ``send``
    runs in the notifier's own task, off the event path, under
    ``[workflow.alerts.delivery] timeout_seconds``; raising retries the batch with
    exponential backoff, raising ``floki_core.workflow.alert_routing.DeliveryRefused``
    gives up at once. The outcome is recorded against each alert.

    :param registry: where to add notifiers.
    :param context: the plugin's context (settings, data directory) for configuring them.

    .. versionadded:: 0.1
    """


@hookspec
def floki_register_rule_types(registry: RuleTypeRegistry) -> None:
    """Add a rule type that alert rules (configuration file or API) can name.

    ``registry.add(name, rule_type)`` where ``rule_type`` has ``description`` (str),
    ``default_severity`` (``info``, ``warning`` or ``critical``), ``params`` (a
    ``msgspec.Struct`` class: the rule's validated ``params``) and
    ``conditions(params, facts)`` returning every
    ``floki_core.workflow.rules.Condition`` that holds now (see ``Facts`` there);
    optionally ``check(params, facts) -> str | None`` naming a problem with the params.
    Conditions are judged level-triggered: one alert per condition key while it holds,
    resolved when it is no longer returned. Built-in names cannot be taken.

    .. versionadded:: 0.1
    """


@hookspec
def floki_register_commands(registry: CommandRegistry) -> None:
    """Add ``floki-core`` subcommands (e.g. the QR plugin's ``floki-core labels``).

    Called when the command line is parsed, with no appliance running.
    ``registry.add(name, help, configure=fn(parser), run=fn(args, context))``:
    ``configure`` adds arguments to the command's ``argparse`` parser; ``run`` returns
    the exit status and gets a ``CommandContext`` (``data_dir``, ``config``, ``db``).
    A ``FlokiError`` is printed as one line and exits 1. A plugin that fails here loses
    only its commands; a name the core uses is ignored with a warning.

    .. versionadded:: 0.1
    """


# --- events ------------------------------------------------------------------


@hookspec
def floki_events(events: Sequence[DomainEvent]) -> Awaitable[None] | None:
    """Observe domain events, delivered in batches (never one call per event).

    Fires after the change is committed. May be a coroutine function. An exception
    is logged against the plugin and does not reach the writer or other observers.

    :param events: the batch, oldest first.

    .. versionadded:: 0.1
    """
