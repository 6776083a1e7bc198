"""The demo hospital that ``floki-core demo`` loads into a new appliance.

St Floki General Hospital is fictional: two buildings, three drawn floors, about 25
zones with receivers (BLE gateways, Wi-Fi access points, and the RFID reader antennas of
the Equipment Library and Main Stores, whose kit carries GIAI-96 labels), and about 300
assets with tags and PPM dates; a community
equipment service with a hub, a depot, three fictional home areas drawn on the map and
fifteen items with GPS trackers, nine of them on loan (one overdue). It is static;
movement comes from the BLE plugin's simulated gateways, the GPS plugin's simulated
trackers, the RFID plugin's emulated readers in the Equipment Library and Main Stores,
and the Wi-Fi plugin's simulated access points, which report Ward 5's Wi-Fi infusion
pumps (``floki_core.demo.wifi``) through its syslog listener; the demo switches them on
in the config (``floki_core.demo.simulation``).
"""

from floki_core.demo.load import DemoSummary, holds_demo_site, load_demo
from floki_core.demo.simulation import (
    COMMUNITY_SIMULATOR_SETTINGS,
    RFID_SIMULATOR_SETTINGS,
    SIMULATOR_SETTINGS,
    WIFI_SIMULATOR_SETTINGS,
    DemoMovement,
    enable_community_simulation,
    enable_rfid_simulation,
    enable_simulation,
    enable_wifi_simulation,
)

__all__ = [
    "COMMUNITY_SIMULATOR_SETTINGS",
    "RFID_SIMULATOR_SETTINGS",
    "SIMULATOR_SETTINGS",
    "WIFI_SIMULATOR_SETTINGS",
    "DemoMovement",
    "DemoSummary",
    "enable_community_simulation",
    "enable_rfid_simulation",
    "enable_simulation",
    "enable_wifi_simulation",
    "holds_demo_site",
    "load_demo",
]
