"""Tag and receiver identifiers not stored in their kind's spelling, for ``floki-core check``.

The register stores every identifier in one spelling per kind
(``schemas.normalise_identifier``) and migration 0009 rewrote what earlier releases had
stored as typed. What is left is named here:

- two or more rows that are one tag (or receiver) spelled differently: the upgrade could
  not merge them without perhaps giving a tag to the wrong asset, so an engineer removes
  the wrong one; until then a sighting or a scan may be taken for either;
- a single row in another spelling or of only spaces, which can only have been written
  around the register;
- a tag, or an asset's GIAI, that the register now refuses (a value stored before the
  register checked its kind, e.g. a GIAI with brackets): no scan or sighting finds it
  reliably until it is corrected.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from floki_core.schemas import giai_problem, identifier_problem, normalise_identifier
from floki_core.storage.models import AssetRow, IdentifierRow, ReceiverRow

_SPELLED_IN_WORDS = {2: "two", 3: "three"}


@dataclass(frozen=True)
class _Stored:
    id: int
    technology: str
    value: str
    owner: str  # "asset E1001" for a tag, the receiver's name for a receiver


@dataclass(frozen=True)
class _Kind:
    noun: str  # "identifier", "receiver"
    thing: str  # "tag", "receiver"
    path: str  # where an engineer removes or corrects one
    fix: str  # what to do with a single row in another spelling


_TAGS = _Kind(
    "identifier", "tag", "/api/v1/identifiers", "delete it and add it again (DELETE {path}/{id})"
)
_RECEIVERS = _Kind("receiver", "receiver", "/api/v1/receivers", "correct it ({path}/{id})")


def identifier_spelling_problems(session: Session) -> list[str]:
    """One line per identifier or receiver not in its kind's spelling (a group of rows
    that are one tag spelled differently is one line); [] if there are none."""
    tags = session.execute(
        select(
            IdentifierRow.id, IdentifierRow.technology, IdentifierRow.value, AssetRow.asset_number
        )
        .join(AssetRow, AssetRow.id == IdentifierRow.asset_id, isouter=True)
        .order_by(IdentifierRow.id)
    )
    receivers = session.execute(
        select(
            ReceiverRow.id, ReceiverRow.technology, ReceiverRow.identifier, ReceiverRow.name
        ).order_by(ReceiverRow.id)
    )
    stored_tags = [_Stored(i, t, v, f"asset {n}") for i, t, v, n in tags]
    return [
        *_problems(_TAGS, stored_tags),
        *_problems(_RECEIVERS, (_Stored(i, t, v, name) for i, t, v, name in receivers)),
        *_refused_now(session, stored_tags),
    ]


def _refused_now(session: Session, tags: Iterable[_Stored]) -> list[str]:
    problems = [
        f"identifier {tag.id} ({tag.technology}, {tag.owner}): {problem}; correct it "
        f"(delete it and add it again: {_TAGS.path}/{tag.id})"
        for tag in tags
        if (problem := identifier_problem(tag.technology, tag.value)) is not None
    ]
    giais = session.execute(
        select(AssetRow.id, AssetRow.asset_number, AssetRow.giai)
        .where(AssetRow.giai.is_not(None))
        .order_by(AssetRow.id)
    )
    problems += [
        f"asset {number}: {problem}; correct it (PATCH /api/v1/assets/{asset_id})"
        for asset_id, number, giai in giais
        if giai is not None and (problem := giai_problem(giai)) is not None
    ]
    return problems


def _problems(kind: _Kind, rows: Iterable[_Stored]) -> list[str]:
    spellings: dict[tuple[str, str], list[_Stored]] = defaultdict(list)
    for row in rows:
        spellings[(row.technology, normalise_identifier(row.technology, row.value))].append(row)
    problems = []
    for (technology, spelled), group in spellings.items():
        if len(group) > 1:
            problems.append(_one_spelled_several_ways(kind, technology, spelled, group))
            continue
        (row,) = group
        if row.value == spelled:
            continue
        fix = kind.fix.format(path=kind.path, id=row.id)
        if not spelled:
            problems.append(
                f"{kind.noun} {row.id} ({row.technology}, {row.owner}) is only spaces: "
                f"{'correct or delete it' if kind is _RECEIVERS else 'delete it'} "
                f"({kind.path}/{row.id})"
            )
            continue
        problems.append(
            f"{kind.noun} {row.id} ({row.technology}, {row.owner}) is stored as "
            f"{row.value!r}, not in its spelling {spelled!r}: {fix}"
        )
    return problems


def _one_spelled_several_ways(
    kind: _Kind, technology: str, spelled: str, group: Sequence[_Stored]
) -> str:
    named = [f"{r.id} ({r.value!r}, {r.owner})" for r in group]
    rows = f"{', '.join(named[:-1])} and {named[-1]}"
    ways = _SPELLED_IN_WORDS.get(len(group), str(len(group)))
    if kind is _TAGS:
        owners = {r.owner for r in group}
        if len(owners) == 1:
            what = f"delete all but one ({kind.path}/{{id}})"
        else:
            what = (
                f"a sighting or scan of it may be taken for any of them; delete the wrong "
                f"ones ({kind.path}/{{id}})"
            )
    else:
        what = f"correct or delete the wrong ones ({kind.path}/{{id}})"
    return (
        f"{kind.noun}s {rows} are one {technology} {kind.thing} spelled {ways} ways "
        f"({spelled!r}): {what}"
    )
