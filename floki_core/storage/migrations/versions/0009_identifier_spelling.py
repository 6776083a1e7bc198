"""identifier spelling: tags and receivers stored by earlier releases, in one spelling

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 10:00:00

Earlier releases stored some identifiers as typed (an AltBeacon id or a QR code in lower
case, a MAC without colons). Each ``identifiers.value`` and ``receivers.identifier`` is
rewritten here into its kind's one spelling, the one the register now stores, the
decoders report and the QR plugin looks codes up by.

A row whose new spelling is another row's (``qr`` 'abc' on one asset, 'ABC' on another)
is one tag registered twice: merging them could give a tag to the wrong asset, so such
rows are left as stored and named in a warning; ``floki-core check`` keeps naming them
(``floki_core.storage.identifier_spelling``) until an engineer removes the wrong one.

One audit entry records every value changed (before and after, by row id).
"""

import datetime as dt
import logging
import re
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from alembic import op

from floki_core.storage.audit import append_audit_rows

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("floki_core.storage.migrations")

# ---------------------------------------------------------------- frozen spelling rules
#
# A copy of the rules in floki_core/schemas.py as they were when this revision was
# written, so this upgrade gives the same result whatever later releases change there.
# It mirrors schemas.py's spell_uuid, spell_mac, spell_ibeacon, spell_eddystone,
# spell_altbeacon, spell_epc, spell_label_code, IDENTIFIER_KINDS, identifier_kind and
# normalise_identifier; tests/core/test_identifier_migration.py checks that the two agree
# on a table of inputs. Do not edit it to follow schemas.py: a later change of spelling
# needs a migration of its own.

_HEX = "0-9A-Fa-f"
_NOT_HEX = re.compile(f"[^{_HEX}]")
_MAC_FORMS = re.compile(
    rf"[{_HEX}]{{12}}"
    rf"|[{_HEX}]{{2}}([:\-. ])[{_HEX}]{{2}}(?:\1[{_HEX}]{{2}}){{4}}"
    rf"|[{_HEX}]{{4}}\.[{_HEX}]{{4}}\.[{_HEX}]{{4}}"
)
_UUID = rf"[{_HEX}]{{8}}-?[{_HEX}]{{4}}-?[{_HEX}]{{4}}-?[{_HEX}]{{4}}-?[{_HEX}]{{12}}"
_IBEACON_FORMS = re.compile(
    rf"(?:ibeacon:)?\{{?(?P<uuid>{_UUID})\}}?"
    r"[:\-/, ] *(?P<major>[0-9]{1,5})[:\-/, ] *(?P<minor>[0-9]{1,5})",
    re.IGNORECASE,
)
_EDDYSTONE_FORMS = re.compile(
    rf"(?:eddy(?:stone)?:)?(?:0x)?(?P<namespace>[{_HEX}]{{20}})"
    rf"[:\-/ ]?(?:0x)?(?P<instance>[{_HEX}]{{12}})",
    re.IGNORECASE,
)
_ALTBEACON_ESPRESENSE = re.compile(
    rf"altbeacon:(?P<uuid>{_UUID})-(?P<major>[0-9]{{1,5}})-(?P<minor>[0-9]{{1,5}})",
    re.IGNORECASE,
)
_ALTBEACON_FORMS = re.compile(rf"(?:altbeacon:)?(?:0x)?(?P<id>[{_HEX}:\- ]+)", re.IGNORECASE)
_EPC_FORMS = re.compile(rf"(?:0x)?[{_HEX}][{_HEX}\- ]*", re.IGNORECASE)


def _spell_uuid(text: str) -> str:
    digits = text.replace("-", "").upper()
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def _spell_mac(text: str) -> str | None:
    if not _MAC_FORMS.fullmatch(text):
        return None
    digits = _NOT_HEX.sub("", text).upper()
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def _spell_ibeacon(text: str) -> str | None:
    found = _IBEACON_FORMS.fullmatch(text)
    if found is None:
        return None
    major, minor = int(found["major"]), int(found["minor"])
    if major > 0xFFFF or minor > 0xFFFF:
        return None
    return f"{_spell_uuid(found['uuid'])}:{major}:{minor}"


