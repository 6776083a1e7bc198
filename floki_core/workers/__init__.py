"""Work a plugin moves out of the appliance's event loop into processes of its own: the
process (``process.WorkerProcess``: started with the sockets it inherits, watched, ended)
and the link to it (``channel.FrameChannel``: length-prefixed frames over a Unix socket).
Both are on the plugin surface (``floki_core.sdk``)."""
