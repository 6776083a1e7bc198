"""Registries that plugins add to through the ``floki_register_*`` hooks.

Each hook receives a view bound to the calling plugin, so the core knows who
registered what, can name both plugins when two claim one name, and can take back
everything a plugin registered if its registration fails half-way.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import re
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import msgspec

from floki_core.errors import FlokiError
from floki_core.observations import ObservationSink

if TYPE_CHECKING:
    from floki_core.location.evidence import Sighting
    from floki_core.plugins.register_records import RegisterWriting

T = TypeVar("T")
POLICIES = ("public", "device", "viewer", "staff", "engineer", "admin")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


class RegistrationError(FlokiError):
    """A plugin registered something the core cannot accept."""


class Source(Protocol):
    """A long-running input. ``run`` is awaited for the life of the source.

    It may also have ``details() -> Mapping[str, Any] | None`` (plugin API 1.2): what it
    says of itself in ``GET /api/v1/plugins`` (cheap: counters it already keeps)."""

    async def run(self, sink: ObservationSink) -> None: ...

    async def stop(self) -> None: ...


class Locator(Protocol):
    """Turns one technology's sightings (observations bound to an asset and a receiver)
    into zone evidence: ``floki_core.location.evidence.Locator``."""

    def locate(self, batch: Sequence[Sighting]) -> Sequence[Any]: ...


class Notifier(Protocol):
    async def send(self, alerts: Sequence[Any]) -> None: ...


@dataclass(frozen=True)
class Registration(Generic[T]):
    plugin: str
    name: str
    item: T
    extra: dict[str, Any] = field(default_factory=dict)


class NamedRegistry(Generic[T]):
    """Names unique across all plugins; everything remembers its plugin."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, Registration[T]] = {}

    def _add(self, plugin: str, name: str, item: T, **extra: Any) -> None:
        if not name or not isinstance(name, str):
            raise RegistrationError(f"{self.kind} name must be a non-empty string")
        held = self._items.get(name)
        if held is not None:
            raise RegistrationError(
                f"{self.kind} {name!r} registered by both {held.plugin!r} and {plugin!r}"
            )
        self._items[name] = Registration(plugin, name, item, extra)

    def discard_plugin(self, plugin: str) -> None:
        for name in [n for n, r in self._items.items() if r.plugin == plugin]:
            del self._items[name]

    def __iter__(self) -> Iterator[Registration[T]]:
        return iter(list(self._items.values()))

    def __len__(self) -> int:
        return len(self._items)

    def get(self, name: str) -> Registration[T] | None:
        return self._items.get(name)


class _Bound(Generic[T]):
    def __init__(self, registry: NamedRegistry[T], plugin: str) -> None:
        self._registry = registry
        self.plugin = plugin

    def close(self) -> None:
        """Once the hook is over, whatever is still added here goes nowhere."""
        self._registry = NamedRegistry("closed")


class SourceRegistry(_Bound[Source]):
    def add(self, name: str, source: Source) -> None:
        """Register a source; it is started after ``floki_startup`` and supervised."""
        for method in ("run", "stop"):
            if not callable(getattr(source, method, None)):
                raise RegistrationError(f"source {name!r} has no {method}() method")
        self._registry._add(self.plugin, name, source)


class LocatorRegistry(_Bound[Locator]):
    def add(self, name: str, technology: str, locator: Locator) -> None:
        """Register a locator for observations whose ``technology`` matches."""
        if not callable(getattr(locator, "locate", None)):
            raise RegistrationError(f"locator {name!r} has no locate() method")
        self._registry._add(self.plugin, name, locator, technology=technology)


# What else a technology's tag is known by: (technology, value) pairs to look the asset up
# under when no identifier holds the tag itself (an RFID EPC carries a GIAI or a UDI).
TagKeys = Callable[[str], Sequence[tuple[str, str]]]


class TagKeyRegistry(_Bound[TagKeys]):
    def add(self, technology: str, keys: TagKeys) -> None:
        """Register, for one technology, what else its tags are known by: ``keys(tag)``
        returns (technology, value) pairs the location pipeline tries, in order, when no
        identifier of ``technology`` holds ``tag``; it must be quick and never raise."""
        if not callable(keys):
            raise RegistrationError(f"tag keys for {technology!r} are not callable")
        self._registry._add(self.plugin, technology, keys, technology=technology)


class NotifierRegistry(_Bound[Notifier]):
    def add(self, name: str, notifier: Notifier) -> None:
        """Register a notifier that alert routing can name."""
        if not callable(getattr(notifier, "send", None)):
            raise RegistrationError(f"notifier {name!r} has no send() method")
        self._registry._add(self.plugin, name, notifier)


