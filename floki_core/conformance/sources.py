"""The conformance kit for sources: the long-running inputs of a plugin (a radio, a
broker feed, a serial port) and the gateway routes that take uploads.

A plugin author subclasses :class:`SourceConformance`, says which source it checks, what
good input must arrive as (``expected``) and what bad input must be counted as
(``bad_reasons``), and supplies a *device* (the ``source_device`` fixture): the thing
that feeds the source, as a test drives it. The inherited tests then run the source in
a real appliance, loaded through the plugin's entry point::

    class TestWardSensorConformance(SourceConformance):
        plugin = "ward"
        source = "ward-sensors"
        expected = (Sighting("wardtag", "T-1", receiver="bay-1"),)
        bad_reasons = {"bad_frame": 1}

        @pytest.fixture
        def source_device(self, tmp_path):
            return FakeSensorPort(tmp_path)
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import logging
import math
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

import pytest

from floki_core.conformance.appliance import ConformanceFailure, Watched
from floki_core.conformance.common import DecoderConformance, PluginConformance
from floki_core.conformance.watch import resources
from floki_core.observations import Observation
from floki_core.testing import Floki

RESENT_EVERY_SECONDS = 0.2  # while waiting for a source to come back, good input is re-sent
BATCH_ATTEMPTS = 3  # sendings of good input before "not batched" is a failure
ARRIVES_WITHIN_SECONDS = 10.0  # generous for a loaded machine; a passing source is quick
STATUSES_DOWN = frozenset({"backoff", "degraded", "failed"})


@dataclass(frozen=True)
class Sighting:
    """An observation good input must arrive as.

    ``observed_at`` None: stamped with the appliance's clock as it arrived (the source
    knows no better time). ``receiver_technology`` is what the receiver is registered as
    (default: ``technology``). A sighting at coordinates (GPS, a located Wi-Fi client)
    names no receiver and gives ``lat``/``lon``: the kit draws a zone on the map around
    them, which the asset must be placed in, and the observation must carry them.
    """

    technology: str
    tag: str
    receiver: str | None
    observed_at: dt.datetime | None = None
    receiver_technology: str | None = None
    lat: float | None = None
    lon: float | None = None


AREA_HALF_SIDE_M = 1000.0  # the zone drawn around a sighting at coordinates


def _square_around(lat: float, lon: float) -> list[list[float]]:
    """A square of 2 km around (lat, lon), as [lon, lat] vertices: wide enough that any
    fix of a real receiver's accuracy lies wholly inside it."""
    d_lat = AREA_HALF_SIDE_M / 111_320.0
    d_lon = AREA_HALF_SIDE_M / (111_320.0 * max(math.cos(math.radians(lat)), 0.01))
    return [
        [lon - d_lon, lat - d_lat],
        [lon + d_lon, lat - d_lat],
        [lon + d_lon, lat + d_lat],
        [lon - d_lon, lat + d_lat],
        [lon - d_lon, lat - d_lat],
    ]


class SourceDevice(Protocol):
    """What feeds a source, driven by the test: a synthetic radio, a broker, a pty ...

    ``open`` is called before the appliance starts and ``close`` after it has stopped (and
    again if the test failed: it must not mind being called twice);
    ``settings`` is then the ``[plugin.<name>]`` section that points the source at it.
    ``send_good`` and ``send_bad`` deliver every good (bad) input at once, as a real
    device would deliver a burst; ``lose`` takes the device or connection away and
    ``restore`` brings it back.
    """

    async def open(self) -> None: ...

    def settings(self) -> Mapping[str, Any]: ...

    async def send_good(self, floki: Floki) -> None: ...

    async def send_bad(self, floki: Floki) -> None: ...

    async def lose(self) -> None: ...

    async def restore(self) -> None: ...

    async def close(self) -> None: ...


