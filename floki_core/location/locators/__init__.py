"""The built-in locators: one technology's sightings in, zone evidence out."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from floki_core.location.locators.association import AssociationLocator
from floki_core.location.locators.fixed_point import FixedPointLocator
from floki_core.location.locators.geofence import GeofenceLocator, GeoZone
from floki_core.location.locators.rssi import RssiLocator, RssiSettings

__all__ = [
    "BUILTIN_METHODS",
    "AssociationLocator",
    "FixedPointLocator",
    "GeoZone",
    "GeofenceLocator",
    "RssiLocator",
    "RssiSettings",
]

# Which locator method handles a technology unless ``[location] methods`` says otherwise.
# Every technology a built-in plugin emits is here: a tag staff can bind must be locatable.
BUILTIN_METHODS: Mapping[str, str] = MappingProxyType(
    {
        "ble": RssiLocator.method,
        # Beacon identities are BLE too: same radio, same RSSI, a stable name.
        "ibeacon": RssiLocator.method,
        "eddystone": RssiLocator.method,
        "altbeacon": RssiLocator.method,
        # ESPresense ids without a beacon identity (aliases, ``name:`` ids): BLE rooms' RSSI.
        "espresense": RssiLocator.method,
        "rfid": FixedPointLocator.method,
        "qr": FixedPointLocator.method,
        "barcode": FixedPointLocator.method,
        "nfc": FixedPointLocator.method,
        "gps": GeofenceLocator.method,
        "wifi": AssociationLocator.method,
    }
)
