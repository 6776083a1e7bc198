"""``[[plugin.rfid.impinj]]``: what a user may write, and the message a mistake gets."""

from __future__ import annotations

from typing import Any

import pytest
from floki_rfid.config import RfidSettings

from floki_core.config import parse_config, plugin_section
from floki_core.errors import ConfigError


def settings(impinj: list[dict[str, Any]], **more: Any) -> RfidSettings:
    config = parse_config({"plugin": {"rfid": {"impinj": impinj, **more}}})
    return plugin_section(config, "rfid", RfidSettings)


def test_a_reader_needs_its_name_url_and_password() -> None:
    reader = settings([{"name": "door", "url": "https://impinj-14-46-36", "password": "p"}])
    (door,) = reader.impinj
    assert (door.username, door.verify_tls, door.ca_file, door.antennas) == ("root", True, "", [])
    assert (door.idle_seconds, reader.impinj_webhook) == (60.0, False)


GOOD = {"name": "door", "url": "https://10.2.0.40", "password": "p"}


@pytest.mark.parametrize(
    ("impinj", "more", "error"),
    [
        (
            [{"name": "door", "url": "https://10.2.0.40"}],
            {},
            "plugin.rfid.impinj[0]: Object missing required field `password`",
        ),
        (
            [GOOD | {"url": "10.2.0.40"}],
            {},
            "plugin.rfid.impinj[0].url: Expected `str` matching regex",
        ),
        (
            [GOOD | {"url": "https://10.2.0.40/api/v1/data/stream"}],
            {},
            "plugin.rfid.impinj[0].url: Expected `str` matching regex",
        ),
        ([GOOD | {"antennas": [1, 1]}], {}, "plugin.rfid.impinj[0]: antennas lists port 1 twice"),
        (
            [GOOD | {"verify_tls": False, "ca_file": "/etc/floki/reader.pem"}],
            {},
            "plugin.rfid.impinj[0]: ca_file is given but verify_tls is false",
        ),
        ([GOOD | {"passwd": "x"}], {}, "plugin.rfid.impinj[0]: unknown key `passwd`"),
        (
            [GOOD],
            {"readers": [{"name": "door", "host": "10.2.0.31"}]},
            "plugin.rfid: two readers are named door",
        ),
    ],
)
def test_a_mistake_names_the_key(
    impinj: list[dict[str, Any]], more: dict[str, Any], error: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        settings(impinj, **more)
    assert error in str(refused.value)
