"""What every conformance kit shares: the plugin under test in a watched appliance, the
entry-point check, the settings check and the decoder property test."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import msgspec
import pytest

from floki_core.conformance.appliance import (
    ConformanceFailure,
    Watched,
    appliance_config,
    installed_plugins,
    merged,
    watched_appliance,
)
from floki_core.conformance.settings_docs import distribution_readme, undocumented
from floki_core.conformance.watch import Resources


class PluginConformance:
    """Base of the kits. A subclass names the plugin (its entry-point name) and how to
    configure it; the inherited tests start it in a real appliance.

    Test classes must be named ``Test...`` for pytest to collect them; this base is not.
    Several classes checking one plugin may leave the plugin-wide tests to one of them by
    setting ``test_loads_through_its_entry_point = None`` (and the settings test) in the
    others.
    """

    plugin: ClassVar[str]
    # Pages a user reads the plugin's settings in; the distribution's README always counts.
    documentation: ClassVar[Sequence[str | Path]] = ()
    # Other installed plugins to keep enabled beside it (all others are disabled).
    also_load: ClassVar[Sequence[str]] = ()
    # Other sections of the configuration file, merged over the kit's.
    config_extra: ClassVar[Mapping[str, Any]] = {}

    def kit_config(self) -> Mapping[str, Any]:
        """Sections a kit needs in the configuration (``config_extra`` goes over them)."""
        return {}

    def plugin_settings(self) -> Mapping[str, Any]:
        """``[plugin.<plugin>]`` for the inherited tests; override to configure it."""
        return {}

    def extra_plugins(self) -> Sequence[tuple[str, object]]:
        """Helper plugins the tests need beside the one under test (not the plugin itself:
        that always loads through its entry point)."""
        return ()

    @contextlib.asynccontextmanager
    async def appliance(
        self,
        tmp_path: Path,
        template: Path,
        settings: Mapping[str, Any] | None = None,
        *,
        before: Resources | None = None,
        on_stopped: Callable[[], Awaitable[None]] | None = None,
    ) -> AsyncIterator[Watched]:
        config = appliance_config(
            self.plugin,
            self.plugin_settings() if settings is None else settings,
            also=self.also_load,
            extra=merged(self.kit_config(), self.config_extra),
        )
        async with watched_appliance(
            tmp_path / "appliance",
            config,
            plugin=self.plugin,
            template_database=template,
            extra_plugins=self.extra_plugins(),
            before=before,
            on_stopped=on_stopped,
        ) as run:
            yield run

    # --- inherited tests -----------------------------------------------------------------

    async def test_loads_through_its_entry_point(
        self, tmp_path: Path, floki_migrated_database: Path
    ) -> None:
        found = installed_plugins().get(self.plugin)
        if found is None:
            raise ConformanceFailure(
                f"no entry point {self.plugin!r} in the 'floki' group: add "
                f'[project.entry-points.floki] {self.plugin} = "<package>" to pyproject.toml '
                "and install the distribution"
            )
        async with self.appliance(tmp_path, floki_migrated_database) as run:
            entry = await run.plugin_entry()
            assert entry["status"] == "running", f"plugin {self.plugin}: {entry}"
            assert entry["module"] == found.value, entry
            assert entry["version"] == (found.dist.version if found.dist else None), entry

    async def test_config_defaults_validate_and_every_key_is_documented(
        self, tmp_path: Path, floki_migrated_database: Path
    ) -> None:
        async with self.appliance(tmp_path, floki_migrated_database, settings={}) as run:
            entry = await run.plugin_entry()
            assert entry["status"] == "running", (
                f"plugin {self.plugin} with an empty [plugin.{self.plugin}]: {entry['reason']}"
            )
            declared = run.core.plugins.registries.config.get(self.plugin)
        if declared is None:
            return  # no settings: nothing to document
        schema = declared.item.schema
        msgspec.convert({}, schema)  # every setting has a default
        readme = distribution_readme(installed_plugins()[self.plugin].dist)
        missing = undocumented(schema, self.documentation, readme)
        assert not missing, (
            f"[plugin.{self.plugin}] settings documented nowhere: {', '.join(missing)} "
            f"(looked in the README and {[str(p) for p in self.documentation]})"
        )


class DecoderConformance:
    """A property test of a pure decoder: whatever it is given, it returns or raises one
    of the errors it declares. Mixed into the source kit; usable on its own."""

    # Pure entry point of the plugin's input (bytes or text in, records out), the errors
    # it is documented to raise (none: it reports bad input in what it returns), and the
    # inputs to try (a hypothesis strategy; default: any bytes).
    decoder: ClassVar[Callable[[Any], Any] | None] = None
    decoder_errors: ClassVar[tuple[type[BaseException], ...]] = ()
    decoder_inputs: ClassVar[Any] = None
    decoder_examples: ClassVar[int] = 100

    def test_decoder_raises_only_its_declared_errors(self) -> None:
        decoder = type(self).decoder
        if decoder is None:
            pytest.skip("the plugin names no decoder (decoder = ...)")
        from hypothesis import HealthCheck, given, settings
        from hypothesis import strategies as st

        inputs = type(self).decoder_inputs
        if inputs is None:
            inputs = st.binary(max_size=2048)
        declared = type(self).decoder_errors

        @settings(
            max_examples=self.decoder_examples,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
        @given(inputs)
        def decodes(data: Any) -> None:
            try:
                decoder(data)
            except declared:
                pass
            except Exception as exc:
                raise ConformanceFailure(
                    f"{getattr(decoder, '__qualname__', decoder)} raised "
                    f"{type(exc).__name__}: {exc} for {data!r}; it may raise only "
                    f"{', '.join(e.__name__ for e in declared) or 'nothing'}"
                ) from exc

        decodes()
