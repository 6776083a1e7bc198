"""The plugin surface for code that runs in a worker process of a plugin's own (see
``floki_core.sdk.WorkerProcess``): the channel to the appliance, and nothing that loads
the appliance (no database, no web server), so a worker starts in a fraction of a second
and holds little memory. The import contracts in pyproject.toml keep it that light.
Everything else a plugin uses comes from ``floki_core.sdk``."""

from __future__ import annotations

from floki_core.workers.channel import ChannelClosed, FrameChannel, open_channel

__all__ = ["ChannelClosed", "FrameChannel", "open_channel"]
