"""Users, logins with lockout, and bearer tokens."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, bindparam, delete, or_, select, update
from sqlalchemy.orm import Session

from floki_core.domain import Principal, Role, Token, TokenKind, User, to_plain
from floki_core.errors import Conflict, FlokiError, Invalid, NotFound
from floki_core.security import passwords, tokens
from floki_core.storage.audit import write_audit
from floki_core.storage.models import TokenRow, UserRow, UtcDateTime


class LoginRefused(FlokiError):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class LockoutPolicy:
    attempts: int = 5
    minutes: float = 15.0


def user_record(row: UserRow) -> User:
    return User(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        role=Role(row.role),
        disabled=row.disabled,
        locked_until=row.locked_until,
        created_at=row.created_at,
    )


def token_record(row: TokenRow) -> Token:
    return Token(
        id=row.id,
        user_id=row.user_id,
        name=row.name,
        kind=TokenKind(row.kind),
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )


def _user_by_name(session: Session, username: str) -> UserRow | None:
    return session.scalar(select(UserRow).where(UserRow.username == username))


def get_user(session: Session, username: str) -> UserRow:
    row = _user_by_name(session, username)
    if row is None:
        raise NotFound(f"no user named {username!r}")
    return row


def count_users(session: Session) -> int:
    return len(session.scalars(select(UserRow.id)).all())


def list_users(session: Session) -> list[User]:
    return [user_record(r) for r in session.scalars(select(UserRow).order_by(UserRow.username))]


def create_user(
    session: Session,
    *,
    username: str,
    role: Role,
    password: str,
    display_name: str = "",
    actor: Principal,
    now: dt.datetime,
) -> User:
    if _user_by_name(session, username) is not None:
        raise Conflict(f"a user named {username!r} already exists")
    row = UserRow(
        username=username,
        display_name=display_name,
        role=role.value,
        password_hash=passwords.hash_password(password),
        disabled=False,
        failed_logins=0,
        created_at=now,
    )
    session.add(row)
    session.flush()
    user = user_record(row)
    write_audit(
        session,
        at=now,
        actor=actor.label,
        action="create",
        entity="users",
        entity_id=row.id,
        after=to_plain(user),
    )
    return user


def update_user(
    session: Session,
    user_id: int,
    changes: dict[str, object],
    *,
    actor: Principal,
    now: dt.datetime,
) -> User:
    row = session.get(UserRow, user_id)
    if row is None:
        raise NotFound(f"user {user_id} not found")
    before = user_record(row)
    if row.role == Role.ADMIN and (
        changes.get("role", Role.ADMIN) != Role.ADMIN or changes.get("disabled")
    ):
        _keep_one_admin(session, row.id)
    for name, value in changes.items():
        setattr(row, name, value.value if isinstance(value, Role) else value)
    after = user_record(row)
    if after != before:
        write_audit(
            session,
            at=now,
            actor=actor.label,
            action="update",
            entity="users",
            entity_id=user_id,
            before=to_plain(before),
            after=to_plain(after),
        )
    return after


def _keep_one_admin(session: Session, leaving_id: int) -> None:
    others = session.scalars(
        select(UserRow.id).where(
            UserRow.role == Role.ADMIN.value, UserRow.disabled.is_(False), UserRow.id != leaving_id
        )
    ).first()
    if others is None:
        raise Conflict("this is the last active admin; make another admin first")


def set_password(
    session: Session, username: str, password: str, *, actor: Principal, now: dt.datetime
) -> User:
    row = get_user(session, username)
    row.password_hash = passwords.hash_password(password)
    row.failed_logins = 0
    row.locked_until = None
    write_audit(
        session,
        at=now,
        actor=actor.label,
        action="reset_password",
        entity="users",
        entity_id=row.id,
        detail=f"password of {username} set",
    )
    return user_record(row)


def authenticate(
    session: Session,
    username: str,
    password: str,
    *,
    now: dt.datetime,
    policy: LockoutPolicy,
    source: str = "",
) -> User:
    """Check a password; count failures and lock the account after too many in a row.

    Runs inside a transaction that the caller commits even when this raises, so the
    failure count and the audit entry are kept.
    """
    row = _user_by_name(session, username)
    where = f" from {source}" if source else ""
    if row is not None and row.locked_until is not None and row.locked_until > now:
        passwords.verify_password(None, password)  # same cost as a real check
        write_audit(
            session,
            at=now,
            actor=username,
            action="login_failed",
            entity="users",
            entity_id=row.id,
            detail=f"account locked{where}",
        )
        wait = (row.locked_until - now).total_seconds()
        raise LoginRefused("account locked after repeated failed logins; try later", wait)
    ok = passwords.verify_password(row.password_hash if row else None, password)
    if row is None or not ok or row.disabled:
        detail = "unknown user" if row is None else ("disabled" if row.disabled else "bad password")
        if row is not None and not row.disabled:
            row.failed_logins += 1
            if row.failed_logins >= policy.attempts:
                row.locked_until = now + dt.timedelta(minutes=policy.minutes)
                row.failed_logins = 0
                detail += f"; locked for {policy.minutes:g} min"
        write_audit(
            session,
            at=now,
            actor=username[:100],
            action="login_failed",
            entity="users",
            entity_id=row.id if row else None,
            detail=detail + where,
        )
        raise LoginRefused("invalid username or password")
    row.failed_logins = 0
    row.locked_until = None
    write_audit(
        session,
        at=now,
        actor=username,
        action="login",
        entity="users",
        entity_id=row.id,
        detail=f"login{where}",
    )
    return user_record(row)


def issue_token(
    session: Session,
    *,
    user_id: int,
    name: str,
    kind: TokenKind,
    now: dt.datetime,
    expires_at: dt.datetime | None,
    actor: Principal,
) -> tuple[Token, str]:
    """Create a token; the secret is returned once and only its digest is kept."""
    user = session.get(UserRow, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    if user.disabled:
        raise Invalid(f"user {user.username} is disabled")
    if kind is TokenKind.SESSION:
        # Each login leaves a row; drop this user's dead sessions so the table stays small.
        session.execute(
            delete(TokenRow).where(
                TokenRow.user_id == user_id,
                TokenRow.kind == TokenKind.SESSION.value,
                or_(TokenRow.expires_at < now, TokenRow.revoked_at.is_not(None)),
            )
        )
    secret = tokens.new_token_secret()
    row = TokenRow(
        user_id=user_id,
        name=name,
        kind=kind.value,
        secret_hash=tokens.digest(secret),
        created_at=now,
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    token = token_record(row)
    if kind is not TokenKind.SESSION:  # logins are audited as logins already
        write_audit(
            session,
            at=now,
            actor=actor.label,
            action="create",
            entity="tokens",
            entity_id=row.id,
            after=to_plain(token),
            detail=f"{kind.value} token for {user.username}",
        )
    return token, secret


def resolve_token(session: Session, secret: str, *, now: dt.datetime) -> Principal | None:
    """Who a bearer token belongs to, or None if it is unknown, expired or revoked.

    Reads only: the last-used stamp is recorded separately (``record_token_use``), in
    batches, so checking a token never waits for another writer.
    """
    if not secret.startswith(tokens.PREFIX):
        return None
    found = session.execute(
        select(TokenRow, UserRow)
        .join(UserRow, UserRow.id == TokenRow.user_id)
        .where(TokenRow.secret_hash == tokens.digest(secret))
    ).first()
    if found is None:
        return None
    token, user = found
    if token.revoked_at is not None or user.disabled:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    kind = TokenKind(token.kind)
    return Principal(
        user_id=user.id,
        username=user.username,
        role=None if kind is TokenKind.DEVICE else Role(user.role),
        token_kind=kind,
        token_id=token.id,
        token_name=token.name,
    )


def record_token_use(session: Session, stamps: Mapping[int, dt.datetime]) -> None:
    """Record when tokens were last used, in one statement; a stamp never goes back."""
    if not stamps:
        return
    table = cast(Table, TokenRow.__table__)  # Core executemany: one statement for all
    at = bindparam("at", type_=UtcDateTime())
    session.execute(
        update(table)
        .where(
            table.c.id == bindparam("token_id"),
            or_(table.c.last_used_at.is_(None), table.c.last_used_at < at),
        )
        .values(last_used_at=at),
        [{"token_id": token_id, "at": when} for token_id, when in stamps.items()],
    )


def list_tokens(session: Session, user_id: int | None = None) -> list[Token]:
    query = select(TokenRow).where(TokenRow.kind != TokenKind.SESSION.value)
    if user_id is not None:
        query = query.where(TokenRow.user_id == user_id)
    return [token_record(r) for r in session.scalars(query.order_by(TokenRow.id))]


def revoke_token(session: Session, token_id: int, *, actor: Principal, now: dt.datetime) -> Token:
    row = session.get(TokenRow, token_id)
    if row is None:
        raise NotFound(f"token {token_id} not found")
    if actor.role is not Role.ADMIN and row.user_id != actor.user_id:
        raise NotFound(f"token {token_id} not found")
    if row.revoked_at is None:
        row.revoked_at = now
        write_audit(
            session,
            at=now,
            actor=actor.label,
            action="revoke",
            entity="tokens",
            entity_id=token_id,
            detail=f"token {row.name!r} revoked",
        )
    return token_record(row)
