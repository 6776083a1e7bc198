"""The demo's community equipment: fifteen items with GPS trackers, nine of them on loan.

Each item carries a tracker of the kinds trusts buy: a Teltonika asset tracker, a GT06
(Concox) tracker, or, on one oxygen concentrator, an old phone running Traccar Client.
Trackers are named by the id the device reports: an IMEI for the TCP trackers (the
first eight digits, the type allocation code, say who made it: ``35630704`` Teltonika,
``86471700`` Concox), the Traccar Client's device id for the phone. Loans name their
destination by type and reference only; one of them is overdue.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

TELTONIKA_TAC = "35630704"
GT06_TAC = "86471700"
COMMUNITY_DEPARTMENT = "Community Equipment Service"
Tracker = Literal["teltonika", "gt06", "osmand"]
Destination = Literal["home", "hospice", "virtual_ward"]


def imei(tac: str, serial: int) -> str:
    """A 15-digit IMEI: the 8-digit type allocation code, a 6-digit serial, the Luhn digit."""
    body = f"{tac}{serial:06d}"
    total = 0
    for i, digit in enumerate(int(d) for d in reversed(body)):
        doubled = digit * 2 if i % 2 == 0 else digit
        total += doubled - 9 if doubled > 9 else doubled
    return body + str((10 - total % 10) % 10)


@dataclass(frozen=True)
class DemoLoan:
    reference: str
    destination_type: Destination
    loaned_days_ago: int
    due_in_days: int  # below 0: overdue

    def loaned_at(self, now: dt.datetime) -> dt.datetime:
        return now - dt.timedelta(days=self.loaned_days_ago)

    def due_back(self, today: dt.date) -> dt.date:
        return today + dt.timedelta(days=self.due_in_days)


@dataclass(frozen=True)
class CommunityItem:
    asset_number: str
    class_name: str
    serial: str
    tracker: Tracker
    device: str  # the gps identifier: the tracker's IMEI or the phone's device id
    loan: DemoLoan | None = None


def _item(
    n: int, class_name: str, prefix: str, tracker: Tracker, loan: DemoLoan | None = None
) -> CommunityItem:
    device = {
        "teltonika": imei(TELTONIKA_TAC, 410000 + n),
        "gt06": imei(GT06_TAC, 280000 + n),
        "osmand": f"{714800 + n}",  # Traccar Client's default id: a random number
    }[tracker]
    number, serial = f"E{20000 + n}", f"{prefix}{700100 + n}"
    return CommunityItem(number, class_name, serial, tracker, device, loan)


HOIST, BED, MATTRESS = "Invacare Birdie Evo", "Sidhil Bradshaw", "Arjo Nimbus 4"
CONCENTRATOR, SYRINGE_DRIVER = "Invacare Perfecto2 V", "CME McKinley T34"

COMMUNITY_ITEMS: tuple[CommunityItem, ...] = (
    _item(1, HOIST, "BEV", "teltonika", DemoLoan("L-24817", "home", 12, 16)),
    _item(2, HOIST, "BEV", "gt06"),
    # Out a month and four days past its due date: the overdue loan of the demo.
    _item(3, BED, "SBR", "teltonika", DemoLoan("L-24822", "home", 30, -4)),
    _item(4, BED, "SBR", "teltonika", DemoLoan("L-24835", "hospice", 5, 23)),
    _item(5, BED, "SBR", "gt06"),
    _item(6, MATTRESS, "NB4", "teltonika", DemoLoan("L-24840", "home", 9, 19)),
    _item(7, MATTRESS, "NB4", "gt06", DemoLoan("L-24851", "virtual_ward", 2, 5)),
    _item(8, MATTRESS, "NB4", "teltonika"),
    _item(9, CONCENTRATOR, "PF2", "osmand", DemoLoan("L-24856", "home", 20, 40)),
    _item(10, CONCENTRATOR, "PF2", "teltonika"),
    _item(11, CONCENTRATOR, "PF2", "gt06", DemoLoan("L-24860", "home", 6, 22)),
    _item(12, SYRINGE_DRIVER, "T34", "teltonika", DemoLoan("L-24862", "virtual_ward", 1, 6)),
    _item(13, SYRINGE_DRIVER, "T34", "gt06"),
    _item(14, SYRINGE_DRIVER, "T34", "teltonika", DemoLoan("L-24870", "home", 3, 11)),
    _item(15, SYRINGE_DRIVER, "T34", "gt06"),
)
