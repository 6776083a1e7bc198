"""Checked tokens are remembered briefly, never past a revocation."""

from __future__ import annotations

from floki_core.api.token_cache import TokenCache
from floki_core.clock import ManualClock
from floki_core.domain import Principal, Role


def _who() -> Principal:
    return Principal(user_id=1, username="ward7", role=Role.STAFF)


def test_a_check_that_raced_a_revocation_is_not_remembered() -> None:
    cache = TokenCache(ManualClock())
    began = cache.generation  # a request starts checking its token in the database ...
    cache.clear()  # ... while the user logs out
    cache.put("secret", _who(), began)
    assert cache.get("secret") is None  # the next request checks again, and is refused


def test_a_checked_token_is_remembered_for_the_ttl() -> None:
    clock = ManualClock()
    cache = TokenCache(clock, ttl=5.0)
    cache.put("secret", _who(), cache.generation)
    assert cache.get("secret") == _who()
    clock.advance(6)
    assert cache.get("secret") is None
