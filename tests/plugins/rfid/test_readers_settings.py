"""``[plugin.rfid] readers``: what a user may write, and the message a mistake gets."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from floki_rfid.config import RfidSettings
from floki_rfid.readers import portal_antennas

from floki_core.config import parse_config, plugin_section
from floki_core.errors import ConfigError


def settings(readers: list[dict[str, Any]], **more: Any) -> RfidSettings:
    config = parse_config({"plugin": {"rfid": {"readers": readers, **more}}})
    return plugin_section(config, "rfid", RfidSettings)


def test_a_reader_needs_only_its_name_and_host() -> None:
    reader = settings([{"name": "library-door", "host": "10.2.0.31"}]).readers[0]
    assert (reader.port, reader.antennas, reader.session) == (5084, [], 1)
    assert reader.tx_power_dbm is None and reader.search_mode == ""
    assert reader.report_every_ms == 0 and reader.keepalive_seconds == 10.0


@pytest.mark.parametrize(
    ("readers", "error"),
    [
        (
            [{"name": "store", "host": "10.2.0.31", "antennas": [1, 2, 2]}],
            "floki.toml: plugin.rfid.readers[0]: antennas lists port 2 twice",
        ),
        (
            [{"name": "store", "host": "10.2.0.31", "antennas": [0]}],
            "floki.toml: plugin.rfid.readers[0].antennas[0]: Expected `int` >= 1",
        ),
        (
            [{"name": "store", "host": "10.2.0.31", "session": 4}],
            "floki.toml: plugin.rfid.readers[0].session: Expected `int` <= 3",
        ),
        (
            [{"name": "store", "host": "10.2.0.31", "search_mode": "tag_focus", "session": 2}],
            "floki.toml: plugin.rfid.readers[0]: search_mode tag_focus works in session 1 only",
        ),
        (
            [{"name": "store", "host": "10.2.0.31", "search_mode": "fast"}],
            "floki.toml: plugin.rfid.readers[0].search_mode: Expected `str` matching regex",
        ),
        (
            [{"name": "Main Store", "host": "10.2.0.31"}],
            "floki.toml: plugin.rfid.readers[0].name: Expected `str` matching regex",
        ),
        (
            [{"name": "store", "host": ""}],
            "floki.toml: plugin.rfid.readers[0].host: Expected `str` of length >= 1",
        ),
        (
            [{"name": "store", "host": "10.2.0.31", "port": 70000}],
            "floki.toml: plugin.rfid.readers[0].port: Expected `int` <= 65535",
        ),
        (
            [{"name": "store", "host": "10.2.0.31", "tx_power_dbm": 40}],
            "floki.toml: plugin.rfid.readers[0].tx_power_dbm: Expected `float` <= 33.0",
        ),
        (
            [{"name": "store", "host": "10.2.0.31", "antenna": [1]}],
            "floki.toml: plugin.rfid.readers[0]: unknown key `antenna`",
        ),
        (
            [{"host": "10.2.0.31"}],
            "floki.toml: plugin.rfid.readers[0]: Object missing required field `name`",
        ),
        (
            [{"name": "store", "host": "10.2.0.31"}, {"name": "store", "host": "10.2.0.32"}],
            "floki.toml: plugin.rfid: two readers are named store",
        ),
    ],
)
def test_bad_reader_settings_name_the_key(readers: list[dict[str, Any]], error: str) -> None:
    with pytest.raises(ConfigError) as raised:
        settings(readers)
    assert str(raised.value).startswith(error), str(raised.value)


def test_a_reader_s_portal_antennas_are_those_its_portals_name() -> None:
    settings = msgspec.convert(
        {
            "readers": [
                {"name": "door", "host": "10.0.0.5"},
                {"name": "shelf", "host": "10.0.0.6"},
            ],
            "portals": [
                {"name": "library", "inner": "door:2", "outer": "door:1"},
                {"name": "stores", "inner": "shelf-b:1", "outer": "door:4"},
            ],
        },
        RfidSettings,
    )
    assert portal_antennas(settings, "door") == {1, 2, 4}
    assert portal_antennas(settings, "shelf") == frozenset()
