"""Every hook a Floki plugin can implement: plugin API 1.2 (``floki_core.PLUGIN_API``).

A plugin is any module or object with functions marked ``@floki_core.hookimpl``,
named in the ``floki`` entry-point group of its distribution. Hooks are called
through pluggy, so ``tryfirst``, ``trylast`` and wrappers (``wrapper=True``,
``hookwrapper=True``) mean what pluggy documents; without them plugins are called
in load order. Each plugin's implementation is supervised: one that raises or
outlives the setup timeout is recorded against that plugin, gives no result, and
the call goes on with the others.

Registration hooks receive a registry bound to the calling plugin; names must be
unique across plugins, and a clash is reported at start-up naming both. Every hook
that runs in a started appliance may also take ``context``, the plugin's own
``PluginContext``.

``.. versionadded::`` and ``.. versionchanged::`` name plugin API versions (see
``floki_core.plugins.contract.hook_versions``).
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
        TagKeyRegistry,
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

    .. versionadded:: 1.0
    """


@hookspec
def floki_shutdown(context: PluginContext) -> Awaitable[None] | None:
    """The appliance is stopping; sources have been stopped already.

    Release what ``floki_startup`` acquired. May be a coroutine function; bounded by
    the setup timeout. Errors are logged and do not stop the shutdown.

    :param context: the same context ``floki_startup`` received.

    .. versionadded:: 1.0
    """


# --- registration ------------------------------------------------------------


@hookspec
def floki_register_config(registry: ConfigRegistry) -> None:
    """Declare the plugin's configuration section ``[plugin.<name>]``.

    Called first, before any other registration hook. ``registry.section(schema)``
    takes a ``msgspec.Struct`` whose fields (with defaults) are the settings;
    unknown keys and wrong types are a start-up error naming the key.

    .. versionadded:: 1.0
    """


@hookspec
def floki_register_sources(registry: SourceRegistry, context: PluginContext) -> None:
    """Add long-running inputs: scanners, gateway feeds, serial ports, readers.

    ``registry.add(name, source)`` where ``source`` has ``async run(sink)`` (runs until
    cancelled; returning or raising counts as a stop and is restarted with backoff)
    and ``async stop()``. Each source runs in its own supervised task and delivers
    observation batches to ``sink.submit``. A source with a ``details()`` method
    (a mapping of JSON values) has it listed as its ``details`` in ``GET /api/v1/plugins``.

    .. versionadded:: 1.0
    .. versionchanged:: 1.2 a source may have ``details()``, listed with it.
    """


@hookspec
def floki_register_locators(registry: LocatorRegistry, context: PluginContext) -> None:
    """Add a locator: turns one technology's observation batches into zone evidence.

    ``registry.add(name, technology, locator)``.

    :param registry: where to add locators.
    :param context: the plugin's context (settings, clock, state shared between hooks).

    .. versionadded:: 1.0
    """


@hookspec
def floki_register_tag_keys(registry: TagKeyRegistry, context: PluginContext) -> None:
    """Say what else one technology's tags are known by, for the location pipeline.

    ``registry.add(technology, keys)``: when no identifier of ``technology`` holds a
    reported tag, the pipeline tries each ``(technology, value)`` that ``keys(tag)``
    returns, in order (an RFID EPC carries the GIAI of the asset it labels, or a UDI).
    ``keys`` must be quick and must not raise (one that does counts as no keys). One
    plugin per technology.

    :param registry: where to add them.
    :param context: the plugin's context.

    .. versionadded:: 1.1
    """


@hookspec
def floki_register_routes(registry: RouteRegistry, context: PluginContext) -> None:
    """Add HTTP routes to the appliance (pages, gateway endpoints, plugin APIs).

    ``registry.add(method, path, handler, policy=...)``: every route names its role
    policy (``public``, ``device``, ``viewer``, ``staff``, ``engineer``, ``admin``);
    a route without one is refused. Paths may not shadow the core's routes. The other
    arguments describe the route in ``/api/v1/openapi.json`` as its handler behaves
    (``status``, ``query`` and ``path_params`` as ``Param``, ``body``, ``body_type``,
    ``response``, ``produces``, ``answers``, ``rate_limited``, ``session_role``; see
    ``RouteRegistry.add``); a description that cannot be right is refused at start-up.

    :param registry: where to add routes.
    :param context: the plugin's context: settings, and ``state`` for what a handler
        reports on (e.g. a source registered by ``floki_register_sources``).

    .. versionadded:: 1.0
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

    .. versionadded:: 1.0
    """


@hookspec
def floki_register_rule_types(registry: RuleTypeRegistry, context: PluginContext) -> None:
    """Add a rule type that alert rules (configuration file or API) can name.

    ``registry.add(name, rule_type)`` where ``rule_type`` has ``description`` (str),
    ``default_severity`` (``info``, ``warning`` or ``critical``), ``params`` (a
    ``msgspec.Struct`` class: the rule's validated ``params``) and
    ``conditions(params, facts)`` returning every
    ``floki_core.workflow.rules.Condition`` that holds now (see ``Facts`` there);
    optionally ``check(params, facts) -> str | None`` naming a problem with the params.
    Conditions are judged level-triggered: one alert per condition key while it holds,
    resolved when it is no longer returned. Built-in names cannot be taken.

    :param registry: where to add rule types.
    :param context: the plugin's context.

    .. versionadded:: 1.0
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

    .. versionadded:: 1.0
    """


# --- events ------------------------------------------------------------------


@hookspec
def floki_events(events: Sequence[DomainEvent], context: PluginContext) -> Awaitable[None] | None:
    """Observe domain events, delivered in batches (never one call per event).

    Fires after the change is committed. May be a coroutine function. An exception
    is logged against the plugin and does not reach the writer or other observers.
    Each plugin observes on its own, so a wrapper of this hook wraps only its own
    plugin's implementation.

    :param events: the batch, oldest first.
    :param context: the plugin's context.

    .. versionadded:: 1.0
    """
