"""The readers' sources and routes, registered from the plugin's hooks for what the
settings switch on."""

from __future__ import annotations

from floki_core.sdk import PluginContext, RouteRegistry, SourceRegistry
from floki_rfid import impinj_webhook
from floki_rfid.config import RfidSettings
from floki_rfid.impinj_source import ImpinjStreamSource
from floki_rfid.impinj_source import source_name as impinj_source_name
from floki_rfid.llrp_source import LlrpReaderSource, source_name
from floki_rfid.zebra import register_zebra_sources


def register_sources(
    registry: SourceRegistry, context: PluginContext, settings: RfidSettings
) -> None:
    """One supervised source per ``[[plugin.rfid.readers]]``, named ``rfid-llrp-<name>``,
    per ``[[plugin.rfid.impinj]]``, named ``rfid-impinj-<name>``, and per Zebra reader
    (``rfid-zebra-<name>``) and handheld (``rfid-datawedge-<name>``); none until a reader
    is configured."""
    readers: dict[str, LlrpReaderSource] = context.state.setdefault("llrp_readers", {})
    for reader in settings.readers:
        source = LlrpReaderSource(
            reader,
            context.clock,
            batch_seconds=settings.batch_seconds,
            max_tags_per_window=settings.max_tags_per_window,
            portal_antennas=portal_antennas(settings, reader.name),
        )
        registry.add(source_name(reader), source)
        readers[reader.name] = source
    streams: dict[str, ImpinjStreamSource] = context.state.setdefault("impinj_readers", {})
    for impinj in settings.impinj:
        stream = ImpinjStreamSource(
            impinj,
            context.clock,
            batch_seconds=settings.batch_seconds,
            max_tags_per_window=settings.max_tags_per_window,
        )
        registry.add(impinj_source_name(impinj), stream)
        streams[impinj.name] = stream
    register_zebra_sources(
        registry,
        context,
        settings.zebra_readers,
        settings.handhelds,
        batch_seconds=settings.batch_seconds,
        max_tags_per_window=settings.max_tags_per_window,
    )


def portal_antennas(settings: RfidSettings, reader: str) -> frozenset[int]:
    """The antenna ports of ``reader`` that are a portal's inner or outer antenna."""
    ports = set()
    for portal in settings.portals:
        for receiver in (portal.inner, portal.outer):
            name, _, port = receiver.rpartition(":")
            if name == reader and port.isdigit():
                ports.add(int(port))
    return frozenset(ports)


def register_routes(registry: RouteRegistry, context: PluginContext) -> None:
    """``POST /api/v1/rfid/impinj`` when ``impinj_webhook`` is on."""
    settings: RfidSettings = context.settings
    if settings.impinj_webhook:
        impinj_webhook.register_route(
            registry, context.clock, max_tags_per_window=settings.max_tags_per_window
        )
