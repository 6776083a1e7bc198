"""Fixtures of the RFID plugin's tests: a fixed reader on a free loopback port, and a sink
that records what a source hands the core."""

from __future__ import annotations

import collections
from collections.abc import AsyncIterator, Sequence

import pytest

from floki_core.observations import Observation
from tests.plugins.rfid.llrp_peer import EmulatedReader


class RecordingSink:
    """What a source delivered: its batches, and what it refused by reason."""

    def __init__(self) -> None:
        self.batches: list[list[Observation]] = []
        self.rejected: collections.Counter[str] = collections.Counter()

    async def submit(self, batch: Sequence[Observation]) -> None:
        self.batches.append(list(batch))

    def reject(self, reason: str, count: int = 1) -> None:
        self.rejected[reason] += count

    @property
    def observations(self) -> list[Observation]:
        return [o for batch in self.batches for o in batch]


@pytest.fixture
async def llrp_reader() -> AsyncIterator[EmulatedReader]:
    reader = EmulatedReader()
    await reader.start()
    yield reader
    await reader.close()


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()
