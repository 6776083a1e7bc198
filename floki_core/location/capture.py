"""Opt-in, sampled capture of raw observations, for calibrating receivers.

Raw sightings are not stored by default (a hospital's worth is ~100 GB a day). With
``[location] capture_sample`` above 0 that fraction is appended, as JSON lines, to
``<data-dir>/capture/observations-<date>.jsonl``; files older than
``capture_days`` are removed.

Calibration needs what receivers heard, not where a tracker was: a sighting's
coordinates are never captured (a loaned asset's fix may be a patient's home, and this
file is outside the loan's retention and recall rules).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from pathlib import Path

import msgspec

from floki_core.observations import Observation

_encoder = msgspec.json.Encoder()
_POSITION_KEYS = ("lat", "lon", "accuracy_m")


class RawCapture:
    def __init__(
        self, directory: Path, sample: float, keep_days: int, rand: random.Random | None = None
    ) -> None:
        self.directory = directory
        self.sample = sample
        self.keep_days = keep_days
        self._rand = rand or random.Random()
        self._pending: list[bytes] = []

    @property
    def enabled(self) -> bool:
        return self.sample > 0

    def offer(self, source: str, batch: Sequence[Observation]) -> None:
        if self.sample <= 0:
            return
        rand, sample = self._rand.random, self.sample
        for obs in batch:
            if sample >= 1 or rand() < sample:
                record = {"source": source, **msgspec.to_builtins(obs)}
                for key in _POSITION_KEYS:
                    record.pop(key, None)
                self._pending.append(_encoder.encode(record))

    def take(self) -> list[bytes]:
        """The lines sampled since the last take, to ``write_lines``. Called on the thread
        that ``offer``s (the event loop): taken anywhere else, a line ``offer`` was adding
        as the list changed hands could be lost."""
        lines, self._pending = self._pending, []
        return lines

    def write(self, today: dt.date) -> int:
        """Append what was sampled, from the thread that offers (a test, a command)."""
        return self.write_lines(self.take(), today)

    def write_lines(self, lines: Sequence[bytes], today: dt.date) -> int:
        """Append ``lines`` (from ``take``) to today's file and drop files past their
        days (blocking: run it off the event loop)."""
        if not lines:
            return 0
        self.directory.mkdir(parents=True, exist_ok=True)
        with (self.directory / f"observations-{today:%Y-%m-%d}.jsonl").open("ab") as out:
            out.write(b"\n".join(lines) + b"\n")
        cutoff = today - dt.timedelta(days=self.keep_days)
        for old in self.directory.glob("observations-*.jsonl"):
            try:
                day = dt.date.fromisoformat(old.stem.removeprefix("observations-"))
            except ValueError:
                continue
            if day < cutoff:
                old.unlink(missing_ok=True)
        return len(lines)