def _spell_eddystone(text: str) -> str | None:
    found = _EDDYSTONE_FORMS.fullmatch(text)
    if found is None:
        return None
    return f"{found['namespace'].upper()}:{found['instance'].upper()}"


def _spell_altbeacon(text: str) -> str | None:
    espresense = _ALTBEACON_ESPRESENSE.fullmatch(text)
    if espresense is not None:
        major, minor = int(espresense["major"]), int(espresense["minor"])
        if major > 0xFFFF or minor > 0xFFFF:
            return None
        return f"{espresense['uuid'].replace('-', '').upper()}{major:04X}{minor:04X}"
    found = _ALTBEACON_FORMS.fullmatch(text)
    if found is None:
        return None
    digits = _NOT_HEX.sub("", found["id"])
    return digits.upper() if len(digits) == 40 else None


def _spell_epc(text: str) -> str | None:
    if not _EPC_FORMS.fullmatch(text):
        return None
    return _NOT_HEX.sub("", text[2:] if text[:2] in ("0x", "0X") else text).upper()


def _spell_label_code(text: str) -> str:
    return text.upper()


def _spell_as_typed(text: str) -> str:
    return text


@dataclass(frozen=True)
class _Kind:
    spell: Callable[[str], str | None]
    beacon: bool = False  # text that is not of the kind is upper-cased, not kept as typed


_MAC, _TEXT, _LABEL, _EPC = (
    _Kind(_spell_mac),
    _Kind(_spell_as_typed),
    _Kind(_spell_label_code),
    _Kind(_spell_epc),
)
_KINDS: Mapping[str, _Kind] = {
    "ble": _MAC,
    "wifi": _MAC,
    "ibeacon": _Kind(_spell_ibeacon, beacon=True),
    "eddystone": _Kind(_spell_eddystone, beacon=True),
    "altbeacon": _Kind(_spell_altbeacon, beacon=True),
    "rfid": _EPC,
    "rfid_epc": _EPC,
    "qr": _LABEL,
    "barcode": _LABEL,
}


def normalise_identifier(technology: str, value: str) -> str:
    """``value`` in its kind's spelling, by the rules of this revision."""
    text = value.strip()
    kind = _KINDS.get(technology) or (_MAC if technology.endswith("mac") else _TEXT)
    spelled = kind.spell(text)
    if spelled is not None:
        return spelled
    return text.upper() if kind.beacon else text


# ---------------------------------------------------------------- the rewrite


@dataclass(frozen=True)
class _Row:
    id: int
    technology: str
    value: str
    owner: str  # what the row belongs to, for the log: "asset E1001", "receiver 'Door'"


@dataclass(frozen=True)
class _Table:
    noun: str  # "identifier", "receiver"
    table: sa.TableClause
    column: str  # the identifier's column


_IDENTIFIERS = _Table(
    "identifier",
    sa.table(
        "identifiers",
        sa.column("id", sa.Integer()),
        sa.column("asset_id", sa.Integer()),
        sa.column("technology", sa.String()),
        sa.column("value", sa.String()),
    ),
    "value",
)
_RECEIVERS = _Table(
    "receiver",
    sa.table(
        "receivers",
        sa.column("id", sa.Integer()),
        sa.column("name", sa.String()),
        sa.column("technology", sa.String()),
        sa.column("identifier", sa.String()),
    ),
    "identifier",
)
_ASSETS = sa.table("assets", sa.column("id", sa.Integer()), sa.column("asset_number", sa.String()))


def _rows(bind: sa.Connection, where: _Table) -> list[_Row]:
    t = where.table
    if where is _IDENTIFIERS:
        query = sa.select(t.c.id, t.c.technology, t.c.value, _ASSETS.c.asset_number).join(
            _ASSETS, _ASSETS.c.id == t.c.asset_id, isouter=True
        )
        return [
            _Row(i, tech, value, f"asset {number}")
            for i, tech, value, number in bind.execute(query)
        ]
    query = sa.select(t.c.id, t.c.technology, t.c.identifier, t.c.name)
    return [
        _Row(i, tech, value, f"receiver {name!r}") for i, tech, value, name in bind.execute(query)
    ]


