"""The ``[plugin.wifi]`` settings: one table per feed, each defined beside its feed."""

from __future__ import annotations

from typing import Annotated

import msgspec

from floki_core.sdk import PluginSettings
from floki_wifi.locator_config import WifiLocationSettings
from floki_wifi.meraki_config import MerakiSettings
from floki_wifi.radius_config import RadiusSettings
from floki_wifi.spaces_config import SpacesSettings
from floki_wifi.syslog_config import SyslogSettings


class WifiSettings(PluginSettings):
    # The address the plugin's listeners (syslog, RADIUS accounting) bind to: "0.0.0.0"
    # takes the controllers' traffic from every interface. Empty: none of them listens,
    # so installing the plugin opens no port until a department asks.
    listen_host: str = ""
    # Syslog from access points and controllers ([plugin.wifi.syslog]).
    syslog: SyslogSettings = msgspec.field(default_factory=SyslogSettings)
    # A copy of the network's RADIUS accounting ([plugin.wifi.radius]).
    radius: RadiusSettings = msgspec.field(default_factory=RadiusSettings)
    # Cisco Meraki Scanning API v3 posts ([plugin.wifi.meraki]).
    meraki: MerakiSettings = msgspec.field(default_factory=MerakiSettings)
    # Cisco Spaces firehose ([plugin.wifi.spaces]).
    spaces: SpacesSettings = msgspec.field(default_factory=SpacesSettings)
    # How sure an access point's zone is ([plugin.wifi.location]).
    location: WifiLocationSettings = msgspec.field(default_factory=WifiLocationSettings)
    # The demo's Wi-Fi pumps, sent through the syslog listener by a simulator.
    simulate: bool = False
    # How many times faster than real time the simulated pumps stay and roam (10: a
    # ten-minute stay passes in a minute), and the seed that picks who joins and when.
    simulate_speedup: Annotated[float, msgspec.Meta(ge=0.1, le=100)] = 10.0
    simulate_seed: Annotated[int, msgspec.Meta(ge=0)] = 7
