"""The technologies the BLE plugin names tags by (``Observation.technology``).

Every one of them is located by RSSI, the core's built-in method for radio sightings
(``floki_core.location.locators.BUILTIN_METHODS``); ``[location] methods`` may say otherwise.
"""

from __future__ import annotations

BLE = "ble"  # a public or static MAC: a tag that sends no beacon frame
IBEACON = "ibeacon"
EDDYSTONE = "eddystone"
ALTBEACON = "altbeacon"
# An ESPresense id that carries no beacon identity: an alias set on the node, a
# ``name:`` id, a vendor's own id (``tile:``, ``apple:``...). The id as reported.
ESPRESENSE = "espresense"

BEACONS = frozenset({IBEACON, EDDYSTONE, ALTBEACON})
EMITTED = (BLE, IBEACON, EDDYSTONE, ALTBEACON, ESPRESENSE)
