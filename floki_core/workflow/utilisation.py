"""Utilisation and proof of value: time in each state, idle assets, peak use, reports."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

if TYPE_CHECKING:
    from floki_core.core import Core


class UtilisationSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class Utilisation:
    def __init__(self, core: Core) -> None:
        self.core = core

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass
