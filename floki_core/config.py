"""The appliance's TOML configuration (``<data-dir>/floki.toml``, or the file named by
``FLOKI_CONFIG`` / ``floki-core --config``, e.g. ``/etc/floki/floki.toml`` when installed
from the package).

Every section is a msgspec Struct that forbids unknown keys, so a typo is a
start-up message naming the key rather than a silently ignored setting.
Plugins declare their own sections through ``floki_register_config``.
"""

from __future__ import annotations

import functools
import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import msgspec

from floki_core.errors import ConfigError
from floki_core.location.locators.rssi import RssiSettings
from floki_core.location.resolver import ResolverSettings
from floki_core.location.settings import BatterySettings
from floki_core.workflow.settings import WorkflowSettings

CONFIG_FILE = "floki.toml"
# Names the configuration file when it lives outside the data directory.
CONFIG_ENV = "FLOKI_CONFIG"
LOCATOR_METHODS = ("rssi", "fixed_point", "geofence", "association")

T = TypeVar("T")


class _Section(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class ServerConfig(_Section):
    host: str = "0.0.0.0"
    port: int = 8443
    tls: bool = True
    tls_cert: str | None = None
    tls_key: str | None = None
    max_body_bytes: int = 2 * 1024 * 1024
    max_upload_bytes: int = 10 * 1024 * 1024
    public_url: str | None = None
    # The event loop the appliance runs on: "uvloop" (libuv; about a quarter less CPU per
    # tracker packet and HTTP request, docs/performance.md) or Python's own "asyncio".
    event_loop: Literal["uvloop", "asyncio"] = "uvloop"


class DatabaseConfig(_Section):
    url: str | None = None  # default: SQLite file under the data directory
    # SQLite's quick check at start stops (and the start goes on) after this long; 0: off.
    start_check_seconds: Annotated[float, msgspec.Meta(ge=0, le=3600)] = 5.0


class SecurityConfig(_Section):
    # Failed logins for one username from one address within lockout_minutes lock that
    # username from that address (only) for lockout_minutes.
    lockout_attempts: Annotated[int, msgspec.Meta(ge=1)] = 5
    lockout_minutes: Annotated[float, msgspec.Meta(gt=0)] = 15.0
    # Failed logins per minute from one address, for any usernames, before it waits.
    address_failures_per_minute: Annotated[int, msgspec.Meta(ge=1)] = 20
    # Failed logins per minute from all addresses together; beyond it an address that
    # has failed in the last minute waits (one that has not is never held back).
    failures_per_minute: Annotated[int, msgspec.Meta(ge=1)] = 100
    # Failed logins for one username from all addresses together within
    # username_failure_minutes; beyond it, only addresses that signed in as that user
    # within known_address_days may try it. An IPv6 address counts as its /64.
    username_failures: Annotated[int, msgspec.Meta(ge=1)] = 30
    username_failure_minutes: Annotated[float, msgspec.Meta(gt=0, le=1440)] = 15.0
    known_address_days: Annotated[float, msgspec.Meta(gt=0, le=366)] = 30.0
    session_hours: float = 12.0


class DiscoveryConfig(_Section):
    enabled: bool = True
    interfaces: list[str] = msgspec.field(default_factory=list)
    name: str | None = None


class SupervisionConfig(_Section):
    setup_timeout: float = 10.0
    max_failures: int = 5
    failure_window: float = 300.0
    backoff_initial: float = 1.0
    backoff_max: float = 60.0
    # A source marked failed is tried again this often (0: left stopped until the
    # appliance restarts), so a gateway back after an outage is picked up by itself; it
    # counts as recovered once a run lasts backoff_max seconds.
    retry_failed_seconds: Annotated[float, msgspec.Meta(ge=0)] = 300.0


class PluginsConfig(_Section):
    disabled: list[str] = msgspec.field(default_factory=list)
    supervision: SupervisionConfig = msgspec.field(default_factory=SupervisionConfig)


class SiteConfig(_Section):
    name: str = "Floki"


class ImportConfig(_Section):
    # canonical column -> header used in the CSV file (e.g. asset_number = "Equipment No")
    columns: dict[str, str] = msgspec.field(default_factory=dict)
    date_format: str | None = None


class LocationConfig(_Section):
    # technology -> locator method ("rssi", "fixed_point", "geofence", "association")
    methods: dict[str, str] = msgspec.field(default_factory=dict)
    resolver: ResolverSettings = msgspec.field(default_factory=ResolverSettings)
    rssi: RssiSettings = msgspec.field(default_factory=RssiSettings)
    battery: BatterySettings = msgspec.field(default_factory=BatterySettings)
    flush_seconds: Annotated[float, msgspec.Meta(ge=0, le=10)] = 0.1
    last_seen_write_seconds: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 5.0
    future_tolerance_seconds: Annotated[float, msgspec.Meta(ge=0)] = 30.0
    max_age_hours: Annotated[float, msgspec.Meta(gt=0)] = 24.0
    replay_window_seconds: Annotated[float, msgspec.Meta(ge=0)] = 600.0
    capture_sample: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.0  # opt-in raw capture
    capture_days: Annotated[int, msgspec.Meta(ge=1, le=365)] = 7

    def __post_init__(self) -> None:
        # A misspelt method would leave its technology silently unlocated.
        for technology, method in self.methods.items():
            if method not in LOCATOR_METHODS:
                raise ValueError(
                    f"methods.{technology}: unknown locator method {method!r}; "
                    f"one of {', '.join(LOCATOR_METHODS)}"
                )


class IngestConfig(_Section):
    queue_batches: Annotated[int, msgspec.Meta(ge=1)] = 1000
    # Observations per HTTP batch: a busy gateway's minute of backlog is ~11,000.
    max_batch: Annotated[int, msgspec.Meta(ge=1)] = 50_000


class EventsConfig(_Section):
    # Event batches each observer (a plugin's floki_events, the WebSocket fan-out) may
    # have waiting; a slower one loses its oldest (floki_event_observer_dropped_total).
    observer_queue_batches: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 1000


class MetricsConfig(_Section):
    public: bool = False  # true: /metrics without a token (for a scraper on the LAN)


SUBJECT_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class FederationConfig(_Section):
    """``[federation]``: this appliance as one site of a trust hub (docs/federation.md).

    Absent: no outbox row is written and no link is opened."""

    site_id: str  # this site's name at the hub: letters, digits, - and _ (a subject token)
    servers: list[str]  # the hub's NATS URLs, tls://host:4222 (several for a cluster)
    ca_file: str  # the CA that signed the hub's certificate: the link is always TLS
    user: str | None = None
    password: str | None = None
    creds_file: str | None = None  # a NATS .creds file (JWT + nkey seed)
    nkey_seed_file: str | None = None  # a file holding the site's nkey seed
    subject_prefix: str = "floki.site"
    # Rows kept for the hub while the link is down; past it, superseded location moves
    # are dropped (oldest first, counted); nothing else ever is.
    max_backlog_events: Annotated[int, msgspec.Meta(ge=100)] = 2_000_000
    ack_timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=60)] = 5.0
    batch_events: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 500
    reconnect_seconds: Annotated[float, msgspec.Meta(gt=0, le=300)] = 2.0

    def __post_init__(self) -> None:
        if not SUBJECT_TOKEN.match(self.site_id):
            raise ValueError(
                f"site_id: {self.site_id!r} is not a site id; use 1 to 64 letters, digits, - or _"
            )
        check_link(self.servers, self.user, self.password, self.creds_file, self.nkey_seed_file)
        if not all(SUBJECT_TOKEN.match(part) for part in self.subject_prefix.split(".")):
            raise ValueError(f"subject_prefix: {self.subject_prefix!r} is not a NATS subject")


