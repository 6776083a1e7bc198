"""Which asset a read EPC names.

In order (``EpcIdentity.lookup_keys``): an ``rfid`` identifier holding the EPC's raw hex (a
binding someone made, which wins); then, for a GIAI EPC, the asset carrying that GIAI
(its own ``giai`` field, or a ``giai`` identifier); for an SGTIN, the asset with that
``udi`` identifier (GTIN + serial). Any other EPC names an asset only through an
``rfid`` identifier.

``asset_for_epc`` reads the register (one transaction, ``PluginContext.records.read``):
for a stock-take, a look-up, a page. ``asset_id_for_epc`` answers from the in-memory
index the location pipeline binds sightings with (``PluginContext.register``), so it
agrees with what the appliance locates; that index holds the register's identifiers
and each asset's own ``giai`` field (as a ``giai`` key).
"""

from __future__ import annotations

from floki_core.sdk import Asset, RegisterReading, RegisterView
from floki_rfid.epc import EpcIdentity

__all__ = ["asset_for_epc", "asset_id_for_epc"]

GIAI = "giai"


def asset_for_epc(register: RegisterReading, identity: EpcIdentity) -> Asset | None:
    """The asset the EPC names in the register, or None."""
    for technology, value in identity.lookup_keys():
        if technology == GIAI:
            found = register.asset_by_giai(value)
            if found is not None:
                return found
        identifier = register.find_identifier((technology,), value)
        if identifier is not None:
            asset = register.asset(identifier.asset_id)
            if asset is not None:
                return asset
    return None


def asset_id_for_epc(view: RegisterView, identity: EpcIdentity) -> int | None:
    """The id of the asset the EPC names in the location index, or None."""
    for technology, value in identity.lookup_keys():
        found = view.asset_id_for(technology, value)
        if found is not None:
            return found
    return None
