"""The conformance kits under the test kit's name: ``from floki_core.testing.conformance
import SourceConformance`` (docs/plugin-kit.md). They live in ``floki_core.conformance``."""

from floki_core.conformance import *  # noqa: F403
from floki_core.conformance import __all__ as __all__