def check_link(
    servers: list[str],
    user: str | None,
    password: str | None,
    creds_file: str | None,
    nkey_seed_file: str | None,
) -> None:
    """The NATS URLs and the one set of credentials a link to the hub's NATS needs."""
    if not servers:
        raise ValueError("servers: name at least one hub NATS URL (tls://host:4222)")
    for url in servers:
        if not re.match(r"^(tls|nats)://[^\s/]+$", url):
            raise ValueError(f"servers: {url!r} is not a NATS URL like tls://host:4222")
    given = [
        name
        for name, value in (
            ("user", user),
            ("creds_file", creds_file),
            ("nkey_seed_file", nkey_seed_file),
        )
        if value
    ]
    if len(given) != 1:
        raise ValueError(
            "credentials: give exactly one of user (with password), creds_file or "
            f"nkey_seed_file (given: {', '.join(given) or 'none'})"
        )
    if user and not password:
        raise ValueError("password: user is given without its password")
    if password and not user:
        raise ValueError("user: password is given without a user")


class HubConfig(_Section):
    """``[hub]``: this appliance as the trust hub (docs/hub.md): it reads every site's
    events from the hub's NATS JetStream into its PostgreSQL database.

    Absent: not a hub (the hub routes answer 404)."""

    servers: list[str]  # the hub's own NATS URLs (tls://host:4222; several for a cluster)
    ca_file: str  # the CA that signed the NATS servers' certificates
    user: str | None = None
    password: str | None = None
    creds_file: str | None = None
    nkey_seed_file: str | None = None
    stream: str = "FLOKI_SITES"  # made over <subject_prefix>.*.events.> if missing
    subject_prefix: str = "floki.site"
    consumer: str = "floki-hub"  # the durable consumer's name: where the hub has read to
    # The stream forgets message ids after this long; at least 2 minutes, so a site's
    # restart is covered (the hub skips what it has applied whatever the window).
    duplicate_window_seconds: Annotated[float, msgspec.Meta(ge=120, le=7 * 86400)] = 120.0
    replicas: Annotated[int, msgspec.Meta(ge=1, le=5)] = 1  # 3 on a three-node cluster
    history_days: Annotated[int, msgspec.Meta(ge=1, le=3660)] = 400  # event history kept
    batch_events: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 500
    reconnect_seconds: Annotated[float, msgspec.Meta(gt=0, le=300)] = 2.0

    def __post_init__(self) -> None:
        check_link(self.servers, self.user, self.password, self.creds_file, self.nkey_seed_file)
        if not SUBJECT_TOKEN.match(self.stream):
            raise ValueError(
                f"stream: {self.stream!r} is not a stream name; use letters, digits, - or _"
            )
        if not SUBJECT_TOKEN.match(self.consumer):
            raise ValueError(
                f"consumer: {self.consumer!r} is not a consumer name; use letters, digits, - or _"
            )
        if not all(SUBJECT_TOKEN.match(part) for part in self.subject_prefix.split(".")):
            raise ValueError(f"subject_prefix: {self.subject_prefix!r} is not a NATS subject")


