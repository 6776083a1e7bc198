"""The demo hospital's alert rules, so a newcomer sees alerts raised and resolved.

Stored like rules made through the API (``source = "api"``): a user can change or delete
them there, and the configuration file does not own them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from floki_core.storage.audit import write_audit
from floki_core.storage.models import AssetClassRow, ZoneRow
from floki_core.storage.models_alerts import AlertRuleRow

PAR_WARD = "Ward 5"
PAR_CLASS = "BD Alaris GP Plus"
PAR_MINIMUM = 4


def demo_rules(zones: dict[str, int], classes: dict[str, int]) -> list[dict[str, Any]]:
    # Kit visits dirty utilities, the library and the workshop on its rounds: no alert.
    exempt = sorted(
        zone_id
        for name, zone_id in zones.items()
        if name.endswith("Dirty Utility")
        or name in ("Equipment Library", "Clinical Engineering Workshop")
    )
    return [
        {
            "name": "Equipment away from its home area",
            "type": "geofence_exit",
            "severity": "warning",
            "params": {"dwell_seconds": 900.0, "exempt_zone_ids": exempt},
        },
        {
            "name": f"{PAR_WARD} needs {PAR_MINIMUM} volumetric pumps ready",
            "type": "par_level",
            "severity": "critical",
            "params": {
                "zone_id": zones[PAR_WARD],
                "class_id": classes[PAR_CLASS],
                "minimum": PAR_MINIMUM,
            },
        },
        {"name": "Tag batteries", "type": "low_battery", "severity": "info", "params": {}},
        {
            "name": "Gateways offline",
            "type": "gateway_offline",
            "severity": "warning",
            "params": {"after_seconds": 60.0},
        },
        {
            "name": "PPM-overdue kit in clinical areas",
            "type": "ppm_overdue_in_clinical_area",
            "severity": "warning",
            "params": {},
        },
    ]


def load_demo_rules(session: Session, now: dt.datetime) -> int:
    zones = {name: zid for zid, name in session.execute(select(ZoneRow.id, ZoneRow.name))}
    classes = {
        name: cid for cid, name in session.execute(select(AssetClassRow.id, AssetClassRow.name))
    }
    rules = demo_rules(zones, classes)
    for rule in rules:
        row = AlertRuleRow(
            **rule,
            notify=[],
            enabled=True,
            auto_resolve=True,
            source="api",
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        session.flush()
        write_audit(
            session,
            at=now,
            actor="system",
            action="create",
            entity="alert_rules",
            entity_id=row.id,
            after={"name": row.name, "type": row.type, "params": row.params},
            detail="demo hospital",
        )
    return len(rules)
