"""The outbox on SQLite and on a real PostgreSQL server: one sequence per site that only
goes forward, rows that exist exactly when the transaction that wrote them committed,
and the backlog bound's coalescing of superseded moves."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time

import pytest

from floki_core.events import DomainEvent
from floki_core.storage import outbox
from floki_core.storage.database import Database

AT = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
KEEP = outbox.Outbox("north", "floki.site")


def move(asset_id: int, zone: str) -> DomainEvent:
    return DomainEvent(
        type="location.changed", at=AT, entity="assets", entity_id=asset_id, data={"zone": zone}
    )


def state(asset_id: int, to_state: str) -> DomainEvent:
    return DomainEvent(
        type="asset.state_changed",
        at=AT,
        entity="assets",
        entity_id=asset_id,
        data={"to_state": to_state},
    )


def keep(db: Database, *events: DomainEvent) -> None:
    with db.transaction() as session:
        KEEP.append(session, events)


def waiting(db: Database) -> list[tuple[int, str, dict[str, object]]]:
    with db.sessions() as session:
        rows = outbox.pending(session, 1000)
    return [(r.seq, r.subject, json.loads(r.payload)) for r in rows]


def test_each_event_is_kept_as_the_message_the_hub_will_get(database: Database) -> None:
    keep(database, move(7, "Bay 7A"), state(7, "dirty"))
    [(seq1, subject1, body1), (seq2, subject2, _)] = waiting(database)
    assert (seq1, seq2) == (1, 2)
    assert subject1 == "floki.site.north.events.location.changed"
    assert subject2 == "floki.site.north.events.asset.state_changed"
    assert body1 == {
        "format": 1,
        "site": "north",
        "seq": 1,
        "type": "location.changed",
        "occurred_at": "2026-01-05T09:00:00Z",
        "entity": "assets",
        "entity_id": 7,
        "data": {"zone": "Bay 7A"},
    }


def test_the_sequence_goes_on_after_rows_are_sent_and_skips_nothing_rolled_back(
    database: Database,
) -> None:
    keep(database, move(1, "A"), move(2, "A"), move(3, "A"))
    with database.transaction() as session:
        assert outbox.remove_through(session, 3) == 3
    with pytest.raises(RuntimeError), database.transaction() as session:
        KEEP.append(session, [state(1, "dirty")])
        raise RuntimeError("the change it describes failed")
    keep(database, state(1, "faulty"), state(2, "dirty"))
    assert [seq for seq, _, _ in waiting(database)] == [4, 5]
    with database.sessions() as session:
        found = outbox.backlog(session)
    assert (found.rows, found.oldest_seq, found.newest_seq) == (2, 4, 5)


def test_coalescing_drops_only_superseded_moves_oldest_first(database: Database) -> None:
    keep(database, move(1, "A"), move(2, "A"), state(1, "dirty"))  # 1, 2, 3
    keep(database, move(1, "B"), move(1, "C"), move(2, "B"))  # 4, 5, 6
    with database.transaction() as session:
        assert outbox.coalesce(session, 2) == 2  # the two oldest superseded: 1 and 2
    assert [seq for seq, _, _ in waiting(database)] == [3, 4, 5, 6]
    with database.transaction() as session:
        assert outbox.coalesce(session, 100) == 1  # only 4 is left superseded
    left = waiting(database)
    assert [seq for seq, _, _ in left] == [3, 5, 6]
    # Each asset's newest move is kept, and the state change whatever the backlog.
    assert [(b["type"], b["entity_id"]) for _, _, b in left] == [
        ("asset.state_changed", 1),
        ("location.changed", 1),
        ("location.changed", 2),
    ]


def test_a_later_transaction_waits_for_the_number_before_it_to_commit(
    database: Database,
) -> None:
    """Sequence order is commit order: a writer that took a number holds the sequence
    until it commits, so no later number can reach the hub before it."""
    keep(database, move(1, "A"))
    numbered, release = threading.Event(), threading.Event()
    done: list[str] = []

    def first() -> None:
        with database.transaction() as session:
            KEEP.append(session, [state(1, "dirty")])
            numbered.set()
            release.wait(10)
        done.append("first")

    def second() -> None:
        numbered.wait(10)
        with database.transaction() as session:
            KEEP.append(session, [state(2, "dirty")])
        done.append("second")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    numbered.wait(10)
    time.sleep(0.3)
    held = list(done)
    release.set()
    for thread in threads:
        thread.join(15)
    assert held == []  # the second writer was held while the first had not committed
    assert done == ["first", "second"]
    assert [(seq, body["entity_id"]) for seq, _, body in waiting(database)] == [
        (1, 1),
        (2, 1),
        (3, 2),
    ]
