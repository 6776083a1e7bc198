"""Access points by the name a controller gives them: from the register's Wi-Fi
receivers, read again when the receivers change or (at most every 30 s) when a name is
not found. Pure: a register snapshot built here, a manual clock."""

from __future__ import annotations

from floki_wifi.ap_names import REFRESH_SECONDS, AccessPointNames

from floki_core.clock import ManualClock
from floki_core.sdk import Receiver, RegisterSnapshot


def snapshot(*receivers: tuple[str, str, str]) -> RegisterSnapshot:
    return RegisterSnapshot(
        floors=[],
        zones=[],
        assets=[],
        identifiers=[],
        receivers=[
            Receiver(id=n, name=name, technology=technology, identifier=identifier, zone_id=1)
            for n, (name, technology, identifier) in enumerate(receivers, 1)
        ],
    )


def test_a_wifi_receivers_name_gives_its_mac_exactly_then_regardless_of_case() -> None:
    names = AccessPointNames(None, ManualClock())
    names.update(
        snapshot(
            ("Ward5-AP-Corridor", "wifi", "f0:9f:c2:00:00:01"),
            ("ward5-ap-corridor", "wifi", "F0-9F-C2-00-00-09"),
            ("bay 1 gateway", "ble", "AC:23:3F:C0:00:01"),
        )
    )
    assert names.mac_for("Ward5-AP-Corridor") == "F0:9F:C2:00:00:01"
    assert names.mac_for("ward5-ap-corridor") == "F0:9F:C2:00:00:09"
    assert names.mac_for("WARD5-AP-CORRIDOR") in {"F0:9F:C2:00:00:01", "F0:9F:C2:00:00:09"}
    assert names.mac_for("bay 1 gateway") is None  # a BLE gateway is no access point
    assert names.macs == {"F0:9F:C2:00:00:01", "F0:9F:C2:00:00:09"}


def test_a_name_not_found_asks_for_a_refresh_at_most_every_30_seconds() -> None:
    clock = ManualClock()
    names = AccessPointNames(None, clock)
    assert names.due  # never read
    names.update(snapshot(("library-ap", "wifi", "F0:9F:C2:00:00:02")))
    assert not names.due
    assert names.mac_for("new-ap") is None
    assert not names.due  # read just now: not again yet
    clock.advance(REFRESH_SECONDS)
    assert names.due
    names.update(snapshot(("new-ap", "wifi", "F0:9F:C2:00:00:03")))
    assert names.mac_for("new-ap") == "F0:9F:C2:00:00:03"
    assert not names.due


def test_a_change_of_the_registers_receivers_asks_for_a_refresh_at_once() -> None:
    names = AccessPointNames(None, ManualClock())
    names.update(snapshot())
    names.changed()
    assert names.due
