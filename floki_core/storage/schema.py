"""Every table of the appliance in one metadata.

The tables live in modules by subject (``models`` for the register, accounts and
locations; ``models_alerts``, ``models_loans`` and ``models_ppm`` for the workflow), each
adding its tables to ``Base.metadata`` when imported. Import this module where all of
them must be known at once: the migrations' environment, and tests that walk every table.
"""

from __future__ import annotations

from sqlalchemy import MetaData

from floki_core.storage import (
    hub_tables,
    models,
    models_alerts,
    models_loans,
    models_ppm,
    outbox,
)

METADATA: MetaData = models.Base.metadata
MODULES = (models, models_alerts, models_loans, models_ppm, outbox, hub_tables)
