"""The demo hospital that ``floki-core demo`` loads into a new appliance.

St Floki General Hospital is fictional: two buildings, three drawn floors, about 25
zones with receivers, and about 300 assets with tags and PPM dates. It is static;
movement comes from a simulator.
"""

from floki_core.demo.load import DemoSummary, load_demo

__all__ = ["DemoSummary", "load_demo"]
