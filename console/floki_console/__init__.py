"""Floki desktop console. Today a command-line health check; the Qt window follows."""

__version__ = "0.1.0"
