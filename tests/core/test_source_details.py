"""A source's own ``details()`` (plugin API 1.2) is listed with it in GET /api/v1/plugins."""

from __future__ import annotations

import datetime as dt
from typing import Any

from floki_core.testing import Floki
from tests.core.plugin_samples import (  # noqa: F401  (fixtures are found by name)
    Plugins,
    SourcePlugin,
    WaitingSource,
    appliance_config,
    listed_plugins,
    parametrised_config,
    parametrised_plugins,
    with_plugins,
)


class ReaderSource(WaitingSource):
    """A reader that says how it is doing."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def details(self) -> dict[str, Any]:
        return {
            "connected": self.runs > 0,
            "antennas": [1, 2],
            "reports": self.reads,
            "last_report": dt.datetime(2026, 12, 7, 9, 30, tzinfo=dt.UTC),
        }


class BrokenDetails(WaitingSource):
    def details(self) -> dict[str, Any]:
        raise RuntimeError("counter gone")


@with_plugins(
    lambda: [
        ("reader", SourcePlugin("door-reader", ReaderSource())),
        ("plain", SourcePlugin("plain-feed", WaitingSource())),
        ("broken", SourcePlugin("broken-feed", BrokenDetails())),
    ]
)
async def test_a_source_s_details_are_listed_with_it_and_a_broken_one_is_null(
    floki: Floki, floki_plugins: Plugins
) -> None:
    plugins = dict(floki_plugins)
    await floki.eventually(lambda: plugins["reader"].source.runs == 1, "the reader to run")
    plugins["reader"].source.reads = 41

    listing = await listed_plugins(floki)

    [reader] = listing["reader"]["sources"]
    assert reader["details"] == {
        "connected": True,
        "antennas": [1, 2],
        "reports": 41,
        "last_report": "2026-12-07T09:30:00Z",
    }
    assert listing["plain"]["sources"][0]["details"] is None
    # A details() that raises is logged against its source; the listing still answers.
    [broken] = listing["broken"]["sources"]
    assert broken["details"] is None
    assert broken["status"] == "running"
