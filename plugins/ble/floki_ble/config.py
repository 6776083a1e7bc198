"""Settings of ``[plugin.ble]``."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]


class BleSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    # Off by default: most appliances hear tags through gateways, not their own radio.
    local_radio: bool = False
    adapter: str | None = None  # e.g. "hci0"; None lets BlueZ choose
    receiver: str = "appliance"  # receiver identifier the local radio reports as
    # Passive scanning sends nothing, but BlueZ then only reports adverts matching beacon
    # patterns (iBeacon, AltBeacon, Eddystone): tags known by their MAC alone need "active".
    local_radio_scanning: Literal["passive", "active"] = "passive"
    batch_seconds: Annotated[float, msgspec.Meta(gt=0, le=60)] = 1.0

    # ESPresense gateways over MQTT: each ESPresense room is a receiver whose identifier
    # is the room name. No host, no MQTT connection.
    espresense_host: str | None = None
    espresense_port: Port = 1883
    espresense_prefix: Annotated[str, msgspec.Meta(min_length=1, pattern=r"^[^#+]+$")] = (
        "espresense"
    )
    espresense_username: str | None = None
    espresense_password: str | None = None
    espresense_batch_seconds: Annotated[float, msgspec.Meta(gt=0, le=60)] = 0.5
    # What binds a tag: "id" is ESPresense's device id (iBeacon, Eddystone, AltBeacon
    # identities or a public MAC); "mac" is the advertising address, for tags that send
    # nothing better. A rotating address is no identity, so "id" is the default.
    espresense_identity: Literal["id", "mac"] = "id"
    # A gateway unheard this long is reported silent (gateway.silent).
    gateway_silent_seconds: Annotated[float, msgspec.Meta(gt=0)] = 120.0

    # A simulated site instead of real gateways (the demo): the register's BLE gateways
    # hear its iBeacon tags walking between zones. Never on beside real gateways.
    simulate: bool = False
    simulate_seed: Annotated[int, msgspec.Meta(ge=0)] = 1
    # How many times faster than real time tags dwell and walk; adverts and gateway
    # batches keep their real once-a-second rate.
    simulate_speedup: Annotated[float, msgspec.Meta(ge=0.1, le=100)] = 1.0
