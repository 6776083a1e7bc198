"""Signing people in on a plugin's own pages, held to the API's rules.

A page signed in with a cookie (the QR plugin's phone pages) checks the password as
``POST /api/v1/auth/login`` does (``[security]`` lockout and failed-login limits, the
same audit entries) and stands for its session with a session token, whose secret is
never used: a password reset, a disabled account or a revoked token then ends the
page's session as it ends an API session. ``SignIns`` is built by the appliance and
handed to each plugin as ``PluginContext.sign_ins``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import msgspec
from sqlalchemy.orm import Session

from floki_core.config import SecurityConfig
from floki_core.domain import Principal, Role, TokenKind
from floki_core.storage import accounts
from floki_core.storage.audit import write_audit
from floki_core.storage.models import TokenRow, UserRow

__all__ = ["LoginRefused", "SignIns", "SignedIn", "lockout_policy"]

LoginRefused = accounts.LoginRefused  # str(refusal) says why; retry_after when locked out
T = TypeVar("T")


class SignedIn(msgspec.Struct, frozen=True, kw_only=True):
    user_id: int
    username: str
    display_name: str
    role: Role
    token_id: int  # the session token standing for this sign-in


def lockout_policy(security: SecurityConfig) -> accounts.LockoutPolicy:
    """The lockout and failed-login limits of ``[security]``, read as every login page
    reads them (``LockoutPolicy.from_security``)."""
    return accounts.LockoutPolicy.from_security(security)


class _Store(Protocol):
    async def read(self, fn: Callable[..., T], *args: Any) -> T: ...

    async def write(self, fn: Callable[..., T], *args: Any) -> T: ...


class _Clock(Protocol):
    def now(self) -> dt.datetime: ...


class SignIns:
    def __init__(self, store: _Store, clock: _Clock, policy: accounts.LockoutPolicy) -> None:
        self._store = store
        self._clock = clock
        self._policy = policy  # [security]'s lockout and failed-login limits

    async def sign_in(
        self, username: str, password: str, *, address: str, via: str, hours: float
    ) -> SignedIn | accounts.LoginRefused:
        """Check the password (``address``: where the attempt came from; ``via``: which
        page, for the audit trail) and issue a session token valid ``hours``. A refusal
        is returned, not raised: the failure is counted and audited all the same."""
        now = self._clock.now()
        policy = self._policy

        def work(db: Session) -> SignedIn | accounts.LoginRefused:
            try:
                user = accounts.authenticate(
                    db, username, password, now=now, policy=policy, source=address, via=via
                )
            except accounts.LoginRefused as exc:
                return exc
            token, _ = accounts.issue_token(
                db,
                user_id=user.id,
                name=via,
                kind=TokenKind.SESSION,
                now=now,
                expires_at=now + dt.timedelta(hours=hours),
                actor=Principal(user_id=user.id, username=user.username, role=user.role),
            )
            return SignedIn(
                user_id=user.id,
                username=user.username,
                display_name=user.display_name,
                role=Role(user.role),
                token_id=token.id,
            )

        result: SignedIn | accounts.LoginRefused = await self._store.write(work)
        return result

    async def current_role(self, user_id: int, token_id: int | None) -> Role | None:
        """The user's role now, or None if the sign-in no longer stands (user gone or
        disabled; its token revoked or expired)."""
        now = self._clock.now()

        def read(db: Session) -> str | None:
            row = db.get(UserRow, user_id)
            if row is None or row.disabled:
                return None
            if token_id is not None:
                token = db.get(TokenRow, token_id)
                if token is None or token.revoked_at is not None:
                    return None
                if token.expires_at is not None and token.expires_at <= now:
                    return None
            return row.role

        role: str | None = await self._store.read(read)
        return None if role is None else Role(role)

    async def revoke(self, token_id: int) -> None:
        """End a sign-in's token (a phone handed over without signing out)."""
        now = self._clock.now()

        def work(db: Session) -> None:
            _revoke(db, token_id, now)

        await self._store.write(work)

    async def sign_out(
        self, *, user_id: int, username: str, token_id: int | None, detail: str
    ) -> None:
        """Revoke the sign-in's token and audit the sign-out (``logout``, ``detail``)."""
        now = self._clock.now()

        def work(db: Session) -> None:
            if token_id is not None:
                _revoke(db, token_id, now)
            write_audit(
                db,
                at=now,
                actor=username,
                action="logout",
                entity="users",
                entity_id=user_id,
                detail=detail,
            )

        await self._store.write(work)


def _revoke(db: Session, token_id: int, now: dt.datetime) -> None:
    row = db.get(TokenRow, token_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = now
