"""Floki desktop console: finds, trusts and shows an appliance through its public API."""

__version__ = "0.1.0"
