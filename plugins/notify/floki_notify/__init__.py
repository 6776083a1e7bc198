"""Floki notifiers: webhook and email. This module holds only the hook implementations."""

from __future__ import annotations

__version__ = "0.1.0"
