"""Where the session token is kept between runs: the OS keyring, or memory only.

A token in the keyring lets the console reconnect after a restart without a new login. On
a machine with no keyring (no Secret Service, a bare server) the token lives only as long as
the console does; it is never written to a plain file.
"""

from __future__ import annotations

import logging

import keyring
import keyring.errors
from keyring.backend import KeyringBackend

log = logging.getLogger(__name__)

SERVICE = "floki-console"


def usable_keyring() -> KeyringBackend | None:
    """The system keyring if one is really there (keyring's fallback stores nothing)."""
    try:
        backend = keyring.get_keyring()
    except Exception:  # a broken keyring configuration must not stop the console
        log.exception("keyring unavailable")
        return None
    priority = getattr(backend, "priority", 0)
    if priority is None or float(priority) <= 0:
        return None
    return backend


class TokenStore:
    """Session tokens by appliance (``host:port``)."""

    def __init__(self, backend: KeyringBackend | None = None, *, use_keyring: bool = True) -> None:
        self._backend = (
            backend if backend is not None else (usable_keyring() if use_keyring else None)
        )
        self._memory: dict[str, str] = {}

    @property
    def persistent(self) -> bool:
        """Whether tokens outlive the console (kept in the OS keyring)."""
        return self._backend is not None

    @property
    def where(self) -> str:
        if self._backend is None:
            return "memory only (no system keyring): you will log in again next time"
        return "the system keyring"

    def get(self, appliance: str) -> str | None:
        if appliance in self._memory:
            return self._memory[appliance]
        if self._backend is None:
            return None
        try:
            return self._backend.get_password(SERVICE, appliance)
        except keyring.errors.KeyringError:
            log.warning("could not read the keyring; asking for a login instead")
            return None

    def set(self, appliance: str, token: str) -> None:
        self._memory[appliance] = token
        if self._backend is None:
            return
        try:
            self._backend.set_password(SERVICE, appliance, token)
        except keyring.errors.KeyringError:
            log.warning("could not write the keyring; the token is kept in memory only")

    def delete(self, appliance: str) -> None:
        self._memory.pop(appliance, None)
        if self._backend is None:
            return
        try:
            self._backend.delete_password(SERVICE, appliance)
        except keyring.errors.PasswordDeleteError:
            pass
        except keyring.errors.KeyringError:
            log.warning("could not remove the token from the keyring")
