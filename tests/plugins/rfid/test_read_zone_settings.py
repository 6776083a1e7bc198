"""``[plugin.rfid.placement]`` and ``[[plugin.rfid.portals]]``: what a user may write, the
defaults, and the message a mistake gets (naming the key)."""

from __future__ import annotations

from typing import Any

import pytest
from floki_rfid.config import RfidSettings

from floki_core.config import parse_config, plugin_section
from floki_core.errors import ConfigError


def settings(**section: Any) -> RfidSettings:
    return plugin_section(parse_config({"plugin": {"rfid": section}}), "rfid", RfidSettings)


def test_placement_has_defaults_and_no_portals() -> None:
    found = settings()
    placement = found.placement
    assert (placement.dwell_seconds, placement.hysteresis_db) == (5.0, 6.0)
    assert (placement.count_ratio, placement.together_seconds) == (2.0, 2.0)
    assert placement.confidence == 0.95
    assert found.portals == []


def test_a_portal_needs_a_name_and_its_two_antennas() -> None:
    portal = settings(
        portals=[{"name": "library-door", "inner": "library-door:1", "outer": "library-door:2"}]
    ).portals[0]
    assert (portal.inner, portal.outer, portal.window_seconds) == (
        "library-door:1",
        "library-door:2",
        3.0,
    )
    assert portal.clear_seconds == 0.3


DOOR = {"name": "door", "inner": "door:1", "outer": "door:2"}


@pytest.mark.parametrize(
    ("section", "error"),
    [
        (
            {"placement": {"dwell_seconds": -1}},
            "floki.toml: plugin.rfid.placement.dwell_seconds: Expected `float` >= 0",
        ),
        (
            {"placement": {"hysteresis_db": 99}},
            "floki.toml: plugin.rfid.placement.hysteresis_db: Expected `float` <= 40",
        ),
        (
            {"placement": {"count_ratio": 0.5}},
            "floki.toml: plugin.rfid.placement.count_ratio: Expected `float` >= 1",
        ),
        (
            {"placement": {"confidence": 1.5}},
            "floki.toml: plugin.rfid.placement.confidence: Expected `float` <= 1",
        ),
        (
            {"placement": {"dwell": 5}},
            "floki.toml: plugin.rfid.placement: unknown key `dwell`",
        ),
        (
            {"portals": [{"name": "door", "inner": "door:1"}]},
            "floki.toml: plugin.rfid.portals[0]: Object missing required field `outer`",
        ),
        (
            {"portals": [{**DOOR, "outer": "door:1"}]},
            "floki.toml: plugin.rfid.portals[0]: inner and outer are the same antenna door:1",
        ),
        (
            {"portals": [{**DOOR, "window_seconds": 0}]},
            "floki.toml: plugin.rfid.portals[0].window_seconds: Expected `float` > 0",
        ),
        (
            {"portals": [{**DOOR, "clear_seconds": 5.0}]},
            "floki.toml: plugin.rfid.portals[0]: clear_seconds (5) must be less than "
            "window_seconds (3)",
        ),
        (
            {"portals": [DOOR, {**DOOR, "inner": "door:3", "outer": "door:4"}]},
            "floki.toml: plugin.rfid: two portals are named door",
        ),
        (
            {"portals": [DOOR, {"name": "back", "inner": "door:2", "outer": "door:3"}]},
            "floki.toml: plugin.rfid: antenna door:2 is in two portals (door and back)",
        ),
        (
            {"portals": [{**DOOR, "inner": ""}]},
            "floki.toml: plugin.rfid.portals[0].inner: Expected `str` of length >= 1",
        ),
    ],
)
def test_a_mistake_is_refused_naming_the_key(section: dict[str, Any], error: str) -> None:
    with pytest.raises(ConfigError) as refused:
        settings(**section)
    assert str(refused.value).startswith(error), str(refused.value)
