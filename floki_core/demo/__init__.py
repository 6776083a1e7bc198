"""The demo hospital that ``floki-core demo`` loads into a new appliance.

St Floki General Hospital is fictional: two buildings, three drawn floors, about 25
zones with receivers, and about 300 assets with tags and PPM dates. It is static;
movement comes from the BLE plugin's simulated gateways, which the demo switches on in
the config (``floki_core.demo.simulation``).
"""

from floki_core.demo.load import DemoSummary, holds_demo_site, load_demo
from floki_core.demo.simulation import SIMULATOR_SETTINGS, DemoMovement, enable_simulation

__all__ = [
    "SIMULATOR_SETTINGS",
    "DemoMovement",
    "DemoSummary",
    "enable_simulation",
    "holds_demo_site",
    "load_demo",
]
