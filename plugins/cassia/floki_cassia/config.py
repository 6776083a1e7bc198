"""The ``[plugin.cassia]`` settings."""

from __future__ import annotations

from typing import Annotated

import msgspec

from floki_core.sdk import PluginSettings


class CassiaSettings(PluginSettings):
    # Where the scan stream is: a gateway's own address ("http://192.168.1.20"), or the
    # Cassia AC's API base ("https://ac.example.org/api"). Empty: the plugin reads nothing.
    url: str = ""
    # The gateway's MAC (its label, "CC:1B:E0:E0:24:B4"): the receiver identifier its
    # sightings carry, and which gateway the AC is asked to scan with.
    gateway: str = ""
    # The AC's developer key and secret (AC > Settings > Developer account). Empty: the
    # stream is read from the gateway itself, without a token.
    client_id: str = ""
    client_secret: str = ""
    # Passed on to the gateway: active scanning (1) asks tags for their scan response;
    # filter_rssi drops adverts weaker than this (0: no filter).
    active: Annotated[int, msgspec.Meta(ge=0, le=1)] = 0
    filter_rssi: Annotated[int, msgspec.Meta(ge=-127, le=0)] = 0
    # Sightings are handed to the core in batches this often.
    batch_seconds: Annotated[float, msgspec.Meta(gt=0, le=10)] = 0.5
    # The gateway sends a keep-alive comment every 30 s; a stream silent this long is dead.
    silent_seconds: Annotated[float, msgspec.Meta(gt=0, le=600)] = 75.0
    # Connecting (and the AC's token request) gives up after this long.
    connect_timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=120)] = 10.0
