"""Conformance kits for Floki plugins: inherit a kit, say what your plugin takes and what
it must make of it, and the inherited tests check it against the plugin contract in a
real in-process appliance (docs/plugin-kit.md).
"""

from floki_core.conformance.appliance import START, ConformanceFailure, Watched, watched_appliance
from floki_core.conformance.common import DecoderConformance, PluginConformance
from floki_core.conformance.notifiers import NotifierConformance, NotifierPeer
from floki_core.conformance.routes import RouteConformance
from floki_core.conformance.rules import RuleTypeConformance, empty_facts
from floki_core.conformance.sources import Sighting, SourceConformance, SourceDevice
from floki_core.conformance.watch import LoopStallDetector, left_behind, resources

__all__ = [
    "START",
    "ConformanceFailure",
    "DecoderConformance",
    "LoopStallDetector",
    "NotifierConformance",
    "NotifierPeer",
    "PluginConformance",
    "RouteConformance",
    "RuleTypeConformance",
    "Sighting",
    "SourceConformance",
    "SourceDevice",
    "Watched",
    "empty_facts",
    "left_behind",
    "resources",
    "watched_appliance",
]
