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
    a route without one is refused. Paths may not shadow the core's routes.

    .. versionadded:: 0.1
    """


@hookspec
def floki_register_notifiers(registry: NotifierRegistry) -> None:
    """Add a notifier (webhook, email, pager ...) that alerts can be routed to.

    ``registry.add(name, notifier)`` where ``notifier`` has ``async send(alerts)``.

    .. versionadded:: 0.1
    """


@hookspec
def floki_register_rule_types(registry: RuleTypeRegistry) -> None:
    """Add a rule type that the workflow engine can instantiate from configuration.

    ``registry.add(name, rule_type)``.

    .. versionadded:: 0.1
    """


@hookspec
def floki_register_commands(registry: CommandRegistry) -> None:
    """Add a ``floki-core`` subcommand, e.g. ``floki-core labels``.

    ``registry.add(name, help, configure=..., run=...)``: ``configure(parser)`` adds the
    command's arguments to its ``argparse`` parser; ``run(args, context)`` does the work
    and returns the exit code. ``context`` is a ``CommandContext`` with the data
    directory, the appliance's configuration and its migrated database. Raise
    ``FlokiError`` for a user's mistake: it is printed as one line, exit status 1.
    Called when the command line is parsed, not when the appliance starts; a name the
    core already uses is refused.

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
