"""Users, logins with lockout, and bearer tokens."""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, cast

import msgspec
from sqlalchemy import Table, bindparam, delete, or_, select, update
from sqlalchemy.orm import Session

from floki_core.domain import Principal, Role, Token, TokenKind, User, to_plain
from floki_core.errors import Conflict, FlokiError, Invalid, NotFound
from floki_core.security import passwords, tokens
from floki_core.storage.audit import write_audit
from floki_core.storage.models import AuditRow, LoginFailureRow, TokenRow, UserRow, UtcDateTime


class LoginRefused(FlokiError):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class LockoutPolicy:
    """When failed logins are refused without checking the password.

    Failures are counted per (username as typed, source address), an IPv6 address
    counting as its /64 network (one host may pick any address in it) and an
    IPv4-mapped IPv6 address as its IPv4 address: ``attempts`` within ``minutes`` lock
    that username from that address only, so an attacker elsewhere on the LAN cannot
    lock the admin out. A username that does not exist is counted and locked exactly
    like one that does, so the answers never tell them apart. One address may fail
    ``address_failures_per_minute`` times a minute in all (spraying many usernames),
    and all addresses together ``failures_per_minute`` times, beyond which an address
    that has itself failed in the last minute waits; an address without recent
    failures (the admin's own machine) is never held back by others.

    One username may fail ``username_failures`` times within
    ``username_failure_minutes`` from all addresses together (guessing from ever new
    addresses); beyond that, only an address that signed in as that user within
    ``known_address_days`` may try it, so the real user's own machine still gets in.
    """

    attempts: int = 5
    minutes: float = 15.0
    address_failures_per_minute: int = 20
    failures_per_minute: int = 100
    username_failures: int = 30
    username_failure_minutes: float = 15.0
    known_address_days: float = 30.0

    @classmethod
    def from_security(cls, security: SecurityLimits) -> LockoutPolicy:
        """``[security]``'s limits, the one reading of them every login uses (the API's
        and a plugin's sign-in pages alike)."""
        return cls(
            attempts=security.lockout_attempts,
            minutes=security.lockout_minutes,
            address_failures_per_minute=security.address_failures_per_minute,
            failures_per_minute=security.failures_per_minute,
            username_failures=security.username_failures,
            username_failure_minutes=security.username_failure_minutes,
            known_address_days=security.known_address_days,
        )


class SecurityLimits(Protocol):
    """The ``[security]`` settings a lockout policy is read from."""

    @property
    def lockout_attempts(self) -> int: ...
    @property
    def lockout_minutes(self) -> float: ...
    @property
    def address_failures_per_minute(self) -> int: ...
    @property
    def failures_per_minute(self) -> int: ...
    @property
    def username_failures(self) -> int: ...
    @property
    def username_failure_minutes(self) -> float: ...
    @property
    def known_address_days(self) -> float: ...


def user_record(row: UserRow) -> User:
    return User(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        role=Role(row.role),
        disabled=row.disabled,
        locked_until=None,  # lockouts are per address: see locked_until_by_user
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


def list_users(
    session: Session, *, now: dt.datetime | None = None, policy: LockoutPolicy | None = None
) -> list[User]:
    """Every user; ``locked_until`` says until when the username is locked from some
    address (``now``: the system clock if not given)."""
    locked = locked_until_by_user(
        session, now or dt.datetime.now(dt.UTC), policy or LockoutPolicy()
    )
    return [
        msgspec.structs.replace(user_record(r), locked_until=locked.get(r.username))
        for r in session.scalars(select(UserRow).order_by(UserRow.username))
    ]


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
    detail = ""
    if after.disabled and not before.disabled:
        # Re-enabling later must not bring the old sessions and tokens back.
        detail = f"disabled; {_ended(end_tokens(session, user_id, now))}"
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
            detail=detail,
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
    """A new password: every lockout of the username is cleared, and the user's sessions
    (API and phone pages) and API tokens end, so whoever knew the old one is out."""
    row = get_user(session, username)
    row.password_hash = passwords.hash_password(password)
    row.failed_logins = 0
    row.locked_until = None
    session.execute(delete(LoginFailureRow).where(LoginFailureRow.username == username))
    ended = end_tokens(session, row.id, now)
    write_audit(
        session,
        at=now,
        actor=actor.label,
        action="reset_password",
        entity="users",
        entity_id=row.id,
        detail=f"password of {username} set; {_ended(ended)}",
    )
    return user_record(row)


_MINUTE = dt.timedelta(minutes=1)
USERNAME_KEPT = 100  # characters of a typed username kept for counting and the audit
SOURCE_KEPT = 64
IPV6_COUNTED_PREFIX = 64


def counted_address(source: str) -> str:
    """The address failed logins are counted by: an IPv4 address as it is, an IPv6
    address as its /64 network (a host on it may use any of its 2^64 addresses), an
    IPv4-mapped IPv6 address as its IPv4 address; anything else (no address) as given."""
    try:
        address = ipaddress.ip_address(source.split("%", 1)[0])  # without a zone (%eth0)
    except ValueError:
        return source[:SOURCE_KEPT]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, IPV6_COUNTED_PREFIX), strict=False))
    return str(address)


