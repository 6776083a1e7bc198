"""The demo's Wi-Fi infusion pumps on Ward 5.

Ward 5 has a Wi-Fi access point in its corridor (``site.py``), and the first
``WIFI_PUMPS`` volumetric pumps kept on Ward 5 join the trust's Wi-Fi with a burnt-in MAC
instead of wearing a BLE tag: their ``wifi`` identifier (and their QR code) is all they
carry. floki-wifi's simulator (``[plugin.wifi] simulate = true``) has the access points
report them through the plugin's real syslog listener, among phones and staff devices
no asset carries, which the plugin counts and drops (docs/wifi-demo.md).
"""

from __future__ import annotations

from collections.abc import Iterable

WIFI_PUMP_CLASS = "BD Alaris GP Plus"
WIFI_WARD = "Ward 5"
WIFI_PUMPS = 6
# Microchip's OUI, whose Wi-Fi modules many medical devices carry: universally
# administered (a burnt-in MAC), as a pump's is.
WIFI_OUI = "00:1E:C0"


def wifi_mac(asset_number: str) -> str:
    """The pump's burnt-in MAC, from its asset number ("E10042" -> 00:1E:C0:01:00:42)."""
    digits = f"{int(asset_number.lstrip('E')):06d}"[-6:]
    return f"{WIFI_OUI}:{digits[0:2]}:{digits[2:4]}:{digits[4:6]}"


def on_wifi_ward(zone: str, parents: dict[str, str | None]) -> bool:
    """Whether ``zone`` is Ward 5 or one of its rooms."""
    while True:
        if zone == WIFI_WARD:
            return True
        parent = parents.get(zone)
        if parent is None:
            return False
        zone = parent


def wifi_pumps(
    assets: Iterable[tuple[str, str, str]], parents: dict[str, str | None]
) -> frozenset[str]:
    """The asset numbers of the Wi-Fi pumps among ``assets`` ((asset number, class name,
    home zone) in asset-number order): the first ``WIFI_PUMPS`` Alaris GP Plus pumps
    kept on Ward 5."""
    found: list[str] = []
    for number, class_name, home in assets:
        if class_name == WIFI_PUMP_CLASS and on_wifi_ward(home, parents):
            found.append(number)
            if len(found) == WIFI_PUMPS:
                break
    return frozenset(found)
