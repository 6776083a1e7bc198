"""Tag batteries: the latest level each tag reports, and which need replacing.

A source puts what a tag says about its battery in the observation's extras:
``battery_pct`` (percent, 0-100) and/or ``battery_mv`` (millivolts). The hot path only
keeps the newest such observation per tag; a background flush turns those into
readings, announces tags that went low (``tag.battery_low``) and upserts the readings
in one statement.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import logging
import math
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, cast

import msgspec
from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from floki_core.events import DomainEvent
from floki_core.location.settings import MAX_MILLIVOLTS, BatterySettings
from floki_core.observations import Extra, Observation
from floki_core.schemas import normalise_identifier
from floki_core.storage.models import AssetRow, TagBatteryRow

if TYPE_CHECKING:
    from floki_core.clock import Clock
    from floki_core.events import EventBus
    from floki_core.location.register_index import RegisterIndex
    from floki_core.storage.store import Store

log = logging.getLogger(__name__)

# The extras keys every technology uses for a battery reading.
EXTRA_PERCENT = "battery_pct"
EXTRA_MILLIVOLTS = "battery_mv"

MAX_TAGS = 100_000  # readings kept; when full, the tag heard longest ago makes room
MAX_PENDING = 50_000  # distinct tags waiting for one flush

_TABLE = cast(Table, TagBatteryRow.__table__)
Key = tuple[str, str]


class BatteryReading(msgspec.Struct, kw_only=True):
    """The latest battery reading of one tag."""

    technology: str
    tag: str
    level: float | None  # percent
    millivolts: int | None
    observed_at: dt.datetime
    receiver: str | None
    low: bool  # needs a battery (with hysteresis: stays low until clearly recovered)
    low_since: dt.datetime | None = None


class BatteryAsset(msgspec.Struct, kw_only=True):
    id: int
    asset_number: str
    description: str


class TagBattery(msgspec.Struct, kw_only=True):
    """One row of ``GET /api/v1/tags/batteries``."""

    technology: str
    tag: str
    level: float | None  # percent, 0-100, when the tag reports one
    millivolts: int | None  # when the tag reports one
    observed_at: dt.datetime
    receiver: str | None
    low: bool
    low_since: dt.datetime | None
    asset: BatteryAsset | None


# ---------------------------------------------------------------- values


def _number(value: Extra) -> float | None:
    # bool is an int to Python, but never a measurement.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def battery_percent(value: Extra) -> float | None:
    number = _number(value)
    return round(number, 1) if number is not None and 0 <= number <= 100 else None


def battery_millivolts(value: Extra) -> int | None:
    number = _number(value)
    # 0 mV is how beacons on mains power say "no battery".
    return round(number) if number is not None and 0 < number <= MAX_MILLIVOLTS else None


def is_low(
    settings: BatterySettings, level: float | None, millivolts: int | None, was_low: bool
) -> bool:
    """Below either threshold; a tag already low must rise past the recovery margin."""
    percent_line, mv_line = settings.low_percent, settings.low_millivolts
    if was_low:
        percent_line += settings.recover_percent
        mv_line += settings.recover_millivolts
    return (level is not None and level < percent_line) or (
        millivolts is not None and millivolts < mv_line
    )


def headroom(settings: BatterySettings, reading: BatteryReading) -> float:
    """How far above its threshold the reading is (1.0: on it), so percent and
    millivolt readings sort together."""
    ratios = []
    if reading.level is not None and settings.low_percent:
        ratios.append(reading.level / settings.low_percent)
    if reading.millivolts is not None and settings.low_millivolts:
        ratios.append(reading.millivolts / settings.low_millivolts)
    return min(ratios) if ratios else math.inf


# ---------------------------------------------------------------- storage


def write_readings(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Upsert readings as one executemany."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(_TABLE)
    columns = [c.name for c in _TABLE.columns if c.name not in ("technology", "tag")]
    stmt = stmt.on_conflict_do_update(
        index_elements=["technology", "tag"], set_={c: stmt.excluded[c] for c in columns}
    )
    session.execute(stmt, list(rows))


def load_readings(session: Session, limit: int = MAX_TAGS) -> list[BatteryReading]:
    """The most recently heard readings, oldest first."""
    rows = session.scalars(
        select(TagBatteryRow).order_by(TagBatteryRow.observed_at.desc()).limit(limit)
    )
    readings = [
        BatteryReading(
            technology=r.technology,
            tag=r.tag,
            level=r.level,
            millivolts=r.millivolts,
            observed_at=r.observed_at,
            receiver=r.receiver,
            low=r.low,
            low_since=r.low_since,
        )
        for r in rows
    ]
    readings.reverse()
    return readings


def asset_labels(session: Session, asset_ids: Iterable[int]) -> dict[int, BatteryAsset]:
    rows = session.execute(
        select(AssetRow.id, AssetRow.asset_number, AssetRow.description).where(
            AssetRow.id.in_(list(asset_ids))
        )
    )
    return {
        i: BatteryAsset(id=i, asset_number=number, description=description)
        for i, number, description in rows
    }


# ---------------------------------------------------------------- the service


class TagBatteries:
    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        events: EventBus,
        settings: BatterySettings,
        index: Callable[[], RegisterIndex],
    ) -> None:
        """``index``: the register index in use now (the location service's)."""
        self.store = store
        self.clock = clock
        self.events = events
        self.settings = settings
        self._index = index
        # Least recently heard first, so the one to forget when full is at the front.
        self.readings: collections.OrderedDict[Key, BatteryReading] = collections.OrderedDict()
        self._pending: dict[Key, Observation] = {}
        self._dirty: set[Key] = set()
        self._events: list[DomainEvent] = []
        self._write_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0  # readings refused because too many tags waited for one flush
        self.invalid = 0  # battery extras that were no plausible reading
        self.forgotten = 0  # readings dropped to keep within MAX_TAGS

    # --- life cycle ----------------------------------------------------------

    async def start(self) -> None:
        for reading in await self.store.read(load_readings):
            self.readings[(reading.technology, reading.tag)] = reading
        self._task = asyncio.create_task(self._flush_forever(), name="battery-writer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            await self.flush()
        except Exception as exc:
            if self.store.refused_write(exc, "writing tag batteries") is None:
                log.exception("writing tag batteries on the way down failed")

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.write_seconds)
            try:
                await self.flush()
            except Exception as exc:
                if self.store.refused_write(exc, "writing tag batteries") is None:
                    log.exception("writing tag batteries failed; will retry")

    # --- hot path ------------------------------------------------------------

    def observe(self, admitted: Sequence[Observation]) -> None:
        """Called on the hot path with every admitted batch; must stay cheap."""
        pending = self._pending
        for obs in admitted:
            extras = obs.extras
            if extras and (EXTRA_PERCENT in extras or EXTRA_MILLIVOLTS in extras):
                key = (obs.technology, obs.tag)
                held = pending.get(key)
                if held is None:
                    if len(pending) >= MAX_PENDING:
                        self.dropped += 1
                        continue
                elif obs.observed_at < held.observed_at:
                    continue  # a backlog arriving after a newer reading
                pending[key] = obs

    # --- off the hot path ----------------------------------------------------

    async def refresh(self) -> None:
        """Take in what the hot path kept, so a reader sees the latest readings."""
        self._absorb()

    async def flush(self) -> None:
        """Take in what the hot path kept, write every reading changed since the last
        flush, then announce the tags that went low: after the commit, so whoever acts
        on ``tag.battery_low`` finds the reading in the database."""
        async with self._write_lock:
            self._absorb()
            if not self._dirty and not self._events:
                return
            keys, self._dirty = self._dirty, set()
            low, self._events = self._events, []
            rows = [msgspec.structs.asdict(self.readings[k]) for k in keys if k in self.readings]
            try:
                # The tags that went low are kept for the trust hub with their readings.
                _, events = await self.store.write_events(
                    write_readings, rows, announce=lambda _: low
                )
            except Exception:
                self._dirty |= keys
                self._events = low + self._events
                raise
            await self.events.publish(events)

    def _absorb(self) -> None:
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        for (technology, spelled), obs in pending.items():
            level = battery_percent(obs.extras.get(EXTRA_PERCENT))
            millivolts = battery_millivolts(obs.extras.get(EXTRA_MILLIVOLTS))
            if level is None and millivolts is None:
                self.invalid += 1
                continue
            key = (technology, normalise_identifier(technology, spelled))
            before = self.readings.get(key)
            if before is not None and obs.observed_at < before.observed_at:
                continue  # a gateway's backlog never replaces a newer reading
            was_low = before is not None and before.low
            low = is_low(self.settings, level, millivolts, was_low)
            low_since = None
            if low:
                low_since = before.low_since if before is not None and was_low else None
                low_since = low_since or obs.observed_at
            reading = BatteryReading(
                technology=key[0],
                tag=key[1],
                level=level,
                millivolts=millivolts,
                observed_at=obs.observed_at,
                receiver=obs.receiver,
                low=low,
                low_since=low_since,
            )
            if before is None and len(self.readings) >= MAX_TAGS:
                forgotten, _ = self.readings.popitem(last=False)
                self._dirty.discard(forgotten)
                self.forgotten += 1
            self.readings[key] = reading
            self.readings.move_to_end(key)
            self._dirty.add(key)
            if low and not was_low:
                self._events.append(self._event(reading))

    def _event(self, reading: BatteryReading) -> DomainEvent:
        asset_id = self._index().asset_for(reading.technology, reading.tag)
        return DomainEvent(
            type="tag.battery_low",
            at=reading.observed_at,
            entity="tags",
            entity_id=f"{reading.technology}:{reading.tag}",
            data={
                "technology": reading.technology,
                "tag": reading.tag,
                "asset_id": asset_id,
                "level": reading.level,
                "millivolts": reading.millivolts,
                "observed_at": reading.observed_at.isoformat(),
                "receiver": reading.receiver,
                "low_percent": self.settings.low_percent,
                "low_millivolts": self.settings.low_millivolts,
            },
        )

    # --- answers -------------------------------------------------------------

    def listing(
        self, *, low: bool | None = None, technology: str | None = None
    ) -> list[BatteryReading]:
        """Readings, tags needing a battery first, then lowest (against its threshold)."""
        settings = self.settings
        found = [
            r
            for r in self.readings.values()
            if (low is None or r.low == low) and (technology is None or r.technology == technology)
        ]
        found.sort(key=lambda r: (not r.low, headroom(settings, r), r.technology, r.tag))
        return found

    def low_count(self) -> int:
        return sum(1 for r in self.readings.values() if r.low)