def _failure_times(
    session: Session, *conditions: Any, limit: int | None = None
) -> list[dt.datetime]:
    """When the matching failures were, newest first (the newest ``limit`` only)."""
    query = select(LoginFailureRow.at).where(*conditions).order_by(LoginFailureRow.at.desc())
    return list(session.scalars(query.limit(limit)))


def _wait(since: dt.datetime, span: dt.timedelta, now: dt.datetime) -> float:
    return max((since + span - now).total_seconds(), 1.0)


def _rate_refusal(
    session: Session, source: str, now: dt.datetime, policy: LockoutPolicy
) -> LoginRefused | None:
    """Refused before any password is checked: too many failures from this address, or
    from everywhere while this address is one of those failing. Nothing is written, so a
    flood of refused attempts costs a read each."""
    recent = _failure_times(
        session, LoginFailureRow.source == source, LoginFailureRow.at > now - _MINUTE
    )
    if len(recent) >= policy.address_failures_per_minute:
        oldest = recent[policy.address_failures_per_minute - 1]
        return LoginRefused(
            "too many failed logins from this address; try again in a minute",
            _wait(oldest, _MINUTE, now),
        )
    if not recent:
        return None
    everywhere = _failure_times(session, LoginFailureRow.at > now - _MINUTE)
    if len(everywhere) >= policy.failures_per_minute:
        oldest = everywhere[policy.failures_per_minute - 1]
        return LoginRefused(
            "too many failed logins on this appliance just now; try again in a minute",
            _wait(oldest, _MINUTE, now),
        )
    return None


def _username_refusal(
    session: Session,
    typed: str,
    user: UserRow | None,
    address: str,
    now: dt.datetime,
    policy: LockoutPolicy,
) -> LoginRefused | None:
    """Refused before any password is checked: too many failures for this username from
    all addresses together, and ``address`` has not signed in as its user lately. The
    same reads whether or not the user exists; nothing is written."""
    window = dt.timedelta(minutes=policy.username_failure_minutes)
    recent = _failure_times(
        session,
        LoginFailureRow.username == typed,
        LoginFailureRow.at > now - window,
        limit=policy.username_failures,
    )
    if len(recent) < policy.username_failures:
        return None
    known_since = now - dt.timedelta(days=policy.known_address_days)
    if address in _signed_in_from(session, user, known_since):
        return None
    return LoginRefused(
        "too many failed logins for this username just now; try again later",
        _wait(recent[-1], window, now),
    )


_LOGIN_FROM = "login from "


def _login_detail(exact: str, via: str) -> str:
    """The audit detail of a successful login; ``_signed_in_from`` reads it back."""
    detail = f"{_LOGIN_FROM}{exact}" if exact else "login"
    return detail + (f" ({via})" if via else "")


def _signed_in_from(session: Session, user: UserRow | None, since: dt.datetime) -> set[str]:
    """The addresses (as counted) ``user`` signed in from since ``since``, from the
    audit trail's login entries: the durable record of who signed in from where."""
    details = session.scalars(
        select(AuditRow.detail).where(
            AuditRow.entity == "users",
            AuditRow.entity_id == ("" if user is None else str(user.id)),
            AuditRow.action == "login",
            AuditRow.at > since,
        )
    )
    return {
        counted_address(detail[len(_LOGIN_FROM) :].split(" ", 1)[0])
        for detail in details
        if detail.startswith(_LOGIN_FROM)
    }


def _pair_locked_until(times: list[dt.datetime], policy: LockoutPolicy) -> dt.datetime | None:
    """When a (username, address) pair with these recent failures (newest first) may
    try again, if it is locked now."""
    if len(times) < policy.attempts:
        return None
    return times[policy.attempts - 1] + dt.timedelta(minutes=policy.minutes)


