"""Conformance of the QR plugin's fixed serial scanner, loaded through its entry point and
fed through a pseudo-terminal pair as a real scanner on a serial port would be."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import strategies as st

from floki_core.conformance import Sighting, SourceConformance
from floki_core.testing import Floki
from floki_qr.gs1 import read_scan
from floki_qr.scanner import SerialScannerSource

RECEIVER = "SCANNER-LIBRARY"
SOURCE = "qr-serial-library"


class PtyScanner:
    """A scanner on a serial port: Floki opens the pty's slave through a stable symlink
    (as it would /dev/serial/by-id/...), the test types codes into the master."""

    def __init__(self, folder: Path) -> None:
        self.link = folder / "scanner"
        self.master = self.slave = -1

    async def open(self) -> None:
        self.master, self.slave = os.openpty()
        if self.link.is_symlink():
            self.link.unlink()
        self.link.symlink_to(os.ttyname(self.slave))

    def settings(self) -> Mapping[str, Any]:
        scanner = {"name": "library", "port": str(self.link), "receiver": RECEIVER}
        return {"scanners": {"serial": [scanner]}}

    async def scan(self, floki: Floki, *codes: bytes) -> None:
        # Typed once the scanner reads the port: what is typed into a closed port is lost.
        registration = floki.core.plugins.registries.sources.get(SOURCE)
        assert registration is not None and isinstance(registration.item, SerialScannerSource)
        await asyncio.wait_for(registration.item.connected.wait(), 10)
        os.write(self.master, b"".join(code + b"\r\n" for code in codes))

    async def send_good(self, floki: Floki) -> None:
        await self.scan(floki, b"QRCONF7", b"]C0qrconf8")  # a QR code; a Code 128 label

    async def send_bad(self, floki: Floki) -> None:
        await self.scan(floki, b"]C14145012345000016", b"NOT-A-LABEL-WE-KNOW")

    async def lose(self) -> None:
        await self.close()

    async def restore(self) -> None:
        await self.open()

    async def close(self) -> None:
        for fd in (self.master, self.slave):
            if fd >= 0:
                os.close(fd)
        self.master = self.slave = -1


class TestSerialScannerConformance(SourceConformance):
    plugin = "qr"
    source = SOURCE
    documentation = ("docs/qr.md",)
    expected = (Sighting("qr", "QRCONF7", RECEIVER), Sighting("qr", "QRCONF8", RECEIVER))
    bad_reasons: ClassVar[Mapping[str, int]] = {"unreadable_code": 1, "unknown_code": 1}
    decoder = read_scan
    decoder_inputs = st.one_of(
        st.text(max_size=300),
        st.builds(
            lambda ai, rest: f"]C1{ai}{rest}",
            st.sampled_from(["414", "8004", "01", "21", "00"]),
            st.text(max_size=60),
        ),
        st.builds(lambda rest: f"https://id.example.org/{rest}", st.text(max_size=80)),
    )

    @pytest.fixture
    def source_device(self, tmp_path: Path) -> PtyScanner:
        return PtyScanner(tmp_path)
