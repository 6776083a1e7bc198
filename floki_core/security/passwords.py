"""argon2id password hashes and generated passwords."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator

from argon2 import Parameters, PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from floki_core.errors import Invalid

# argon2-cffi's defaults (RFC 9106's low-memory profile: 64 MiB, three passes, four
# lanes). An appliance never changes them; only the test kit does, in its own process.
_hasher = PasswordHasher()
MIN_LENGTH = 10
# Ambiguous characters (0/O, 1/l/I) left out: admins read these off a terminal.
_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def hash_password(password: str) -> str:
    check_strength(password)
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    if not stored_hash:
        # Spend the same time as a real check so usernames cannot be probed by timing.
        _hasher.hash(password)
        return False
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@contextlib.contextmanager
def hashing_with(parameters: Parameters) -> Iterator[None]:
    """Hash new passwords in this process with ``parameters`` until the block ends. For
    the test kit, which picks argon2's cheapest profile because a production hash costs
    about half a second; a stored hash carries its own parameters, so it verifies
    whichever are in use."""
    global _hasher
    before, _hasher = _hasher, PasswordHasher.from_parameters(parameters)
    try:
        yield
    finally:
        _hasher = before


def generate_password(length: int = 20) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise Invalid(f"password must be at least {MIN_LENGTH} characters")
    if len(set(password)) < 4:
        raise Invalid("password is too repetitive")
