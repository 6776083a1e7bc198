"""A fixed serial scanner reads GS1 as strictly as every other path: an over-long GIAI is
refused with the reason (a ``qr.scan_rejected`` event) and places no asset, and FNC1
sent as GS before or after a code keeps it GS1. Fed through a pseudo-terminal pair."""

from __future__ import annotations

from floki_core.testing import Floki
from tests.plugins.qr.qr_register import (
    GIAI_E1003,
    SCANNER_RECEIVER,
    QrRegister,
    post,
)
from tests.plugins.qr.test_serial_scanner import (  # noqa: F401  (fixtures are found by name)
    PtyPort,
    _connected,
    _location,
    qr_config_extra,
    qr_settings,
    scanner_port,
)

GS = b"\x1d"
GIAI_30 = "501234500000000000000000000001"
GIAI_34 = GIAI_30 + "1001"  # begins with E2030's GIAI


async def test_a_fixed_scanner_refuses_an_over_long_giai_and_keeps_separators(
    floki: Floki,
    qr_register: QrRegister,
    scanner_port: PtyPort,  # noqa: F811  (the fixture imported above)
) -> None:
    driver = await post(
        floki,
        "/assets",
        {"asset_number": "E2030", "description": "Syringe driver E2030", "giai": GIAI_30},
    )
    hoist = await post(floki, "/assets", {"asset_number": "10023", "description": "Hoist"})
    events = floki.core.events.subscribe()
    source = await _connected(floki)
    scanner_port.scan(
        b"]C18004" + GIAI_34.encode(),  # too long: not E2030's GIAI
        GS + b"8004" + GIAI_E1003.encode() + GS,  # FNC1 sent as GS, first and last
        b"10023" + GS,  # a batch number (AI 10), not the hoist numbered 10023
    )
    await floki.eventually(lambda: source.counts.scans == 3, "three scans")
    await floki.settle()
    assert (source.counts.located, source.counts.rejected) == (1, 2)
    assert (await _location(floki, qr_register.assets["E1003"]))["zone"]["name"] == (
        "Equipment library"
    )
    for asset in (driver, hoist):
        assert (await _location(floki, asset["id"])).get("zone") is None
    rejected = []
    while not events.empty():
        rejected += [e for e in events.get_nowait() if e.type == "qr.scan_rejected"]
    assert [(e.entity_id, e.data["reason"]) for e in rejected] == [
        (SCANNER_RECEIVER, "(8004) GIAI is 34 characters; at most 30"),
        (
            SCANNER_RECEIVER,
            "GS1 code carries no GIAI (8004), GLN (414) or GTIN + serial (01 + 21); it has (10)",
        ),
    ]
