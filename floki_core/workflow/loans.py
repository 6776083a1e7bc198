"""Community loans: check-out to a destination by reference, due-back, return, purge."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

if TYPE_CHECKING:
    from floki_core.core import Core


class LoanSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class Loans:
    def __init__(self, core: Core) -> None:
        self.core = core

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass
