"""What the window is started with: where pins and tokens are kept, how to discover and
how patiently to reconnect. Tests pass their own; ``floki-console`` uses the defaults."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QStandardPaths

from floki_console.api import Backoff
from floki_console.credentials import TokenStore
from floki_console.trust import PINS_FILE, PinStore


def config_dir() -> Path:
    location = QStandardPaths.writableLocation(
        QStandardPaths.StandardLocation.GenericConfigLocation
    )
    return Path(location or Path.home() / ".config") / "floki-console"


@dataclass
class ConsoleContext:
    pins: PinStore
    tokens: TokenStore
    discover: bool = True
    discovery_interfaces: list[str] | None = None
    initial_backoff: float = 1.0
    maximum_backoff: float = 30.0
    request_timeout: float = 15.0

    @classmethod
    def default(cls) -> ConsoleContext:
        return cls(pins=PinStore(config_dir() / PINS_FILE), tokens=TokenStore())

    def backoff(self) -> Backoff:
        return Backoff(initial=self.initial_backoff, maximum=self.maximum_backoff)
