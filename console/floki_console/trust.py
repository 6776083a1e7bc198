"""Trust on first use: the certificate fingerprints the user has confirmed, per appliance.

Pins are kept in a small JSON file in the user's configuration directory, keyed by the
appliance's ``host:port``. The first connection to an address shows the fingerprint for
confirmation; after that only that certificate is accepted there.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from floki_console.api import is_fingerprint

log = logging.getLogger(__name__)

PINS_FILE = "trusted-appliances.json"


class Verdict(enum.Enum):
    FIRST_USE = "first use"  # never seen: ask the user
    TRUSTED = "trusted"  # the pinned certificate
    CHANGED = "changed"  # a different certificate: refuse


@dataclass(frozen=True)
class Pin:
    appliance: str  # host:port
    fingerprint: str
    name: str
    pinned_at: str


class PinStore:
    """The pins in ``path`` (created on the first pin, readable by the user only)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._pins = self._load()

    def _load(self) -> dict[str, Pin]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            # An unreadable file trusts nothing rather than everything.
            log.warning("cannot read %s (%s); no appliance is trusted yet", self.path, exc)
            return {}
        pins: dict[str, Pin] = {}
        entries = raw.get("pins", {}) if isinstance(raw, dict) else {}
        for appliance, entry in entries.items() if isinstance(entries, dict) else ():
            if not isinstance(entry, dict):
                continue
            fingerprint = entry.get("fingerprint")
            if isinstance(fingerprint, str) and is_fingerprint(fingerprint):
                pins[appliance] = Pin(
                    appliance,
                    fingerprint,
                    str(entry.get("name", "")),
                    str(entry.get("pinned_at", "")),
                )
        return pins

    def get(self, appliance: str) -> Pin | None:
        return self._pins.get(appliance)

    def all(self) -> list[Pin]:
        return sorted(self._pins.values(), key=lambda p: p.appliance)

    def verdict(self, appliance: str, presented: str) -> Verdict:
        pin = self._pins.get(appliance)
        if pin is None:
            return Verdict.FIRST_USE
        return Verdict.TRUSTED if pin.fingerprint == presented else Verdict.CHANGED

    def pin(self, appliance: str, fingerprint: str, name: str = "") -> Pin:
        if not is_fingerprint(fingerprint):
            raise ValueError(f"not a SHA-256 fingerprint: {fingerprint!r}")
        pin = Pin(
            appliance, fingerprint, name, dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        )
        self._pins[appliance] = pin
        self._save()
        return pin

    def forget(self, appliance: str) -> None:
        if self._pins.pop(appliance, None) is not None:
            self._save()

    def _save(self) -> None:
        data = {
            "pins": {
                p.appliance: {
                    "fingerprint": p.fingerprint,
                    "name": p.name,
                    "pinned_at": p.pinned_at,
                }
                for p in self.all()
            }
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside and renamed, so a crash never leaves half a file of pins.
        fd, tmp = tempfile.mkstemp(prefix=".pins-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, indent=2, sort_keys=True)
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
