"""Floki appliance core.

Plugins start with ``from floki_core import hookimpl``.
"""

import pluggy

__version__ = "0.1.0"

PROJECT_NAME = "floki"

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
hookspec = pluggy.HookspecMarker(PROJECT_NAME)

__all__ = ["PROJECT_NAME", "__version__", "hookimpl", "hookspec"]
