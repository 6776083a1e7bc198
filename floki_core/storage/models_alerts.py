"""Tables of the workflow engine: alerts."""

from __future__ import annotations

from floki_core.storage.models import Base

__all__ = ["Base"]
