"""Which devices the plugin may keep: only MACs bound to assets.

Wi-Fi feeds carry every phone on the network, staff's and patients'. A device whose MAC no
asset carries is counted here (a number) and dropped by the feed before anything else is
done with it: it is never handed to the core (whose unknown-tags list would keep it),
stored, logged or shown. A randomised MAC (the locally administered bit set: phones hide
behind them) is dropped the same way unless an asset carries it explicitly, and counted
apart so a department can see how much of its network is people.
"""

from __future__ import annotations

from floki_core.sdk import RegisterView, spell_mac

TECHNOLOGY = "wifi"
# What the filter drops is the ordinary run of a Wi-Fi feed, not a fault: counted, and
# logged at INFO (``sink.reject(..., expected=True)``).
UNKNOWN_DEVICE = "unknown_device"
RANDOMISED_DEVICE = "randomised_device"
DROPPED_BY_DESIGN = frozenset({UNKNOWN_DEVICE, RANDOMISED_DEVICE})


def device_mac(text: str) -> str | None:
    """``AA:BB:CC:DD:EE:FF`` from any way a network device writes a MAC (bare, with
    ``:``/``-``/``.``, Cisco's dotted groups of four), or None."""
    return spell_mac(text)


def refusal(mac: str) -> str:
    """The reason a device no asset carries is dropped for (``sink.reject``): a random
    MAC or a burnt-in one. ``mac`` is spelt by ``device_mac``."""
    return RANDOMISED_DEVICE if is_randomised(mac) else UNKNOWN_DEVICE


def is_randomised(mac: str) -> bool:
    """A locally administered address (second hex digit 2, 6, A or E): a phone's
    per-network random MAC, not a device's burnt-in one. ``mac`` is spelt by
    ``device_mac``."""
    return mac[1] in "26AE"


class DeviceFilter:
    """Says whether a device may be kept, and counts those that may not.

    ``unknown`` counts devices no asset carries with a burnt-in MAC; ``randomised`` those
    with a random one. Neither keeps which device it was."""

    def __init__(self, register: RegisterView | None) -> None:
        self._register = register
        self.unknown = 0
        self.randomised = 0

    def asset_for(self, mac: str) -> int | None:
        """The asset carrying ``mac`` (spelt by ``device_mac``), or None after counting it."""
        asset_id = None if self._register is None else self._register.asset_id_for(TECHNOLOGY, mac)
        if asset_id is None:
            if is_randomised(mac):
                self.randomised += 1
            else:
                self.unknown += 1
        return asset_id

    def counts(self) -> dict[str, int]:
        return {"unknown_devices": self.unknown, "randomised_devices": self.randomised}
