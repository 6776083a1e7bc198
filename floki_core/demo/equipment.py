"""The demo hospital's equipment: device classes, and ~300 assets drawn from a seeded RNG.

The makes and models are ones UK trusts really own, so the demo reads like a real
register; the asset numbers, serials and tags are invented.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from floki_core.demo.site import COMMUNITY_HUB, GS1_COMPANY_PREFIX, RFID_LABELLED_ZONES
from floki_core.domain import AssetState, Criticality

# Kontakt.io's factory iBeacon UUID, a common default on BLE asset tags.
IBEACON_UUID = "F7826DA6-4FA2-4E98-8024-BC5B71E0893E"
IBEACON_MAJOR = 100  # one major for the whole site; the minor numbers the tag
FIRST_ASSET_NUMBER = 10001
DUE_SOON_DAYS = 30


@dataclass(frozen=True)
class ClassSpec:
    name: str
    category: str
    make: str
    model: str
    ppm_interval_days: int
    criticality: Criticality
    count: int
    serial_prefix: str
    homes: tuple[tuple[str, int], ...]  # (zone name, weight)
    community_share: float = 0.0  # fraction kept by the community hub for loans


_WARD_BAYS = (
    ("Ward 5 Bay A", 4),
    ("Ward 5 Bay B", 4),
    ("Ward 5 Bay C", 4),
    ("Ward 5 Bay D", 3),
    ("Ward 6 Bay A", 4),
    ("Ward 6 Bay B", 4),
    ("Ward 6 Bay C", 3),
)
_WARDS = (("Ward 5", 1), ("Ward 6", 1))

_HOSPITAL_CLASSES: tuple[ClassSpec, ...] = (
    ClassSpec(
        "BD Alaris GP Plus",
        "Volumetric infusion pump",
        "BD",
        "Alaris GP Plus",
        365,
        Criticality.HIGH,
        80,
        "8003",
        (
            ("Equipment Library", 30),
            *_WARD_BAYS,
            ("ED Majors", 8),
            ("ED Resus", 4),
            ("Theatre 1", 2),
            ("Theatre 2", 2),
            ("Theatre Recovery", 4),
        ),
    ),
    ClassSpec(
        "BD Alaris CC",
        "Syringe driver",
        "BD",
        "Alaris CC",
        365,
        Criticality.HIGH,
        40,
        "8002",
        (
            ("Equipment Library", 12),
            *_WARD_BAYS,
            ("ED Resus", 4),
            ("Theatre 1", 3),
            ("Theatre 2", 3),
            ("Theatre Recovery", 4),
        ),
    ),
    ClassSpec(
        "CME McKinley T34",
        "Ambulatory syringe driver",
        "CME (BD)",
        "McKinley T34",
        365,
        Criticality.HIGH,
        24,
        "T34",
        (("Equipment Library", 3), ("Ward 5", 2), ("Ward 6", 1)),
        # T34s are the usual driver for end-of-life care at home, so most sit with the
        # community service.
        community_share=0.6,
    ),
    ClassSpec(
        "Verathon BladderScan Prime Plus",
        "Bladder scanner",
        "Verathon",
        "BladderScan Prime Plus",
        365,
        Criticality.MEDIUM,
        12,
        "BSP",
        (*_WARDS, ("ED Majors", 1), ("Theatre Recovery", 1), ("Equipment Library", 1)),
    ),
    ClassSpec(
        "Arjo Maxi Move",
        "Patient hoist",
        "Arjo",
        "Maxi Move",
        182,  # LOLER: lifting equipment for people is examined every six months
        Criticality.MEDIUM,
        14,
        "MMV",
        (*_WARDS, ("ED Majors", 1), ("Equipment Library", 1)),
        community_share=0.2,
    ),
    ClassSpec(
        "Days Escape Lite",
        "Wheelchair",
        "Days (Sunrise Medical)",
        "Escape Lite",
        365,
        Criticality.LOW,
        40,
        "ESL",
        # Spare chairs wait in Main Stores, a BLE dead spot its RFID antennas cover.
        (
            *_WARDS,
            ("ED Majors", 2),
            ("Outpatients", 3),
            ("Equipment Library", 1),
            ("Main Stores", 3),
        ),
        community_share=0.15,
    ),
    ClassSpec(
        "GE MAC 2000",
        "ECG machine",
        "GE HealthCare",
        "MAC 2000",
        365,
        Criticality.MEDIUM,
        12,
        "SCD",
        (
            *_WARDS,
            ("ED Majors", 1),
            ("Outpatient Clinic Room 1", 1),
            ("Outpatient Clinic Room 2", 1),
        ),
    ),
    ClassSpec(
        "Philips HeartStart MRx",
        "Defibrillator",
        "Philips",
        "HeartStart MRx",
        365,
        Criticality.HIGH,
        14,
        "US",
        (
            *_WARDS,
            ("ED Resus", 2),
            ("Theatre 1", 1),
            ("Theatre 2", 1),
            ("Theatre Recovery", 1),
            ("Outpatients", 1),
        ),
    ),
    ClassSpec(
        "ZOLL R Series",
        "Defibrillator",
        "ZOLL",
        "R Series",
        365,
        Criticality.HIGH,
        10,
        "AF",
        (("ED Resus", 2), ("ED Majors", 1), ("Equipment Library", 1)),
    ),
    ClassSpec(
        "Masimo Rad-97",
        "Pulse oximeter",
        "Masimo",
        "Rad-97",
        365,
        Criticality.MEDIUM,
        54,
        "R97",
        (
            *_WARD_BAYS,
            ("ED Majors", 4),
            ("Theatre Recovery", 3),
            ("Equipment Library", 6),
            ("Outpatient Clinic Room 1", 1),
            ("Outpatient Clinic Room 2", 1),
            ("Main Stores", 4),
        ),
    ),
)

# The community service's own kit, carried by GPS trackers rather than iBeacon tags: no
# asset of these classes is drawn at random; ``floki_core.demo.community`` lists them.
_HUB_ONLY = ((COMMUNITY_HUB, 1),)
COMMUNITY_CLASSES: tuple[ClassSpec, ...] = (
    ClassSpec(
        "Invacare Birdie Evo",
        "Mobile patient hoist",
        "Invacare",
        "Birdie Evo",
        182,  # LOLER, as for every hoist
        Criticality.MEDIUM,
        0,
        "BEV",
        _HUB_ONLY,
    ),
    ClassSpec(
        "Sidhil Bradshaw",
        "Community profiling bed",
        "Drive DeVilbiss Sidhil",
        "Bradshaw",
        365,
        Criticality.MEDIUM,
        0,
        "SBR",
        _HUB_ONLY,
    ),
    ClassSpec(
        "Arjo Nimbus 4",
        "Dynamic pressure-relieving mattress",
        "Arjo",
        "Nimbus 4",
        365,
        Criticality.MEDIUM,
        0,
        "NB4",
        _HUB_ONLY,
    ),
    ClassSpec(
        "Invacare Perfecto2 V",
        "Oxygen concentrator",
        "Invacare",
        "Perfecto2 V",
        365,
        Criticality.HIGH,
        0,
        "PF2",
        _HUB_ONLY,
    ),
)
CLASSES: tuple[ClassSpec, ...] = (*_HOSPITAL_CLASSES, *COMMUNITY_CLASSES)

# How often each state turns up among equipment kept in the hospital.
_STATES = (
    AssetState.AVAILABLE,
    AssetState.IN_USE,
    AssetState.DIRTY,
    AssetState.FAULTY,
    AssetState.IN_MAINTENANCE,
)
_STATE_WEIGHTS = (55, 34, 5, 3, 3)


@dataclass(frozen=True)
class AssetPlan:
    asset_number: str
    class_name: str
    description: str
    serial: str
    home_zone: str
    department: str
    state: AssetState
    last_ppm: dt.date
    next_ppm_due: dt.date
    giai: str | None
    ibeacon: str


def plan_assets(rng: random.Random, departments: dict[str, str], today: dt.date) -> list[AssetPlan]:
    """Every demo asset, in asset-number order; the same RNG state gives the same list."""
    plans: list[AssetPlan] = []
    serials: set[str] = set()
    number = FIRST_ASSET_NUMBER
    for spec in CLASSES:
        for _ in range(spec.count):
            home, state = _home_and_state(rng, spec)
            last, due = _ppm_dates(rng, spec.ppm_interval_days, today)
            if state is AssetState.IN_MAINTENANCE:
                # Engineers pull overdue kit in first, so those are the ones on the bench.
                due = min(due, today - dt.timedelta(days=rng.randint(1, 20)))
                last = due - dt.timedelta(days=spec.ppm_interval_days)
            asset_number = f"E{number}"
            # A Scan4Safety pilot labelled roughly one asset in twelve with a GIAI; the
            # kit kept in the Equipment Library and Main Stores all carries one, on the
            # GIAI-96 RFID label their readers see. (The draw is made either way, so the
            # rest of the register does not depend on where RFID is.)
            pilot = rng.random() < 0.08
            labelled = pilot or home in RFID_LABELLED_ZONES
            plans.append(
                AssetPlan(
                    asset_number=asset_number,
                    class_name=spec.name,
                    description=f"{spec.category}, {spec.make} {spec.model}",
                    serial=_serial(rng, spec.serial_prefix, serials),
                    home_zone=home,
                    department=departments[home],
                    state=state,
                    last_ppm=last,
                    next_ppm_due=due,
                    giai=f"{GS1_COMPANY_PREFIX}{number}" if labelled else None,
                    ibeacon=f"{IBEACON_UUID}:{IBEACON_MAJOR}:{number - FIRST_ASSET_NUMBER + 1}",
                )
            )
            number += 1
    return plans


def _home_and_state(rng: random.Random, spec: ClassSpec) -> tuple[str, AssetState]:
    if rng.random() < spec.community_share:
        # The hub lends most of its stock out; the rest waits on its shelves.
        on_loan = rng.random() < 0.7
        return COMMUNITY_HUB, AssetState.ON_LOAN if on_loan else AssetState.AVAILABLE
    zones, weights = zip(*spec.homes, strict=True)
    home = rng.choices(zones, weights)[0]
    return home, rng.choices(_STATES, _STATE_WEIGHTS)[0]


def _ppm_dates(rng: random.Random, interval: int, today: dt.date) -> tuple[dt.date, dt.date]:
    """Most in date, about one in ten overdue, about one in eight due within 30 days."""
    roll = rng.random()
    if roll < 0.10:
        due = today - dt.timedelta(days=rng.randint(1, 120))
    elif roll < 0.22:
        due = today + dt.timedelta(days=rng.randint(0, DUE_SOON_DAYS))
    else:
        due = today + dt.timedelta(days=rng.randint(DUE_SOON_DAYS + 1, interval))
    return due - dt.timedelta(days=interval), due


def _serial(rng: random.Random, prefix: str, taken: set[str]) -> str:
    while True:
        serial = f"{prefix}{rng.randint(100000, 999999)}"
        if serial not in taken:
            taken.add(serial)
            return serial
