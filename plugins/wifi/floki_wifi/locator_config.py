"""The ``[plugin.wifi.location]`` settings: how sure an access point's zone is."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta


class WifiLocationSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    # How sure "in its access point's zone" is. An AP covers several rooms and a client
    # stays on it through walls, so this sits below a BLE room fix (0.5 to 0.85): 0.3
    # is under half the weakest BLE claim, so an association never moves an asset away
    # from a BLE room heard within the last minute (the BLE half-life), and takes over
    # once BLE has gone quiet for longer.
    association_confidence: Annotated[float, Meta(ge=0, le=1)] = 0.3
    # "Last on the network": a tracked device its feed last reported joining, and has not
    # reported leaving, is still on the network, so its asset counts as heard every this
    # many seconds (the missing-equipment rule reads that). hostapd and most controllers
    # say nothing more while a device stays on one access point. 0: off.
    presence_seconds: Annotated[float, Meta(ge=0, le=86_400)] = 300.0
    # How long after a feed last said anything of a device it is still taken to be on the
    # network: a leave line lost on the way (syslog over UDP) must not keep a device
    # present for ever.
    presence_hours: Annotated[float, Meta(gt=0, le=720)] = 24.0
