"""The readers' sources, registered from the plugin's hooks for what the settings switch on."""

from __future__ import annotations

from floki_core.sdk import PluginContext, SourceRegistry
from floki_rfid.config import RfidSettings
from floki_rfid.llrp_source import LlrpReaderSource, source_name


def register_sources(
    registry: SourceRegistry, context: PluginContext, settings: RfidSettings
) -> None:
    """One supervised source per ``[[plugin.rfid.readers]]``, named ``rfid-llrp-<name>``;
    none until a reader is configured."""
    readers: dict[str, LlrpReaderSource] = context.state.setdefault("llrp_readers", {})
    for reader in settings.readers:
        source = LlrpReaderSource(
            reader,
            context.clock,
            batch_seconds=settings.batch_seconds,
            max_tags_per_window=settings.max_tags_per_window,
        )
        registry.add(source_name(reader), source)
        readers[reader.name] = source
