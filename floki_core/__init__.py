"""Floki appliance core.

Plugins start with ``from floki_core import hookimpl``.
"""

import pluggy

__version__ = "0.1.0"

# The plugin API this core provides (floki_core.plugins.contract): a minor bump adds to
# it, a major bump removes or changes something. Plugins declare the range they support.
PLUGIN_API = (1, 4)

PROJECT_NAME = "floki"

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
hookspec = pluggy.HookspecMarker(PROJECT_NAME)

__all__ = ["PLUGIN_API", "PROJECT_NAME", "__version__", "hookimpl", "hookspec"]
