"""``GET /metrics`` in the Prometheus text format."""

from __future__ import annotations

import collections
from collections.abc import Iterable

from aiohttp import web

from floki_core.api.keys import CORE, SOCKETS
from floki_core.api.routing import ApiRoute, RouteTable
from floki_core.core import Core
from floki_core.storage.audit import AuditHead, read_audit_head
from floki_core.storage.health import DISK_FULL


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _family(
    name: str, kind: str, help_: str, samples: Iterable[tuple[dict[str, str], float]]
) -> list[str]:
    lines = [f"# HELP {name} {help_}", f"# TYPE {name} {kind}"]
    for labels, value in samples:
        shown = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
        lines.append(f"{name}{{{shown}}} {value:g}" if shown else f"{name} {value:g}")
    return lines


def _rejected(core: Core) -> list[tuple[str, collections.Counter[str]]]:
    """Refusals by source and reason: the pipeline's (admission) and what sources said
    they could not use (``sink.reject``), as ``GET /api/v1/sources`` lists them."""
    merged: dict[str, collections.Counter[str]] = {}
    for name, stats in core.locations.admission.stats.items():
        merged.setdefault(name, collections.Counter()).update(stats.rejected)
    for name, counters in core.ingest.counters.items():
        merged.setdefault(name, collections.Counter()).update(counters.rejected)
    return sorted((n, c) for n, c in merged.items() if c)


def render(core: Core, websocket_clients: int, audit_head: AuditHead | None = None) -> str:
    stats = core.locations.admission.stats
    sources = sorted(stats.items())
    storage = core.storage
    lines = _family(
        "floki_degraded",
        "gauge",
        "1 while the appliance cannot save what it is given, labelled with why",
        [({"reason": DISK_FULL}, 1.0)] if storage.degraded else [({}, 0.0)],
    )
    lines += _family(
        "floki_writes_refused_total",
        "counter",
        "Writes refused because the disk was full: API requests (answered 503) and "
        "the background writers' rounds",
        [({"reason": DISK_FULL}, storage.refused)],
    )
    lines += _family(
        "floki_audit_head_seq",
        "gauge",
        "Number of the newest audit entry; it only grows, so a fall means entries were "
        "removed (absent while the chain's record of its head is missing)",
        [] if audit_head is None else [({}, float(audit_head.seq))],
    )
    for field, help_ in (
        ("received", "Observations received"),
        ("accepted", "Observations admitted after replay and clock checks"),
        ("duplicates", "Replayed observations recognised and not counted again"),
        ("unknown_tags", "Observations of tags bound to no asset"),
    ):
        lines += _family(
            f"floki_observations_{field}_total",
            "counter",
            help_,
            (({"source": n}, getattr(s, field)) for n, s in sources),
        )
    lines += _family(
        "floki_observations_rejected_total",
        "counter",
        "Observations refused, by reason",
        (
            ({"source": n, "reason": r}, c)
            for n, reasons in _rejected(core)
            for r, c in sorted(reasons.items())
        ),
    )
    lines += _family(
        "floki_observations_quarantined_total",
        "counter",
        "Observations with implausible times, by reason",
        (({"source": n, "reason": r}, c) for n, s in sources for r, c in s.quarantined.items()),
    )
    locations = core.locations
    lines += _family(
        "floki_ingest_queue_depth", "gauge", "Batches waiting", [({}, core.ingest.depth)]
    )
    lines += _family(
        "floki_ingest_queue_capacity",
        "gauge",
        "Batches the queue holds",
        [({}, core.ingest.capacity)],
    )
    lines += _family(
        "floki_located_assets",
        "gauge",
        "Assets with a known location",
        [({}, sum(1 for t in locations.resolver.tracks.values() if t.zone is not None))],
    )
    lines += _family(
        "floki_location_changes_total",
        "counter",
        "Moves between zones",
        [({}, locations.transitions)],
    )
    lines += _family(
        "floki_late_evidence_total",
        "counter",
        "Evidence older than what was known, kept out of the current location",
        [({}, locations.resolver.late)],
    )
    lines += _family(
        "floki_late_stays_total",
        "counter",
        "Stays learned from late scans or fixes and written to history",
        [({}, locations.late_stays)],
    )
    lines += _family(
        "floki_unknown_tags", "gauge", "Distinct unbound tags heard", [({}, len(locations.unknown))]
    )
    lines += _family(
        "floki_tags_low_battery",
        "gauge",
        "Tags whose battery needs replacing",
        [({}, locations.batteries.low_count())],
    )
    lines += _family(
        "floki_plugin_up",
        "gauge",
        "1 when the plugin is running",
        (
            ({"plugin": p.name, "status": p.status}, 1.0 if p.status == "running" else 0.0)
            for p in core.plugins.infos()
        ),
    )
    lines += _family(
        "floki_websocket_clients", "gauge", "Connected event clients", [({}, websocket_clients)]
    )
    lines += _family(
        "floki_events_dropped_total",
        "counter",
        "Event batches slow WebSocket clients missed (observers: "
        "floki_event_observer_dropped_total)",
        [({}, core.events.dropped)],
    )
    observers = core.events.observer_stats()
    lines += _family(
        "floki_event_observer_lag",
        "gauge",
        "Event batches handed to the observer and not yet handled (the one in hand and "
        "those waiting in its queue); always 0 for the core's inline observers",
        (({"observer": o.name}, o.lag) for o in observers),
    )
    lines += _family(
        "floki_event_observer_dropped_total",
        "counter",
        "Event batches the observer lost because its queue was full (oldest first)",
        (({"observer": o.name}, o.dropped) for o in observers),
    )
    lines += _family(
        "floki_event_observer_failures_total",
        "counter",
        "Event batches on which the observer raised (logged with its name)",
        (({"observer": o.name}, o.failures) for o in observers),
    )
    lines += _federation(core)
    return "\n".join(lines) + "\n"


