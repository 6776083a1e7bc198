"""The conformance kit for rule types: listed with what a person needs to write a rule,
params checked when a rule is made (bad ones refused with the reason, nothing saved),
one alert per condition while it holds, resolved once it does not, and params that
decode however they are written only to what the type declares.

The author says how to make the rule's condition hold and stop holding::

    class TestOverdueCleanConformance(RuleTypeConformance):
        plugin = "cleaning"
        rule_type = "dirty_too_long"
        good_params = {"hours": 4}
        bad_params = ({"hours": -1}, {"hourz": 4})

        async def arrange(self, run):   # two dirty pumps, five hours ago
            ...

        async def clear(self, run):     # cleaned
            ...
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import msgspec

from floki_core.conformance.appliance import START, ConformanceFailure, Watched
from floki_core.conformance.common import PluginConformance
from floki_core.location.register_index import RegisterIndex
from floki_core.workflow.rule_facts import SEVERITIES, Facts


def empty_facts(now: dt.datetime = START) -> Facts:
    """What rules judge in an appliance with an empty register."""
    return Facts(
        now=now,
        assets={},
        classes={},
        index=RegisterIndex(),
        tracks={},
        batteries={},
        gateways={},
        open_loans=frozenset(),
        overdue_loans=[],
        left_home_at={},
    )


class RuleTypeConformance(PluginConformance):
    rule_type: ClassVar[str]
    good_params: ClassVar[Mapping[str, Any]] = {}
    bad_params: ClassVar[Sequence[Mapping[str, Any]]] = ()
    expected_alerts: ClassVar[int] = 1  # conditions ``arrange`` makes hold
    params_examples: ClassVar[int] = 100

    async def arrange(self, run: Watched) -> None:
        """Make ``expected_alerts`` conditions of the rule hold (register, sightings ...)."""
        raise NotImplementedError("say how to make the rule's condition hold")

    async def clear(self, run: Watched) -> None:
        """Make them no longer hold."""
        raise NotImplementedError("say how to make the rule's condition stop holding")

    async def make_rule(self, run: Watched, params: Mapping[str, Any]) -> Any:
        resp = await run.floki.client.post(
            "/api/v1/alert-rules",
            json={
                "name": f"conformance {self.rule_type}",
                "type": self.rule_type,
                "params": params,
            },
            headers=await run.floki.headers("admin"),
        )
        return resp.status, await resp.json()

    def registered(self, run: Watched) -> Any:
        registration = run.core.plugins.registries.rule_types.get(self.rule_type)
        if registration is None or registration.plugin != self.plugin:
            raise ConformanceFailure(
                f"plugin {self.plugin} registered no rule type {self.rule_type!r}"
            )
        return registration.item

    # --- inherited tests -------------------------------------------------------------------

    async def test_listed_with_description_severity_and_params(
        self, tmp_path: Path, floki_migrated_database: Path
    ) -> None:
        async with self.appliance(tmp_path, floki_migrated_database) as run:
            listed = {t["name"]: t for t in (await run.get("/alert-rule-types", "viewer"))["items"]}
            assert self.rule_type in listed, f"{self.rule_type} not in GET /api/v1/alert-rule-types"
            entry = listed[self.rule_type]
            assert entry["plugin"] == self.plugin, entry
            assert entry["description"].strip(), f"{self.rule_type} has no description"
            assert entry["default_severity"] in SEVERITIES, entry
            schema = entry["params"]
            ref = str(schema.get("$ref", ""))
            if ref.startswith("#/$defs/"):
                schema = schema["$defs"][ref.removeprefix("#/$defs/")]
            assert schema.get("type") == "object", f"params schema: {entry['params']}"

    async def test_params_are_checked_when_a_rule_is_made(
        self, tmp_path: Path, floki_migrated_database: Path
    ) -> None:
        async with self.appliance(tmp_path, floki_migrated_database) as run:
            for params in self.bad_params:
                status, body = await self.make_rule(run, params)
                assert status in (400, 422) and body.get("error"), (
                    f"a rule with params {params} answered {status} {body}; expected a 400 "
                    "or 422 saying what is wrong"
                )
            assert (await run.get("/alert-rules", "viewer"))["items"] == [], "a bad rule was kept"
            status, body = await self.make_rule(run, self.good_params)
            assert status == 201, f"a rule with params {dict(self.good_params)}: {status} {body}"

    async def test_one_alert_per_condition_while_it_holds_resolved_once_it_does_not(
        self, tmp_path: Path, floki_migrated_database: Path
    ) -> None:
        async with self.appliance(tmp_path, floki_migrated_database) as run:
            status, rule = await self.make_rule(run, self.good_params)
            assert status == 201, rule
            alerts = run.core.workflow.alerts
            await alerts.evaluate()
            assert await self._alerts(run, rule, "open") == [], "an alert before any condition"
            await self.arrange(run)
            for _ in range(2):  # judged again, the same conditions are the same alerts
                await alerts.evaluate()
                found = await self._alerts(run, rule, "open")
                assert len(found) == self.expected_alerts, (
                    f"{len(found)} open alerts of {self.rule_type}; expected "
                    f"{self.expected_alerts}: {[a['title'] for a in found]}"
                )
            await self.clear(run)
            await alerts.evaluate()
            assert await self._alerts(run, rule, "open") == [], "alerts left open once cleared"
            assert len(await self._alerts(run, rule, "resolved")) == self.expected_alerts

    async def test_params_decode_only_to_what_the_type_declares(
        self, tmp_path: Path, floki_migrated_database: Path
    ) -> None:
        async with self.appliance(tmp_path, floki_migrated_database) as run:
            rule_type = self.registered(run)
            # Many examples in a row: off the loop the kit watches.
            await asyncio.to_thread(self._decode_anything, rule_type)

    # --- helpers ---------------------------------------------------------------------------

    def _decode_anything(self, rule_type: Any) -> None:
        from hypothesis import HealthCheck, given, settings
        from hypothesis import strategies as st

        facts = empty_facts()
        scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
        values = st.recursive(
            scalars,
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.text(max_size=10), inner, max_size=3)
            ),
            max_leaves=6,
        )
        fields = [f.encode_name for f in msgspec.structs.fields(rule_type.params)]
        keys = (st.sampled_from(fields) | st.text(max_size=12)) if fields else st.text(max_size=12)

        @settings(
            max_examples=self.params_examples,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
        @given(st.dictionaries(keys, values, max_size=4))
        def decodes(raw: dict[str, Any]) -> None:
            try:
                params = msgspec.convert(raw, rule_type.params, strict=False)
            except msgspec.ValidationError:
                return
            try:
                list(rule_type.conditions(params, facts))
                check = getattr(rule_type, "check", None)
                if check is not None:
                    check(params, facts)
            except Exception as exc:
                raise ConformanceFailure(
                    f"{self.rule_type} with params {raw} over an empty register raised "
                    f"{type(exc).__name__}: {exc}"
                ) from exc

        decodes()

    async def _alerts(self, run: Watched, rule: Mapping[str, Any], status: str) -> list[Any]:
        listed = await run.get(f"/alerts?rule_id={rule['id']}&status={status}&limit=500", "viewer")
        return list(listed["items"])
