"""Tag batteries: the latest level each tag reports, and which need replacing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from floki_core.observations import Observation

if TYPE_CHECKING:
    from floki_core.core import Core


class TagBatteries:
    def __init__(self, core: Core) -> None:
        self.core = core

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    def observe(self, admitted: Sequence[Observation]) -> None:
        """Called on the hot path with every admitted batch; must stay cheap."""