class RuleTypeRegistry(_Bound[Any]):
    def add(self, name: str, rule_type: Any) -> None:
        """Register a rule type that alert rules can name (see ``floki_core.workflow.rules``)."""
        from floki_core.workflow.rules import BUILTIN_RULE_TYPES, SEVERITIES

        if name in BUILTIN_RULE_TYPES:
            raise RegistrationError(f"rule type {name!r} is built in")
        if not re.fullmatch(r"[a-z][a-z0-9_]{1,63}", name):
            raise RegistrationError(
                f"rule type {name!r}: lower-case letters, digits and '_', starting with a letter"
            )
        if not callable(getattr(rule_type, "conditions", None)):
            raise RegistrationError(f"rule type {name!r} has no conditions() method")
        params = getattr(rule_type, "params", None)
        if not (isinstance(params, type) and issubclass(params, msgspec.Struct)):
            raise RegistrationError(f"rule type {name!r}: params must be a msgspec.Struct class")
        if getattr(rule_type, "default_severity", None) not in SEVERITIES:
            raise RegistrationError(
                f"rule type {name!r}: default_severity must be one of {', '.join(SEVERITIES)}"
            )
        self._registry._add(self.plugin, name, rule_type)


Handler = Callable[[Any], Awaitable[Any]]
PARAM_TYPES = ("string", "integer", "number", "boolean")
SESSION_ROLES = ("viewer", "staff", "engineer", "admin")


@dataclass(frozen=True)
class Param:
    """A query (or path) parameter as the handler checks it, for the OpenAPI document.

    Say what the handler enforces: ``type`` (``string``, ``integer``, ``number``,
    ``boolean``), ``minimum``/``maximum`` for numbers, ``format`` (``date``,
    ``date-time``), ``enum`` for a fixed set of words, ``max_length`` or ``pattern``.
    """

    name: str
    type: str = "string"
    description: str = ""
    required: bool = False
    format: str | None = None
    minimum: int | float | None = None
    maximum: int | float | None = None
    enum: tuple[str, ...] = ()
    max_length: int | None = None
    pattern: str | None = None
    default: str | int | float | bool | None = None


@dataclass(frozen=True)
class Answer:
    """A status a route may answer besides its success: what it means and, when the
    body is not the usual ``{"error", "status"}``, the type and media type it has."""

    description: str
    body: Any = None
    media_type: str | None = None


Answers = Mapping[int, "str | Answer"]


@dataclass(frozen=True)
class RouteSpec:
    method: str
    path: str
    handler: Handler
    policy: str
    summary: str = ""
    body: type[msgspec.Struct] | None = None
    response: Any = None
    status: int = 200
    query: tuple[Param, ...] = ()
    path_params: tuple[Param, ...] = ()
    body_type: str | None = None
    produces: str = "application/json"
    answers: Answers = field(default_factory=dict, hash=False)
    rate_limited: bool = False
    session_role: str | None = None


