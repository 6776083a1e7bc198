"""Typed addresses, the pin file and where session tokens are kept."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import keyring.errors
import pytest
from keyring.backend import KeyringBackend

from floki_console.api import Address, AddressError, Backoff, normalise_fingerprint
from floki_console.credentials import TokenStore
from floki_console.trust import PinStore, Verdict

FP = ":".join(["AB"] * 32)
OTHER = ":".join(["CD"] * 32)


@pytest.mark.parametrize(
    ("typed", "key", "url"),
    [
        ("floki.local", "floki.local:8443", "https://floki.local:8443/api/v1"),
        ("192.168.1.20:9443", "192.168.1.20:9443", "https://192.168.1.20:9443/api/v1"),
        (" https://floki.local:8443/ ", "floki.local:8443", "https://floki.local:8443/api/v1"),
        ("[fe80::1]:8443", "[fe80::1]:8443", "https://[fe80::1]:8443/api/v1"),
        ("http://10.0.0.5:8080", "10.0.0.5:8080", "http://10.0.0.5:8080/api/v1"),
        (
            "https://gw.example/floki/api/v1",
            "gw.example:8443",
            "https://gw.example:8443/floki/api/v1",
        ),
    ],
)
def test_addresses_people_type(typed: str, key: str, url: str) -> None:
    address = Address.parse(typed)

    assert address.key == key
    assert address.api_url == url


@pytest.mark.parametrize(
    "typed", ["", "   ", "ftp://floki.local", "floki.local:99999", "bad host name", "-x-:80"]
)
def test_what_is_not_an_address_says_so(typed: str) -> None:
    with pytest.raises(AddressError):
        Address.parse(typed)


def test_fingerprints_typed_any_usual_way() -> None:
    assert normalise_fingerprint(FP.replace(":", "").lower()) == FP
    assert normalise_fingerprint(FP.replace(":", " ")) == FP
    assert normalise_fingerprint("AB:CD") is None


def test_backoff_doubles_up_to_the_maximum_and_resets() -> None:
    backoff = Backoff(initial=1.0, maximum=8.0, jitter=0.0)

    assert [backoff.next() for _ in range(6)] == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    backoff.reset()
    assert backoff.next() == 1.0


def test_pins_survive_a_restart_in_an_owner_only_file(tmp_path: Path) -> None:
    path = tmp_path / "config" / "pins.json"
    PinStore(path).pin("floki.local:8443", FP, "Ward 7")

    again = PinStore(path)

    assert again.verdict("floki.local:8443", FP) is Verdict.TRUSTED
    assert again.verdict("floki.local:8443", OTHER) is Verdict.CHANGED
    assert again.verdict("other.local:8443", FP) is Verdict.FIRST_USE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_forgetting_a_pin_asks_again(tmp_path: Path) -> None:
    store = PinStore(tmp_path / "pins.json")
    store.pin("floki.local:8443", FP)

    store.forget("floki.local:8443")

    assert PinStore(tmp_path / "pins.json").verdict("floki.local:8443", FP) is Verdict.FIRST_USE


@pytest.mark.parametrize(
    "content",
    ["not json", json.dumps(["a list"]), json.dumps({"pins": {"x:1": {"fingerprint": "junk"}}})],
)
def test_an_unreadable_pin_file_trusts_nothing(tmp_path: Path, content: str) -> None:
    path = tmp_path / "pins.json"
    path.write_text(content)

    assert PinStore(path).all() == []


class FakeKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self, broken: bool = False) -> None:
        super().__init__()
        self.saved: dict[tuple[str, str], str] = {}
        self.broken = broken

    def get_password(self, service: str, username: str) -> str | None:
        if self.broken:
            raise keyring.errors.KeyringError("locked")
        return self.saved.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        if self.broken:
            raise keyring.errors.KeyringError("locked")
        self.saved[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.saved:
            raise keyring.errors.PasswordDeleteError("none")
        del self.saved[(service, username)]


def test_tokens_go_to_the_keyring_and_outlive_the_console() -> None:
    backend = FakeKeyring()
    TokenStore(backend).set("floki.local:8443", "flk_secret")

    later = TokenStore(backend)

    assert later.persistent
    assert later.get("floki.local:8443") == "flk_secret"
    later.delete("floki.local:8443")
    assert TokenStore(backend).get("floki.local:8443") is None


def test_without_a_keyring_tokens_live_in_memory_only() -> None:
    store = TokenStore(use_keyring=False)
    store.set("floki.local:8443", "flk_secret")

    assert not store.persistent and "memory only" in store.where
    assert store.get("floki.local:8443") == "flk_secret"
    assert TokenStore(use_keyring=False).get("floki.local:8443") is None


def test_a_failing_keyring_falls_back_to_memory() -> None:
    store = TokenStore(FakeKeyring(broken=True))

    store.set("floki.local:8443", "flk_secret")

    assert store.get("floki.local:8443") == "flk_secret"
