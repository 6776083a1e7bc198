"""Bearer token secrets: shown once, stored only as a SHA-256 digest."""

from __future__ import annotations

import hashlib
import secrets

PREFIX = "flk_"


def new_token_secret() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough (unlike passwords).
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()