class RouteDescription(Protocol):
    """What the OpenAPI document says of a route: a plugin's ``RouteSpec`` or a core route."""

    @property
    def method(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def policy(self) -> str: ...
    @property
    def body(self) -> type[msgspec.Struct] | None: ...
    @property
    def status(self) -> int: ...
    @property
    def query(self) -> tuple[Param, ...]: ...
    @property
    def path_params(self) -> tuple[Param, ...]: ...
    @property
    def answers(self) -> Answers: ...
    @property
    def session_role(self) -> str | None: ...


def check_route(spec: RouteDescription) -> None:
    """Refuse a route whose description cannot be right; the reason names the route."""
    name = f"route {spec.method} {spec.path}"
    if spec.method not in METHODS:
        raise RegistrationError(f"route {spec.path!r}: unsupported method {spec.method}")
    if spec.policy not in POLICIES:
        raise RegistrationError(f"{name}: policy must be one of {', '.join(POLICIES)}")
    if not spec.path.startswith("/"):
        raise RegistrationError(f"route {spec.path!r} must start with '/'")
    if not (isinstance(spec.status, int) and 100 <= spec.status <= 399):
        raise RegistrationError(f"{name}: status must be a success or redirect code (100-399)")
    for status, answer in spec.answers.items():
        if not (isinstance(status, int) and 100 <= status <= 599):
            raise RegistrationError(f"{name}: answer {status!r} is not an HTTP status")
        if not isinstance(answer, (str, Answer)):
            raise RegistrationError(f"{name}: answer {status} must be a description or Answer")
    placeholders = set(re.findall(r"\{(\w+)(?::[^}]*)?\}", spec.path))
    for param in (*spec.query, *spec.path_params):
        if not isinstance(param, Param):
            raise RegistrationError(f"{name}: parameters must be Param(...), got {param!r}")
        if param.type not in PARAM_TYPES:
            raise RegistrationError(
                f"{name}: parameter {param.name} has type {param.type!r}; "
                f"use one of {', '.join(PARAM_TYPES)}"
            )
    for param in spec.path_params:
        if param.name not in placeholders:
            raise RegistrationError(f"{name}: path parameter {param.name} is not in the path")
    names = [p.name for p in spec.query]
    if len(names) != len(set(names)):
        raise RegistrationError(f"{name}: a query parameter is declared twice")
    if spec.body is not None and not (
        isinstance(spec.body, type) and issubclass(spec.body, msgspec.Struct)
    ):
        raise RegistrationError(f"{name}: body must be a msgspec.Struct class")
    if spec.session_role is not None:
        if spec.session_role not in SESSION_ROLES:
            raise RegistrationError(
                f"{name}: session_role must be one of {', '.join(SESSION_ROLES)}"
            )
        if spec.policy != "public":
            raise RegistrationError(
                f"{name}: session_role is for pages that check their own session; "
                "their policy is public"
            )


class RouteRegistry(_Bound[RouteSpec]):
    def add(
        self,
        method: str,
        path: str,
        handler: Handler,
        *,
        policy: str,
        summary: str = "",
        body: type[msgspec.Struct] | None = None,
        response: Any = None,
        status: int = 200,
        query: Sequence[Param] = (),
        path_params: Sequence[Param] = (),
        body_type: str | None = None,
        produces: str = "application/json",
        answers: Answers | None = None,
        rate_limited: bool = False,
        session_role: str | None = None,
    ) -> None:
        """Register an aiohttp handler at ``path`` with an explicit role policy.

        The rest describes the route in ``/api/v1/openapi.json`` as the handler behaves:
        ``status`` of success (e.g. 202, 303); ``query`` and ``path_params`` as
        ``Param``; the request ``body`` (a Struct; JSON unless ``body_type`` names other
        media types, e.g. ``"application/x-www-form-urlencoded"``) or ``body_type`` alone
        for raw bodies (``"text/csv"``); ``produces``, the media types of success
        (comma-separated; ``"text/html"`` pages also answer their errors in HTML);
        ``answers``, other statuses with what they mean (``{409: "already sealed"}``)
        beyond those every route of its shape gets; ``rate_limited`` when it may answer
        429; ``session_role`` for public pages that require a signed-in session of that
        role themselves (the phone pages).
        """
        spec = RouteSpec(
            method.upper(),
            path,
            handler,
            policy,
            summary,
            body,
            response,
            status,
            tuple(query),
            tuple(path_params),
            body_type,
            produces,
            dict(answers or {}),
            rate_limited,
            session_role,
        )
        check_route(spec)
        self._registry._add(self.plugin, f"{spec.method} {path}", spec)


@dataclass(frozen=True)
class CommandContext:
    """What a plugin's ``floki-core`` subcommand runs with."""

    data_dir: Path
    config: Any  # the appliance's AppConfig
    db: Any  # the appliance's Database, migrated

    @contextlib.contextmanager
    def register_writing(self, now: dt.datetime) -> Iterator[RegisterWriting]:
        """The register to read and add to in one durable transaction, every addition
        audited at ``now``; no appliance runs, so none is told (its next start reads
        the register afresh)."""
        from floki_core.plugins.register_records import RegisterWriting

        with self.db.transaction() as session:
            yield RegisterWriting(session, now)


@dataclass(frozen=True)
class CommandSpec:
    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, CommandContext], int]


class CommandRegistry(_Bound[CommandSpec]):
    def add(
        self,
        name: str,
        help: str,
        *,
        configure: Callable[[argparse.ArgumentParser], None],
        run: Callable[[argparse.Namespace, CommandContext], int],
    ) -> None:
        """Register ``floki-core NAME``: ``configure`` adds its arguments, ``run`` does it."""
        if not name.replace("-", "").isalnum() or not name[:1].isalpha():
            raise RegistrationError(f"command {name!r}: letters, digits and '-' only")
        self._registry._add(self.plugin, name, CommandSpec(name, help, configure, run))


@dataclass(frozen=True)
class ConfigSchema:
    schema: type[Any]


class ConfigRegistry(_Bound[ConfigSchema]):
    def section(self, schema: type[Any]) -> None:
        """Declare ``[plugin.<this plugin>]``: a msgspec Struct with defaults."""
        if not (isinstance(schema, type) and issubclass(schema, msgspec.Struct)):
            raise RegistrationError("config section schema must be a msgspec.Struct class")
        self._registry._add(self.plugin, self.plugin, ConfigSchema(schema))


@dataclass
class Registries:
    """Everything registered by all plugins."""

    config: NamedRegistry[ConfigSchema] = field(default_factory=lambda: NamedRegistry("config"))
    sources: NamedRegistry[Source] = field(default_factory=lambda: NamedRegistry("source"))
    locators: NamedRegistry[Locator] = field(default_factory=lambda: NamedRegistry("locator"))
    routes: NamedRegistry[RouteSpec] = field(default_factory=lambda: NamedRegistry("route"))
    notifiers: NamedRegistry[Notifier] = field(default_factory=lambda: NamedRegistry("notifier"))
    rule_types: NamedRegistry[Any] = field(default_factory=lambda: NamedRegistry("rule type"))
    commands: NamedRegistry[CommandSpec] = field(default_factory=lambda: NamedRegistry("command"))
    tag_keys: NamedRegistry[TagKeys] = field(default_factory=lambda: NamedRegistry("tag keys"))

    def discard_plugin(self, plugin: str) -> None:
        for registry in self.all():
            registry.discard_plugin(plugin)

    def all(self) -> list[NamedRegistry[Any]]:
        return [
            self.config,
            self.sources,
            self.locators,
            self.routes,
            self.notifiers,
            self.rule_types,
            self.commands,
            self.tag_keys,
        ]