class AppConfig(_Section):
    site: SiteConfig = msgspec.field(default_factory=SiteConfig)
    server: ServerConfig = msgspec.field(default_factory=ServerConfig)
    database: DatabaseConfig = msgspec.field(default_factory=DatabaseConfig)
    security: SecurityConfig = msgspec.field(default_factory=SecurityConfig)
    discovery: DiscoveryConfig = msgspec.field(default_factory=DiscoveryConfig)
    plugins: PluginsConfig = msgspec.field(default_factory=PluginsConfig)
    import_: ImportConfig = msgspec.field(default_factory=ImportConfig, name="import")
    location: LocationConfig = msgspec.field(default_factory=LocationConfig)
    ingest: IngestConfig = msgspec.field(default_factory=IngestConfig)
    events: EventsConfig = msgspec.field(default_factory=EventsConfig)
    metrics: MetricsConfig = msgspec.field(default_factory=MetricsConfig)
    workflow: WorkflowSettings = msgspec.field(default_factory=WorkflowSettings)
    federation: FederationConfig | None = None
    hub: HubConfig | None = None
    # [plugin.<name>] sections, validated later against what each plugin declares
    plugin: dict[str, dict[str, Any]] = msgspec.field(default_factory=dict)


_PATH_RE = re.compile(r"at `\$(.*)`")


def describe_validation_error(exc: msgspec.ValidationError, prefix: str = "") -> str:
    """Turn msgspec's ``... - at `$.a.b` `` into ``[a] b: ...`` wording users can act on."""
    text = str(exc)
    match = _PATH_RE.search(text)
    where = prefix
    if match:
        parts = [p for p in match.group(1).split(".") if p]
        where = ".".join([prefix, *parts] if prefix else parts)
        text = text[: match.start()].rstrip(" -")
    text = text.replace("Object contains unknown field", "unknown key")
    return f"{where}: {text}" if where else text


def parse_config(data: dict[str, Any], source: str = CONFIG_FILE) -> AppConfig:
    try:
        config = msgspec.convert(data, AppConfig, strict=True)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{source}: {describe_validation_error(exc)}") from None
    url = config.database.url or ""
    if config.hub is not None and not url.startswith("postgresql"):
        # The hub's history and its exactly-once bookkeeping rely on PostgreSQL's row
        # locks and JSONB; SQLite is for one department's appliance.
        raise ConfigError(
            f"{source}: hub: a trust hub needs a PostgreSQL database: set database.url "
            '= "postgresql+psycopg://user@host/db" (this appliance would use SQLite)'
        )
    return config


def config_path(data_dir: Path) -> Path:
    """Where the configuration of the appliance in ``data_dir`` is read from."""
    named = os.environ.get(CONFIG_ENV, "").strip()
    return Path(named).absolute() if named else data_dir / CONFIG_FILE


def load_config(data_dir: Path) -> AppConfig:
    path = config_path(data_dir)
    if not path.exists():
        return AppConfig()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_config(data, str(path))


@functools.lru_cache(maxsize=256)
def _field_names(schema: type[Any]) -> frozenset[str]:
    """A settings struct's keys as written in the file (its fields are read once)."""
    return frozenset(f.encode_name for f in msgspec.structs.fields(schema))


def plugin_section(config: AppConfig, plugin: str, schema: type[T]) -> T:
    """Validate ``[plugin.<name>]`` against the schema a plugin declared."""
    raw = config.plugin.get(plugin, {})
    # The promise holds even for a schema that does not forbid unknown fields itself.
    known = _field_names(schema)  # type: ignore[arg-type]  # a class is hashable
    for key in raw:
        if key not in known:
            raise ConfigError(f"{CONFIG_FILE}: plugin.{plugin}: unknown key `{key}`")
    try:
        return msgspec.convert(raw, schema, strict=True)
    except msgspec.ValidationError as exc:
        raise ConfigError(
            f"{CONFIG_FILE}: {describe_validation_error(exc, f'plugin.{plugin}')}"
        ) from None
