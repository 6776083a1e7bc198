"""floki.toml: defaults, and mistakes reported by the key that is wrong."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from floki_core.config import load_config, parse_config, plugin_section
from floki_core.errors import ConfigError


def test_missing_file_means_defaults(tmp_path: Path) -> None:
    config = load_config(tmp_path)
    assert config.server.port == 8443 and config.server.tls is True
    assert config.security.lockout_attempts == 5
    assert config.database.url is None


def test_values_are_read(tmp_path: Path) -> None:
    (tmp_path / "floki.toml").write_text(
        '[site]\nname = "Ward 7"\n[server]\nport = 9443\n'
        '[import.columns]\nasset_number = "Equipment No"\n[plugins]\ndisabled = ["ble"]\n'
    )
    config = load_config(tmp_path)
    assert config.site.name == "Ward 7" and config.server.port == 9443
    assert config.import_.columns == {"asset_number": "Equipment No"}
    assert config.plugins.disabled == ["ble"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[server]\nprot = 1\n", "server: unknown key `prot`"),
        ('[server]\nport = "x"\n', "server.port: Expected `int`, got `str`"),
        ("[sever]\nport = 1\n", "unknown key `sever`"),
        ("[plugins.supervision]\nmax_failures = true\n", "plugins.supervision.max_failures"),
        ("[server\n", "not valid TOML"),
        (
            '[location.methods]\nespresense = "rsi"\n',
            "location: methods.espresense: unknown locator method 'rsi'",
        ),
    ],
)
def test_mistakes_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "floki.toml").write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert message in str(info.value)
    assert "floki.toml" in str(info.value)


class Settings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    port: int = 5000
    host: str = "127.0.0.1"


def test_plugin_sections_are_validated_against_the_plugin_schema() -> None:
    config = parse_config({"plugin": {"uwb": {"port": 6000}}})
    assert plugin_section(config, "uwb", Settings) == Settings(port=6000)
    assert plugin_section(config, "other", Settings) == Settings()
    bad = parse_config({"plugin": {"uwb": {"prot": 6000}}})
    with pytest.raises(ConfigError, match=r"plugin\.uwb: unknown key `prot`"):
        plugin_section(bad, "uwb", Settings)


def test_every_locator_method_the_config_accepts_is_built_in() -> None:
    from floki_core.config import LOCATOR_METHODS
    from floki_core.location.locators import (
        AssociationLocator,
        FixedPointLocator,
        GeofenceLocator,
        RssiLocator,
    )

    built_in = {
        c.method for c in (AssociationLocator, FixedPointLocator, GeofenceLocator, RssiLocator)
    }
    assert set(LOCATOR_METHODS) == built_in
