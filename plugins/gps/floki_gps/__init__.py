"""Floki plugin for GPS trackers and phones: community equipment located by geofence.

The hooks are in ``floki_gps.plugin`` (the ``floki`` entry point); this package's own
module stays empty so that a tracker worker process (``floki_gps.tcp_worker``) imports
only the decoders, not the appliance. See README.md."""
