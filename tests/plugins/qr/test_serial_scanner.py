"""A fixed scanner on a serial port, fed through a pseudo-terminal pair as a real one would
be: what it reads places assets in its zone; a lost port is a clear failure and the
supervisor brings the scanner back."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from floki_core.config import parse_config, plugin_section
from floki_core.errors import ConfigError
from floki_core.testing import Floki
from floki_qr.config import QrSettings
from floki_qr.scanner import SerialScannerSource, split_lines
from tests.plugins.qr.qr_register import (
    API,
    BASE_URL,
    GIAI_E1003,
    GLN_WARD,
    SCANNER_RECEIVER,
    QrRegister,
    build_qr_register,
)

SOURCE = "qr-serial-library"


class PtyPort:
    """A pseudo-terminal: the scanner writes to the master; Floki opens the slave through
    a stable symlink, as it would /dev/serial/by-id/..."""

    def __init__(self, link: Path) -> None:
        self.link = link
        self.master = -1
        self.slave = -1
        self.plug_in()

    def plug_in(self) -> None:
        self.master, self.slave = os.openpty()
        if self.link.is_symlink():
            self.link.unlink()
        self.link.symlink_to(os.ttyname(self.slave))

    def scan(self, *codes: bytes, end: bytes = b"\r\n") -> None:
        os.write(self.master, b"".join(code + end for code in codes))

    def unplug(self) -> None:
        for fd in (self.master, self.slave):
            if fd >= 0:
                os.close(fd)
        self.master = self.slave = -1


@pytest.fixture
def scanner_port(tmp_path: Path) -> Iterator[PtyPort]:
    port = PtyPort(tmp_path / "scanner")
    yield port
    port.unplug()


@pytest.fixture
def qr_settings(scanner_port: PtyPort) -> dict[str, Any]:
    scanner = {"name": "library", "port": str(scanner_port.link), "receiver": SCANNER_RECEIVER}
    return {"labels": {"base_url": BASE_URL}, "scanners": {"serial": [scanner]}}


@pytest.fixture
def qr_config_extra() -> dict[str, Any]:
    # The scanner starts before the test has registered its receiver: retry quickly.
    fast = {"backoff_initial": 0.01, "backoff_max": 0.05, "max_failures": 10_000}
    return {"plugins": {"supervision": fast}}


def _source(floki: Floki) -> SerialScannerSource:
    registration = floki.core.plugins.registries.sources.get(SOURCE)
    assert registration is not None
    assert isinstance(registration.item, SerialScannerSource)
    return registration.item


async def _connected(floki: Floki) -> SerialScannerSource:
    source = _source(floki)
    await asyncio.wait_for(source.connected.wait(), 10)
    return source


async def _location(floki: Floki, asset_id: int) -> dict[str, Any]:
    resp = await floki.client.get(
        f"{API}/assets/{asset_id}/location", headers=await floki.headers("viewer")
    )
    data: dict[str, Any] = await resp.json()
    return data


async def _source_status(floki: Floki) -> dict[str, Any]:
    resp = await floki.client.get(f"{API}/plugins", headers=await floki.headers("viewer"))
    plugins = {p["name"]: p for p in (await resp.json())["items"]}
    sources = {s["name"]: s for s in plugins["qr"]["sources"]}
    found: dict[str, Any] = sources[SOURCE]
    return found


async def test_scans_at_the_library_door_place_assets_in_the_library(
    floki: Floki, qr_register: QrRegister, scanner_port: PtyPort
) -> None:
    events = floki.core.events.subscribe()
    source = await _connected(floki)
    scanner_port.scan(
        f"{BASE_URL}/q/E1001".encode(),  # a Floki label
        b"]C18004" + GIAI_E1003.encode(),  # a Scan4Safety GIAI label, never given a code
        b"]C0E1002",  # an asset number on a Code 128 label
        b"]C14145012345000016",  # a GLN with a wrong check digit
        b"]C1414" + GLN_WARD.encode(),  # a location label: the scanner does not move
    )
    await floki.eventually(lambda: source.counts.scans == 5, "five scans")
    await floki.settle()
    assert (source.counts.located, source.counts.ignored, source.counts.rejected) == (3, 1, 1)
    for number in ("E1001", "E1002", "E1003"):
        where = await _location(floki, qr_register.assets[number])
        assert where["zone"]["name"] == "Equipment library", (number, where)
        assert (where["method"], where["technology"]) == ("fixed_point", "qr")

    # Assets read by GIAI or number got their label code, audited as the scanner.
    resp = await floki.client.get(
        f"{API}/audit",
        params={"entity": "identifiers", "action": "create"},
        headers=await floki.headers("admin"),
    )
    by_scanner = [
        e["after"]["asset_id"]
        for e in (await resp.json())["items"]
        if e["actor"] == "serial scanner library"
    ]
    assert sorted(by_scanner) == sorted([qr_register.assets["E1002"], qr_register.assets["E1003"]])

    rejected = []
    while not events.empty():
        rejected += [e for e in events.get_nowait() if e.type == "qr.scan_rejected"]
    assert [(e.entity_id, e.data["reason"]) for e in rejected] == [
        (SCANNER_RECEIVER, "GLN 5012345000016 has a wrong check digit: expected 5, got 6")
    ]


async def test_codes_split_across_reads_and_line_ends(
    floki: Floki, qr_register: QrRegister, scanner_port: PtyPort
) -> None:
    source = await _connected(floki)
    os.write(scanner_port.master, b"E10")
    await asyncio.sleep(0.05)
    os.write(scanner_port.master, b"02\r")
    await asyncio.sleep(0.05)
    os.write(scanner_port.master, b"\nE1001\n\r\n")
    await floki.eventually(lambda: source.counts.scans == 2, "two scans")
    await floki.settle()
    where = await _location(floki, qr_register.assets["E1002"])
    assert where["zone"]["name"] == "Equipment library"


async def test_a_lost_port_fails_with_the_reason_and_the_scanner_comes_back(
    floki: Floki,
    qr_register: QrRegister,
    scanner_port: PtyPort,
    caplog: pytest.LogCaptureFixture,
) -> None:
    source = await _connected(floki)
    caplog.set_level(logging.ERROR, logger="floki_core.plugins")
    scanner_port.unplug()
    await floki.eventually(lambda: not source.connected.is_set(), "the scanner to notice")
    await floki.eventually(lambda: _source_restarts(floki) >= 2, "restarts")
    # A restart counts as it begins; its failure to reopen is the reason once it ends.
    await floki.eventually(
        lambda: "cannot open the port" in (_source_reason(floki) or ""), "a reopen"
    )
    status = await _source_status(floki)
    assert status["status"] in {"backoff", "running"}
    assert f"serial scanner library ({scanner_port.link}): cannot open the port" in status["reason"]
    crashes = [str(r.exc_info[1]) for r in caplog.records if r.exc_info and r.exc_info[1]]
    # pyserial words the loss by how it notices: EIO, or a read that returns nothing.
    lost = f"serial scanner library ({scanner_port.link}) disconnected: "
    assert any(crash.startswith(lost) for crash in crashes), crashes

    # Plugged back in (a new device behind the same name): reading resumes.
    scanner_port.plug_in()
    await _connected(floki)
    scanner_port.scan(b"E1002")
    await floki.eventually(lambda: source.counts.scans == 1, "the scan after reconnecting")
    await floki.settle()
    where = await _location(floki, qr_register.assets["E1002"])
    assert where["zone"]["name"] == "Equipment library"
    assert (await _source_status(floki))["status"] == "running"


def _source_reason(floki: Floki) -> str | None:
    for runner in floki.core.plugins.runners:
        if runner.status.name == SOURCE:
            return runner.status.reason
    return None


def _source_restarts(floki: Floki) -> int:
    for runner in floki.core.plugins.runners:
        if runner.status.name == SOURCE:
            return runner.status.restarts
    return 0


async def test_a_scanner_whose_receiver_is_not_registered_says_so(floki: Floki) -> None:
    await floki.eventually(lambda: _source_restarts(floki) >= 1, "a failed start")
    status = await _source_status(floki)
    assert status["reason"] == (
        f"ScannerError: serial scanner library ({_source(floki).scanner.port}): receiver "
        f"'{SCANNER_RECEIVER}' is not in the register; add a receiver with that identifier in "
        "the zone where the scanner stands"
    )
    # Once it is registered, the next attempt starts reading.
    await build_qr_register(floki)
    await _connected(floki)


@pytest.mark.parametrize(
    ("scanners", "error"),
    [
        (
            [{"name": "door", "port": "/dev/ttyACM0", "receiver": "A"}] * 2,
            "floki.toml: plugin.qr.scanners: serial scanner name 'door' is used twice",
        ),
        (
            [{"name": "door", "port": "/dev/ttyACM0", "receiver": "A", "baud": 9600}],
            "floki.toml: plugin.qr.scanners.serial[0]: unknown key `baud`",
        ),
        (
            [{"name": "door", "port": "/dev/ttyACM0", "receiver": "A", "terminator": "nul"}],
            "floki.toml: plugin.qr.scanners.serial[0].terminator: Invalid enum value 'nul'",
        ),
        (
            [{"name": "Door 1", "port": "/dev/ttyACM0", "receiver": "A"}],
            "floki.toml: plugin.qr.scanners.serial[0].name: "
            "Expected `str` matching regex '^[a-z0-9][a-z0-9_-]{0,39}$'",
        ),
        (
            [{"name": "door", "port": "/dev/ttyACM0"}],
            "floki.toml: plugin.qr.scanners.serial[0]: Object missing required field `receiver`",
        ),
    ],
)
def test_bad_scanner_settings_name_the_key(scanners: list[dict[str, Any]], error: str) -> None:
    config = parse_config({"plugin": {"qr": {"scanners": {"serial": scanners}}}})
    with pytest.raises(ConfigError) as raised:
        plugin_section(config, "qr", QrSettings)
    assert str(raised.value) == error


@pytest.mark.parametrize(
    ("terminator", "data", "lines", "rest"),
    [
        ("auto", b"E1001\r\nE1002\r\n", [b"E1001", b"E1002"], b""),
        ("auto", b"E1001\rE1002\nE10", [b"E1001", b"E1002"], b"E10"),
        ("auto", b"E1001\r", [b"E1001"], b""),
        ("auto", b"\r\n\r\n", [], b""),
        ("cr", b"E1001\rE1002\r\nE1003", [b"E1001", b"E1002"], b"\nE1003"),
        ("lf", b"]C1\x1d8004123\nE", [b"]C1\x1d8004123"], b"E"),
        ("crlf", b"A\r\nB\rC\r\n", [b"A", b"B\rC"], b""),
        ("tab", b"A\tB\t", [b"A", b"B"], b""),
    ],
)
def test_splitting_lines(terminator: str, data: bytes, lines: list[bytes], rest: bytes) -> None:
    assert split_lines(data, terminator) == (lines, rest)
