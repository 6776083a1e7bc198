"""The conformance kits under the test kit's name: ``from floki_core.testing.conformance
import SourceConformance`` (docs/plugin-kit.md). They live in ``floki_core.conformance``."""

from floki_core.conformance import (
    START,
    ConformanceFailure,
    DecoderConformance,
    LoopStallDetector,
    NotifierConformance,
    NotifierPeer,
    PluginConformance,
    RouteConformance,
    RuleTypeConformance,
    Sighting,
    SourceConformance,
    SourceDevice,
    Watched,
    empty_facts,
    left_behind,
    resources,
    watched_appliance,
)

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