def _record_failure(
    session: Session, username: str, source: str, now: dt.datetime, policy: LockoutPolicy
) -> None:
    # Kept while any limit may still count it.
    keep = max(
        dt.timedelta(minutes=policy.minutes),
        dt.timedelta(minutes=policy.username_failure_minutes),
        _MINUTE,
    )
    session.execute(delete(LoginFailureRow).where(LoginFailureRow.at < now - keep))
    session.add(LoginFailureRow(username=username, source=source, at=now))


def authenticate(
    session: Session,
    username: str,
    password: str,
    *,
    now: dt.datetime,
    policy: LockoutPolicy,
    source: str = "",
    via: str = "",
) -> User:
    """Check a password, counting failures per (username, ``source`` address), by the
    address's network (``counted_address``), and per username from all addresses.

    Every step is the same whether or not the username exists: the same counts, the
    same refusals, one password hash either way. ``via`` says where the login came from
    in the audit trail ("phone page"). Runs inside a transaction that the caller commits
    even when this raises, so the failure and its audit entry are kept.
    """
    typed = username[:USERNAME_KEPT]
    exact = source[:SOURCE_KEPT]  # the audit names the address itself
    address = counted_address(source)  # failures are counted by its network
    where = f" from {exact}" if exact else ""
    where += f" ({via})" if via else ""
    refused = _rate_refusal(session, address, now, policy)
    if refused is not None:
        raise refused
    row = _user_by_name(session, username)
    refused = _username_refusal(session, typed, row, address, now, policy)
    if refused is not None:
        raise refused
    pair = (LoginFailureRow.username == typed, LoginFailureRow.source == address)
    window = dt.timedelta(minutes=policy.minutes)
    recent = _failure_times(session, *pair, LoginFailureRow.at > now - window)
    locked_until = _pair_locked_until(recent, policy)
    if locked_until is not None and locked_until > now:
        # Refused without a password check, and counted: trying on keeps it locked.
        _record_failure(session, typed, address, now, policy)
        write_audit(
            session,
            at=now,
            actor=typed,
            action="login_failed",
            entity="users",
            entity_id=row.id if row else None,
            detail=f"locked{where}",
        )
        raise LoginRefused(
            "sign-in locked for this username from this address after repeated failed "
            "logins; try later",
            (locked_until - now).total_seconds(),
        )
    ok = passwords.verify_password(row.password_hash if row else None, password)
    if row is None or not ok or row.disabled:
        detail = "unknown user" if row is None else ("disabled" if row.disabled else "bad password")
        _record_failure(session, typed, address, now, policy)
        if len(recent) + 1 >= policy.attempts:
            detail += f"; locked for {policy.minutes:g} min"
        write_audit(
            session,
            at=now,
            actor=typed,
            action="login_failed",
            entity="users",
            entity_id=row.id if row else None,
            detail=detail + where,
        )
        raise LoginRefused("invalid username or password")
    session.execute(delete(LoginFailureRow).where(*pair))
    write_audit(
        session,
        at=now,
        actor=username,
        action="login",
        entity="users",
        entity_id=row.id,
        detail=_login_detail(exact, via),
    )
    return user_record(row)


def locked_until_by_user(
    session: Session, now: dt.datetime, policy: LockoutPolicy
) -> dict[str, dt.datetime]:
    """For each username locked from some address now, until when (the latest)."""
    window = dt.timedelta(minutes=policy.minutes)
    pairs: dict[tuple[str, str], list[dt.datetime]] = {}
    rows = session.execute(
        select(LoginFailureRow.username, LoginFailureRow.source, LoginFailureRow.at)
        .where(LoginFailureRow.at > now - window)
        .order_by(LoginFailureRow.at.desc())
    )
    for username, source, at in rows:
        pairs.setdefault((username, source), []).append(at)
    locked: dict[str, dt.datetime] = {}
    for (username, _), times in pairs.items():
        until = _pair_locked_until(times, policy)
        if (
            until is not None
            and until > now
            and (username not in locked or until > locked[username])
        ):
            locked[username] = until
    return locked


def end_tokens(session: Session, user_id: int, now: dt.datetime) -> int:
    """Revoke a user's login sessions (API and phone pages) and API tokens; returns how
    many. Device tokens are a gateway's credential, not the person's, and are left."""
    result = session.execute(
        update(TokenRow)
        .where(
            TokenRow.user_id == user_id,
            TokenRow.kind.in_((TokenKind.SESSION.value, TokenKind.API.value)),
            TokenRow.revoked_at.is_(None),
            or_(TokenRow.expires_at.is_(None), TokenRow.expires_at > now),
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _ended(count: int) -> str:
    return f"{count} token{'' if count == 1 else 's'} ended"


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
