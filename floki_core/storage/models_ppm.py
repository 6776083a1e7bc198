"""Tables of the workflow engine: equipment states, PPM schedules and work orders."""

from __future__ import annotations

from floki_core.storage.models import Base

__all__ = ["Base"]