def _plan(rows: list[_Row], noun: str) -> tuple[dict[int, str], list[str]]:
    """The new spelling of each row that may take it, and why each other row whose
    spelling differs is left as stored.

    A row takes its spelling only if no other row holds it now and no other row would
    take it too; unique keys then never clash, whatever order the updates run in."""
    holder = {(r.technology, r.value): r for r in rows}
    wanting: dict[tuple[str, str], list[_Row]] = defaultdict(list)
    left: list[str] = []

    def leave(row: _Row, why: str) -> None:
        left.append(f"{noun} {row.id} ({row.technology} {row.value!r}, {row.owner}) {why}")

    for row in rows:
        spelled = normalise_identifier(row.technology, row.value)
        if spelled == row.value:
            continue
        taken = holder.get((row.technology, spelled))
        if not spelled:
            leave(row, "left as stored: it is only spaces")
        elif taken is not None:
            mine = f"its spelling {spelled!r} is {noun} {taken.id}'s ({taken.owner})"
            leave(row, f"left as stored: {mine}")
        else:
            wanting[(row.technology, spelled)].append(row)
    changes: dict[int, str] = {}
    for (_technology, spelled), group in wanting.items():
        if len(group) == 1:
            changes[group[0].id] = spelled
            continue
        *others, last = (str(r.id) for r in group)
        ids, both = f"{', '.join(others)} and {last}", "both" if len(group) == 2 else "all"
        for row in group:
            leave(row, f"left as stored: {noun}s {ids} would {both} be {spelled!r}")
    return changes, left


def _rewrite(bind: sa.Connection, where: _Table, changes: Mapping[int, str]) -> None:
    if not changes:
        return
    t = where.table
    statement = (
        sa.update(t)
        .where(t.c.id == sa.bindparam("row_id"))
        .values({where.column: sa.bindparam("spelled")})
    )
    bind.execute(statement, [{"row_id": i, "spelled": v} for i, v in changes.items()])


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def upgrade() -> None:
    bind = op.get_bind()
    before: dict[str, dict[str, str]] = {}
    after: dict[str, dict[str, str]] = {}
    changed: dict[str, int] = {}
    held: dict[str, int] = {}
    for where in (_IDENTIFIERS, _RECEIVERS):
        rows = _rows(bind, where)
        changes, left = _plan(rows, where.noun)
        _rewrite(bind, where, changes)
        old = {r.id: r.value for r in rows}
        key = where.table.name
        # String keys: JSON has no others, and the audit hash is taken before storing.
        before[key] = {str(i): old[i] for i in sorted(changes)}
        after[key] = {str(i): changes[i] for i in sorted(changes)}
        changed[key], held[key] = len(changes), len(left)
        for reason in left:
            log.warning(
                "identifier spelling (migration 0009): %s; floki-core check names it "
                "until it is removed or corrected",
                reason,
            )
    if not any(changed.values()):
        return
    detail = (
        f"{_count(changed['identifiers'], 'identifier')} and "
        f"{_count(changed['receivers'], 'receiver')} rewritten into their kind's spelling"
    )
    if any(held.values()):
        detail += (
            f"; {_count(held['identifiers'], 'identifier')} and "
            f"{_count(held['receivers'], 'receiver')} left as stored (floki-core check names them)"
        )
    # One entry on the hash chain for the whole rewrite, by the audit trail's own code (a
    # copy of the chaining here could fork the chain's definition). It inserts through
    # today's model of audit_entries, so a later release that adds a column there must
    # keep this call working on the table as 0008 left it (a server default, say).
    append_audit_rows(
        bind,
        [
            {
                "at": dt.datetime.now(dt.UTC),
                "actor": "system",
                "action": "respell",
                "entity": "register",
                "entity_id": revision,
                "before": before,
                "after": after,
                "detail": f"migration 0009, identifier spelling: {detail}",
            }
        ],
    )


def downgrade() -> None:
    # Nothing to undo: the old spellings name the same tags (every reader normalises
    # what it looks up), and putting them back would only bring back two spellings of
    # one tag. The audit entry written at upgrade records them.
    pass
