"""The conformance kit for notifiers: alerts raised by a rule that names the notifier
reach its peer (a webhook receiver, a mail server) in one batch and are recorded as
delivered; a peer that fails is retried, the failure recorded against the alert, and
nothing raises out of the notifier into the appliance; a peer back up gets the next.

The kit raises alerts itself, with a rule type of its own (``conformance_check``) whose
conditions are titled ``Conformance check <tag> #<n>``; the author supplies the peer
(the ``notifier_peer`` fixture) and the notifier's name::

    class TestPagerConformance(NotifierConformance):
        plugin = "pager"
        notifier = "ward-pager"

        @pytest.fixture
        def notifier_peer(self):
            return FakePagerGateway()
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Protocol

import msgspec
import pytest

from floki_core import hookimpl
from floki_core.conformance.appliance import Watched
from floki_core.conformance.common import PluginConformance
from floki_core.conformance.watch import resources
from floki_core.workflow.rule_facts import Condition, Facts

RULE_TYPE = "conformance_check"
HELPER_PLUGIN = "conformance-kit"


class CheckParams(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    tag: str = "a"
    count: int = 1


class ConformanceCheck:
    """A rule type whose conditions hold as its params say: ``count`` of them."""

    description = "Conditions made up by the conformance kit"
    default_severity = "warning"
    params = CheckParams

    def conditions(self, params: CheckParams, facts: Facts) -> Iterator[Condition]:
        for n in range(params.count):
            yield Condition(key=f"{params.tag}-{n}", title=title(params.tag, n))


def title(tag: str, n: int) -> str:
    return f"Conformance check {tag} #{n}"


class ConformanceRules:
    """The kit's helper plugin: registers the ``conformance_check`` rule type."""

    @hookimpl
    def floki_register_rule_types(self, registry: Any) -> None:
        registry.add(RULE_TYPE, ConformanceCheck())


class NotifierPeer(Protocol):
    """What a notifier delivers to, run by the test.

    ``settings`` is the ``[plugin.<name>]`` section configuring the notifier under test
    (named as the test class's ``notifier``) to deliver here; ``received`` the titles of
    the alerts it has been given so far; ``fail`` makes it fail as a peer that is down or
    busy does (a 5xx, a temporary SMTP error) until ``recover``.
    """

    async def open(self) -> None: ...

    def settings(self) -> Mapping[str, Any]: ...

    def received(self) -> list[str]: ...

    async def fail(self) -> None: ...

    async def recover(self) -> None: ...

    async def close(self) -> None: ...


class NotifierConformance(PluginConformance):
    notifier: ClassVar[str]
    # Delivery attempts before giving up; retries are not waited for in the kit.
    attempts: ClassVar[int] = 2

    def kit_config(self) -> Mapping[str, Any]:
        # Alerts raised only when the kit evaluates; retries not waited for.
        delivery = {"attempts": self.attempts, "first_retry_seconds": 0, "timeout_seconds": 10}
        return {
            "workflow": {
                "alerts": {"sweep_seconds": 3600, "notify_events": ["raised"], "delivery": delivery}
            }
        }

    @pytest.fixture
    def notifier_peer(self) -> NotifierPeer:
        raise NotImplementedError("define the notifier_peer fixture in the test class")

    def extra_plugins(self) -> Sequence[tuple[str, object]]:
        return [(HELPER_PLUGIN, ConformanceRules())]

    @contextlib.asynccontextmanager
    async def session(
        self, tmp_path: Path, template: Path, peer: NotifierPeer
    ) -> AsyncIterator[Watched]:
        before = resources()
        await peer.open()
        try:
            async with self.appliance(
                tmp_path, template, peer.settings(), before=before, on_stopped=peer.close
            ) as run:
                yield run
        finally:
            await peer.close()

    async def raise_alerts(self, run: Watched, tag: str, count: int) -> list[dict[str, Any]]:
        """A rule naming the notifier whose ``count`` conditions hold: evaluated, and its
        notifications delivered or given up. Returns the alerts raised."""
        rule = await run.post(
            "/alert-rules",
            {
                "name": f"conformance {tag}",
                "type": RULE_TYPE,
                "params": {"tag": tag, "count": count},
                "notify": [self.notifier],
            },
        )
        alerts = run.core.workflow.alerts
        await alerts.evaluate()
        await alerts.outbox.join()
        raised: list[dict[str, Any]] = (
            await run.get(f"/alerts?rule_id={rule['id']}&limit=500", "viewer")
        )["items"]
        assert len(raised) == count, f"the kit's rule raised {raised}"
        return raised

    def watch_sends(self, run: Watched) -> list[int]:
        """Sizes of the batches the notifier is handed, from now on."""
        registration = run.core.plugins.registries.notifiers.get(self.notifier)
        assert registration is not None, (
            f"plugin {self.plugin} registered no notifier {self.notifier!r} with "
            f"{dict(self.plugin_settings())}"
        )
        notifier = registration.item
        send = notifier.send
        sizes: list[int] = []

        async def counted(alerts: Sequence[Any]) -> None:
            sizes.append(len(alerts))
            await send(alerts)

        notifier.send = counted  # type: ignore[method-assign]
        return sizes

    async def deliveries(self, run: Watched, alert: Mapping[str, Any]) -> list[dict[str, Any]]:
        detail = await run.get(f"/alerts/{alert['id']}", "viewer")
        return [d for d in detail["deliveries"] if d["notifier"] == self.notifier]

    # --- inherited tests -------------------------------------------------------------------

    async def test_alerts_reach_the_peer_in_one_batch_and_are_recorded_delivered(
        self, tmp_path: Path, floki_migrated_database: Path, notifier_peer: NotifierPeer
    ) -> None:
        async with self.session(tmp_path, floki_migrated_database, notifier_peer) as run:
            sizes = self.watch_sends(run)
            raised = await self.raise_alerts(run, "a", 3)
            assert sizes == [3], f"{self.notifier} was handed batches of {sizes}; expected [3]"
            wanted = sorted(title("a", n) for n in range(3))
            got = sorted(t for t in notifier_peer.received() if t in wanted)
            assert got == wanted, f"the peer received {notifier_peer.received()}"
            for alert in raised:
                [delivery] = await self.deliveries(run, alert)
                assert (delivery["outcome"], delivery["attempts"]) == ("delivered", 1), delivery

    async def test_a_failing_peer_is_retried_recorded_and_the_next_alert_arrives(
        self, tmp_path: Path, floki_migrated_database: Path, notifier_peer: NotifierPeer
    ) -> None:
        async with self.session(tmp_path, floki_migrated_database, notifier_peer) as run:
            await notifier_peer.fail()
            [alert] = await self.raise_alerts(run, "down", 1)
            [delivery] = await self.deliveries(run, alert)
            assert delivery["outcome"] == "failed", delivery
            assert delivery["attempts"] == self.attempts and delivery["error"], delivery
            health = await run.floki.client.get("/api/v1/health")
            assert health.status == 200, await health.text()
            await notifier_peer.recover()
            [alert] = await self.raise_alerts(run, "back", 1)
            [delivery] = await self.deliveries(run, alert)
            assert delivery["outcome"] == "delivered", delivery
            assert title("back", 0) in notifier_peer.received()
