"""``floki-core federation status``: the site's side of the link as read from its
database, one figure a line, for an operator on the appliance (the live link - connected,
errors - is ``GET /api/v1/federation``)."""

from __future__ import annotations

from pathlib import Path

from floki_core.config import FederationConfig
from floki_core.storage import outbox
from floki_core.storage.database import Database


def shown_server(url: str) -> str:
    """A hub URL without any user or password written into it."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}"


def status_lines(db: Database, settings: FederationConfig | None, config_file: Path) -> list[str]:
    if settings is None:
        return [f"federation: off (no [federation] section in {config_file})"]
    with db.sessions() as session:
        found = outbox.backlog(session)
    newest = found.newest_seq or 0
    # Rows are deleted once the hub's stream has them: what is older than the oldest
    # waiting row has been sent (or, past the bound, dropped as a superseded move).
    sent = found.oldest_seq - 1 if found.oldest_seq is not None else newest
    return [
        "federation: on",
        f"site: {settings.site_id}",
        f"servers: {', '.join(shown_server(u) for u in settings.servers)}",
        f"events kept for the hub: {newest}",
        f"sent through seq: {sent}",
        f"backlog events: {found.rows}",
        f"backlog bound: {settings.max_backlog_events}",
        f"oldest waiting seq: {found.oldest_seq if found.oldest_seq is not None else '-'}",
        "link state (connected, last error): GET /api/v1/federation on the running appliance",
    ]