def _federation(core: Core) -> list[str]:
    """The link to the trust hub (docs/federation.md); nothing without [federation]."""
    if core.federation is None:
        return []
    status = core.federation.status
    lines: list[str] = []
    for name, kind, help_, value in (
        ("up", "gauge", "1 while the link to the trust hub is connected", status.connected),
        ("backlog_events", "gauge", "Committed events waiting to be sent", status.backlog_events),
        (
            "backlog_bound",
            "gauge",
            "Events kept before superseded moves are dropped",
            status.backlog_bound,
        ),
        (
            "over_bound",
            "gauge",
            "1 while the backlog is past its bound with nothing left that may be dropped",
            status.over_bound,
        ),
        (
            "published_total",
            "counter",
            "Events the hub's stream acknowledged",
            status.published_total,
        ),
        (
            "duplicates_total",
            "counter",
            "Events sent again and recognised by the stream",
            status.duplicates_total,
        ),
        (
            "coalesced_total",
            "counter",
            "Superseded location moves dropped to keep the backlog within its bound",
            status.coalesced_total,
        ),
        (
            "failures_total",
            "counter",
            "Sending rounds that failed (link, hub or refusal)",
            status.failures_total,
        ),
        (
            "link_changes_total",
            "counter",
            "Times the link went up or down",
            status.link_changes_total,
        ),
    ):
        lines += _family(f"floki_federation_{name}", kind, help_, [({}, float(value))])
    return lines


async def metrics(request: web.Request) -> web.Response:
    core = request.app[CORE]
    await core.storage.recheck()
    head = await core.read(read_audit_head)
    if core.federation is not None:
        await core.federation.current_status()  # the backlog as it is now
    body = render(core, len(request.app[SOCKETS]), head)
    return web.Response(
        text=body,
        content_type="text/plain",
        charset="utf-8",
        headers={"X-Content-Type-Options": "nosniff"},
    )


def add_routes(app: web.Application, table: RouteTable, *, public: bool = False) -> None:
    # Policy is configuration: a Prometheus server on the LAN usually scrapes without a token.
    policy = "public" if public else "viewer"
    table.add(
        app,
        ApiRoute("GET", "/metrics", policy, "Prometheus metrics", "system", produces="text/plain"),
        metrics,
    )
