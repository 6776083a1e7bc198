"""The route and notifier kits themselves: the sample plugin passes them, and a route that
fails with a server error, or a notifier that reports a failed delivery as delivered, is
caught with the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from floki_core.conformance import NotifierConformance, RouteConformance
from tests.conformance.kit_samples import NAME, SamplePlugin


class SampleRoutes(RouteConformance):
    plugin = NAME


class SampleNotifierKit(NotifierConformance):
    plugin = NAME
    notifier = "kit-pager"


async def test_a_route_answering_as_its_policy_says_passes(
    sample_installed: SamplePlugin, tmp_path: Path, floki_migrated_database: Path
) -> None:
    kit = SampleRoutes()
    await kit.test_every_route_has_a_policy_and_is_in_openapi(
        tmp_path / "a", floki_migrated_database
    )
    await kit.test_every_route_answers_as_its_policy_says(tmp_path / "b", floki_migrated_database)


async def test_a_route_failing_with_a_server_error_is_named(
    sample_installed: SamplePlugin, tmp_path: Path, floki_migrated_database: Path
) -> None:
    sample_installed.faults.route_raises = True
    with pytest.raises(
        AssertionError,
        match=r"GET /api/v1/kit-sample/status answered 500 to a caller its policy \(engineer\) "
        "lets in",
    ):
        await SampleRoutes().test_every_route_answers_as_its_policy_says(
            tmp_path, floki_migrated_database
        )


async def test_a_notifier_delivering_and_failing_honestly_passes(
    sample_installed: SamplePlugin, tmp_path: Path, floki_migrated_database: Path
) -> None:
    kit = SampleNotifierKit()
    pager = sample_installed.pager
    await kit.test_alerts_reach_the_peer_in_one_batch_and_are_recorded_delivered(
        tmp_path / "a", floki_migrated_database, pager
    )
    await kit.test_a_failing_peer_is_retried_recorded_and_the_next_alert_arrives(
        tmp_path / "b", floki_migrated_database, pager
    )


async def test_a_notifier_hiding_a_failed_delivery_is_caught(
    sample_installed: SamplePlugin, tmp_path: Path, floki_migrated_database: Path
) -> None:
    sample_installed.faults.swallows_failures = True
    with pytest.raises(AssertionError, match=r"'outcome': 'delivered'"):
        await (
            SampleNotifierKit().test_a_failing_peer_is_retried_recorded_and_the_next_alert_arrives(
                tmp_path, floki_migrated_database, sample_installed.pager
            )
        )
