"""The run's shared objects: one association book and one device filter per appliance,
kept in the plugin's context (every appliance its own, never module globals)."""

from __future__ import annotations

from floki_core.sdk import PluginContext
from floki_wifi.associations import AssociationBook
from floki_wifi.privacy import DeviceFilter


def association_book(context: PluginContext) -> AssociationBook:
    book: AssociationBook | None = context.state.get("associations")
    if book is None:
        book = context.state["associations"] = AssociationBook()
    return book


def device_filter(context: PluginContext) -> DeviceFilter:
    found: DeviceFilter | None = context.state.get("device_filter")
    if found is None:
        found = context.state["device_filter"] = DeviceFilter(context.register)
    return found