class SourceConformance(PluginConformance, DecoderConformance):
    """Inherited tests for one source of a plugin. See the module docstring."""

    source: ClassVar[str]  # the source's name in GET /api/v1/sources (and /plugins)
    expected: ClassVar[Sequence[Sighting]]  # what send_good must arrive as
    bad_reasons: ClassVar[Mapping[str, int]]  # what send_bad must be counted as
    # Those of bad_reasons the source drops by design (sink.reject(..., expected=True):
    # a Wi-Fi feed's phones nobody tracks): logged once an interval at INFO, not WARNING.
    expected_reasons: ClassVar[frozenset[str]] = frozenset()
    # False for an input that is no task of its own (a gateway route): it has no status.
    supervised: ClassVar[bool] = True
    # True when the device can only be found missing as the source (re)starts (a radio
    # whose disappearance nothing reports): it is lost before the appliance starts.
    lost_before_start: ClassVar[bool] = False
    # How long a reason is logged only once for (the plugin's own interval).
    log_interval_seconds: ClassVar[float] = 60.0

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # A route keeps no connection to lose: the check is not run, rather than skipped.
        if not cls.supervised and "test_a_lost_device_shows_with_a_reason_and_recovers" not in (
            cls.__dict__
        ):
            cls.test_a_lost_device_shows_with_a_reason_and_recovers = None  # type: ignore[assignment]

    # How long bad input may take to show in GET /api/v1/sources.
    counted_within_seconds: ClassVar[float] = 5.0

    @pytest.fixture
    def source_device(self) -> SourceDevice:
        raise NotImplementedError("define the source_device fixture in the test class")

    # --- driving ---------------------------------------------------------------------------

    async def register(self, run: Watched) -> dict[tuple[str, str], tuple[int, int]]:
        """Receivers and tagged assets for ``expected``: one zone per receiver, one asset
        per tag. Returns (technology, tag) -> (asset id, zone id of its receiver)."""
        site = await run.post("/sites", {"name": "Conformance General"})
        zones: dict[str | None, int] = {}
        for sighting in self.expected:
            if sighting.receiver in zones or sighting.receiver is None:
                continue
            zone = await run.post(
                "/zones", {"site_id": site["id"], "name": f"Bay of {sighting.receiver}"}
            )
            zones[sighting.receiver] = zone["id"]
            await run.post(
                "/receivers",
                {
                    "name": f"receiver {sighting.receiver}",
                    "technology": sighting.receiver_technology or sighting.technology,
                    "identifier": sighting.receiver,
                    "zone_id": zone["id"],
                },
            )
        places: dict[tuple[float, float], int] = {}
        for sighting in self.expected:
            if sighting.lat is None or sighting.lon is None:
                continue
            where = (sighting.lat, sighting.lon)
            if where not in places:
                zone = await run.post(
                    "/zones",
                    {
                        "site_id": site["id"],
                        "name": f"Area {len(places) + 1}",
                        "geo_polygon": _square_around(*where),
                    },
                )
                places[where] = zone["id"]
        assets: dict[tuple[str, str], tuple[int, int]] = {}
        for number, sighting in enumerate(self.expected, 1):
            key = (sighting.technology, sighting.tag)
            if key in assets:
                continue
            asset = await run.post(
                "/assets", {"asset_number": f"CONF-{number:04d}", "description": "Pump"}
            )
            await run.post(
                "/identifiers",
                {"asset_id": asset["id"], "technology": sighting.technology, "value": sighting.tag},
            )
            if sighting.lat is not None and sighting.lon is not None:
                zone_id = places[(sighting.lat, sighting.lon)]
            else:
                zone_id = zones.get(sighting.receiver, 0)
            assets[key] = (asset["id"], zone_id)
        await run.core.locations.reindex()
        return assets

    async def running(self, run: Watched) -> None:
        """Wait until the source is running (a gateway route always is)."""
        if not self.supervised:
            return

        async def up() -> bool:
            entry = await run.source_entry(self.source)
            return bool(entry["status"] == "running")

        await Floki.eventually(up, f"source {self.source} to run")

    async def good_arrives(self, run: Watched, device: SourceDevice, *, resend: bool) -> int:
        """Send good input (again every 0.2 s when ``resend``: a source coming back may
        miss the first) until a batch of it arrives; returns the batches seen before."""
        loop = asyncio.get_running_loop()
        seen = len(run.delivered.of(self.source))
        await device.send_good(run.floki)
        sent, deadline = loop.time(), loop.time() + ARRIVES_WITHIN_SECONDS
        while len(run.delivered.of(self.source)) == seen:
            if loop.time() > deadline:
                raise ConformanceFailure(
                    f"good input never reached the core from {self.source} in "
                    f"{ARRIVES_WITHIN_SECONDS:g} s"
                )
            await asyncio.sleep(0.01)
            if resend and loop.time() - sent >= RESENT_EVERY_SECONDS:
                await device.send_good(run.floki)
                sent = loop.time()
        return seen

    async def all_good_arrived(self, run: Watched, since: int) -> list[Observation]:
        want = len(self.expected)

        def arrived() -> list[Observation]:
            return [o for b in run.delivered.of(self.source)[since:] for o in b]

        await Floki.eventually(
            lambda: len(arrived()) >= want, f"{want} observations from {self.source}"
        )
        await run.settle()
        return arrived()

    @contextlib.asynccontextmanager
    async def session(
        self, tmp_path: Path, template: Path, device: SourceDevice, *, lost: bool = False
    ) -> AsyncIterator[Watched]:
        """The device opened (and lost first, when ``lost``), the appliance started with
        it; on the way out the appliance stopped, the device closed, and the kit's checks
        made on what is left."""
        before = resources()
        await device.open()
        try:
            if lost:
                await device.lose()
            async with self.appliance(
                tmp_path, template, self._settings(device), before=before, on_stopped=device.close
            ) as run:
                yield run
        finally:
            await device.close()

    async def _check_batched(
        self, run: Watched, device: SourceDevice, seen: int, arrived: list[Observation]
    ) -> None:
        """Input sent together is delivered in fewer batches than observations. A source
        that cuts batches on a timer may split one sending across a tick now and then on a
        loaded machine, so the sending is repeated before failing; a source that does not
        batch splits every one."""
        batches = run.delivered.of(self.source)[seen:]
        for _ in range(BATCH_ATTEMPTS - 1):
            if len(batches) < len(arrived):
                return
            seen = len(run.delivered.of(self.source))
            await device.send_good(run.floki)
            arrived = await self.all_good_arrived(run, seen)
            batches = run.delivered.of(self.source)[seen:]
        assert len(batches) < len(arrived), (
            f"{self.source} delivered {len(arrived)} observations in {len(batches)} "
            f"batches, {BATCH_ATTEMPTS} times: deliver what arrives together as one batch"
        )

    # --- inherited tests -------------------------------------------------------------------

    async def test_good_input_arrives_batched_with_its_claims_and_binds(
        self, tmp_path: Path, floki_migrated_database: Path, source_device: SourceDevice
    ) -> None:
        async with self.session(tmp_path, floki_migrated_database, source_device) as run:
            assets = await self.register(run)
            await self.running(run)
            now = run.floki.clock.now()
            seen = await self.good_arrives(run, source_device, resend=False)
            arrived = await self.all_good_arrived(run, seen)
            self._check_claims(arrived, now)
            if len(self.expected) > 1:
                await self._check_batched(run, source_device, seen, arrived)
            for (technology, tag), (asset_id, zone_id) in assets.items():
                where = await run.get(f"/assets/{asset_id}/location", "viewer")
                assert where.get("located") and where["zone"]["id"] == zone_id, (
                    f"{technology} {tag} did not place its asset in its receiver's zone: {where}"
                )
            unknown = await run.get("/unknown-tags", "viewer")
            assert not unknown["items"], f"bound tags listed as unknown: {unknown['items']}"

    async def test_bad_input_is_counted_by_reason_logged_once_and_locates_nothing(
        self, tmp_path: Path, floki_migrated_database: Path, source_device: SourceDevice
    ) -> None:
        async with self.session(tmp_path, floki_migrated_database, source_device) as run:
            assets = await self.register(run)
            await self.running(run)
            restarts = await self._restarts(run)
            for times in (1, 2):
                await source_device.send_bad(run.floki)
                await self._counted(run, times)
            await run.settle()
            counters = await run.counters(self.source)
            assert not counters.get("accepted"), (
                f"bad input from {self.source} was accepted: {counters}"
            )
            for (technology, tag), (asset_id, _zone) in assets.items():
                where = await run.get(f"/assets/{asset_id}/location", "viewer")
                assert not where.get("located"), f"bad input placed {technology} {tag}"
            if self.supervised:
                entry = await run.source_entry(self.source)
                assert entry["status"] == "running" and entry["restarts"] == restarts, (
                    f"bad input stopped source {self.source}: {entry}"
                )
            self._logged_once(run)

    async def test_a_lost_device_shows_with_a_reason_and_recovers(
        self, tmp_path: Path, floki_migrated_database: Path, source_device: SourceDevice
    ) -> None:
        async with self.session(
            tmp_path, floki_migrated_database, source_device, lost=self.lost_before_start
        ) as run:
            await self.register(run)
            if not self.lost_before_start:
                await self.running(run)
                await self.good_arrives(run, source_device, resend=True)
                await source_device.lose()
            reason = await self._down(run)
            assert reason, f"{self.source} is down without a reason"
            await source_device.restore()
            await self.good_arrives(run, source_device, resend=True)
            entry = await run.source_entry(self.source)
            assert entry["status"] == "running", entry
            assert entry["restarts"] >= 1, entry

    async def test_stop_is_clean_while_input_arrives(
        self, tmp_path: Path, floki_migrated_database: Path, source_device: SourceDevice
    ) -> None:
        # The appliance checks a stop under two seconds, with nothing left behind, itself.
        async with self.session(tmp_path, floki_migrated_database, source_device) as run:
            await self.register(run)
            await self.running(run)
            await self.good_arrives(run, source_device, resend=False)
            await source_device.send_good(run.floki)
            await source_device.send_bad(run.floki)

    async def test_replayed_input_makes_no_duplicate_history(
        self, tmp_path: Path, floki_migrated_database: Path, source_device: SourceDevice
    ) -> None:
        async with self.session(tmp_path, floki_migrated_database, source_device) as run:
            assets = await self.register(run)
            await self.running(run)
            seen = await self.good_arrives(run, source_device, resend=False)
            await self.all_good_arrived(run, seen)
            once = await self._histories(run, assets)
            seen = await self.good_arrives(run, source_device, resend=False)
            await self.all_good_arrived(run, seen)
            counters = await run.counters(self.source)
            assert counters.get("duplicates", 0) >= len(self.expected), (
                f"the replay was not recognised as one: {counters}"
            )
            assert await self._histories(run, assets) == once, "the replay made history"

    # --- checks ----------------------------------------------------------------------------

    def _settings(self, device: SourceDevice) -> dict[str, Any]:
        return {**self.plugin_settings(), **device.settings()}

    def _check_claims(self, arrived: Sequence[Observation], now: dt.datetime) -> None:
        claims = collections.Counter((o.technology, o.tag, o.receiver) for o in arrived)
        wanted = collections.Counter((s.technology, s.tag, s.receiver) for s in self.expected)
        assert claims == wanted, (
            f"{self.source} delivered {dict(claims)}; expected {dict(wanted)} "
            "(technology, tag, receiver)"
        )
        stamps = {(s.technology, s.tag, s.receiver): s.observed_at for s in self.expected}
        positions = {
            (s.technology, s.tag, s.receiver): (s.lat, s.lon)
            for s in self.expected
            if s.lat is not None and s.lon is not None
        }
        for obs in arrived:
            want = stamps[(obs.technology, obs.tag, obs.receiver)] or now
            assert obs.observed_at == want, (
                f"{obs.technology} {obs.tag}: observed_at {obs.observed_at}, expected {want} "
                "(the device's time, or the appliance clock's when it gives none)"
            )
            expected = positions.get((obs.technology, obs.tag, obs.receiver))
            if expected is not None:
                assert obs.lat is not None and obs.lon is not None, (
                    f"{obs.technology} {obs.tag}: no coordinates; expected {expected}"
                )
                off = max(abs(obs.lat - expected[0]), abs(obs.lon - expected[1]))
                assert off < 1e-5, (  # about a metre: NMEA gives minutes to 4 places
                    f"{obs.technology} {obs.tag}: at {obs.lat}, {obs.lon}; expected {expected}"
                )
            assert obs.received_at in (None, now), (
                f"{obs.technology} {obs.tag}: received_at {obs.received_at} is not the "
                f"appliance clock's {now}"
            )

    async def _counted(self, run: Watched, times: int) -> None:
        want = {reason: count * times for reason, count in self.bad_reasons.items()}

        async def counted() -> bool:
            rejected = (await run.counters(self.source)).get("rejected", {})
            return all(rejected.get(r, 0) >= n for r, n in want.items())

        try:
            await Floki.eventually(
                counted, f"bad input counted by reason ({want})", self.counted_within_seconds
            )
        except AssertionError:
            counters = await run.counters(self.source)
            raise ConformanceFailure(
                f"GET /api/v1/sources shows {self.source} as {counters or 'nothing'}; "
                f"expected rejected to hold {want}"
            ) from None
        rejected = (await run.counters(self.source)).get("rejected", {})
        extra = {r: n for r, n in rejected.items() if r in want and n != want[r]}
        assert not extra, f"rejections counted {extra}; expected {want}"

    def _logged_once(self, run: Watched) -> None:
        warnings, infos = run.log.messages(), run.log.messages(logging.INFO)
        for reason in self.bad_reasons:
            expected = reason in self.expected_reasons
            level = "INFO" if expected else "WARNING or above"
            lines = [m for m in (infos if expected else warnings) if reason in m]
            assert len(lines) == 1, (
                f"bad input of reason {reason!r} was sent twice within "
                f"{self.log_interval_seconds:g} s and logged {len(lines)} times at {level} "
                f"(once per reason per interval): {lines}"
            )
            if expected:
                loud = [m for m in warnings if reason in m]
                assert not loud, (
                    f"{reason!r} is dropped by design (expected_reasons) but was logged at "
                    f"WARNING: {loud}; report it with sink.reject(..., expected=True)"
                )

    async def _restarts(self, run: Watched) -> int:
        if not self.supervised:
            return 0
        return int((await run.source_entry(self.source))["restarts"])

    async def _down(self, run: Watched) -> str:
        found: dict[str, Any] = {}

        async def down() -> bool:
            entry = await run.source_entry(self.source)
            if entry["status"] in STATUSES_DOWN and entry["reason"]:
                found.update(entry)
                return True
            return False

        await Floki.eventually(down, f"{self.source} to show it lost its device")
        return str(found["reason"])

    async def _histories(
        self, run: Watched, assets: Mapping[tuple[str, str], tuple[int, int]]
    ) -> dict[int, Any]:
        histories = {}
        for asset_id, _zone in assets.values():
            histories[asset_id] = (await run.get(f"/assets/{asset_id}/history", "viewer"))["items"]
        return histories
