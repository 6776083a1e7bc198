"""Phone sessions: who is signed in on which browser, held in the appliance's memory.

A session lives for ``session_idle_minutes`` since the last page (short: ward phones are
shared) and never longer than ``session_max_hours``. A session's key is never written
anywhere, so restarting the appliance signs every phone out; a fresh login is quicker
than any recovery and leaves nothing on disk that could be replayed. Each session has a
session token row in the database (its secret unused and not kept) so that a password
reset, disabling the user or revoking the token ends it, even from another process.
"""

from __future__ import annotations

import collections
import datetime as dt
import secrets
from dataclasses import dataclass, field

from aiohttp import web

from floki_core.sdk import Principal, Role

COOKIE = "floki-page"
# Over TLS the cookie takes the __Host- prefix: the browser then insists on Secure,
# Path=/ and no Domain, so no other host can plant or read it.
SECURE_COOKIE = "__Host-floki-page"


@dataclass(frozen=True)
class PendingScan:
    """The asset whose label was scanned last: a location label scanned soon after
    records where it is (the two-scan move)."""

    asset_id: int
    asset_number: str
    tag: str | None  # the asset's label code, when it has one
    at: float  # clock.monotonic()


@dataclass(frozen=True)
class Notice:
    text: str
    error: bool = False


@dataclass(frozen=True)
class WorkshopEntry:
    at: dt.datetime
    code: str
    action: str
    asset: str  # asset number and description, or "" when the code named no asset
    ok: bool
    message: str


@dataclass
class PageSession:
    key: str
    user_id: int
    username: str
    display_name: str
    role: Role
    csrf: str
    started: float
    last_used: float
    # The session token row standing for this session in the database (revoked there by
    # a sign-out, a password reset or disabling the user).
    token_id: int | None = None
    pending: PendingScan | None = None
    notices: list[Notice] = field(default_factory=list)
    workshop_log: collections.deque[WorkshopEntry] = field(
        default_factory=lambda: collections.deque(maxlen=20)
    )
    workshop_mode: str = "check_in"
    workshop_zone_id: int | None = None  # the desk: where checked in/out equipment is
    workshop_receiver: str | None = None

    @property
    def principal(self) -> Principal:
        return Principal(user_id=self.user_id, username=self.username, role=self.role)

    @property
    def name(self) -> str:
        return self.display_name or self.username

    def take_notices(self) -> list[Notice]:
        taken, self.notices = self.notices, []
        return taken

    def take_pending(self, now: float, window: float) -> PendingScan | None:
        """The pending asset scan if it is recent enough; it is used up either way."""
        pending, self.pending = self.pending, None
        if pending is None or now - pending.at > window:
            return None
        return pending


class SessionStore:
    def __init__(self, idle_seconds: float, max_seconds: float, limit: int, log_size: int) -> None:
        self.idle_seconds = idle_seconds
        self.max_seconds = max_seconds
        self.limit = limit
        self.log_size = log_size
        self._sessions: dict[str, PageSession] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def _alive(self, session: PageSession, now: float) -> bool:
        return (
            now - session.last_used <= self.idle_seconds
            and now - session.started <= self.max_seconds
        )

    def open(
        self,
        *,
        user_id: int,
        username: str,
        display_name: str,
        role: Role,
        now: float,
        token_id: int | None = None,
    ) -> PageSession:
        self._prune(now)
        if len(self._sessions) >= self.limit:
            # The longest idle goes first: a phone left signed in yesterday.
            oldest = min(self._sessions.values(), key=lambda s: s.last_used)
            del self._sessions[oldest.key]
        session = PageSession(
            key=secrets.token_urlsafe(32),
            user_id=user_id,
            username=username,
            display_name=display_name,
            role=role,
            csrf=secrets.token_urlsafe(32),
            started=now,
            last_used=now,
            token_id=token_id,
            workshop_log=collections.deque(maxlen=self.log_size),
        )
        self._sessions[session.key] = session
        return session

    def find(self, key: str | None, now: float) -> PageSession | None:
        """The live session with this key, its idle time restarted; None if none or ended."""
        if not key:
            return None
        session = self._sessions.get(key)
        if session is None:
            return None
        if not self._alive(session, now):
            del self._sessions[key]
            return None
        session.last_used = now
        return session

    def close(self, key: str) -> None:
        self._sessions.pop(key, None)

    def _prune(self, now: float) -> None:
        for key in [k for k, s in self._sessions.items() if not self._alive(s, now)]:
            del self._sessions[key]


def cookie_name(request: web.Request) -> str:
    return SECURE_COOKIE if request.secure else COOKIE


def session_key(request: web.Request) -> str | None:
    return request.cookies.get(cookie_name(request))


def set_session_cookie(request: web.Request, response: web.StreamResponse, key: str) -> None:
    # No Max-Age: the cookie also ends when the browser is closed.
    response.set_cookie(
        cookie_name(request),
        key,
        path="/",
        httponly=True,
        secure=request.secure,
        samesite="Strict",
    )


def clear_session_cookie(request: web.Request, response: web.StreamResponse) -> None:
    response.del_cookie(
        cookie_name(request), path="/", secure=request.secure, httponly=True, samesite="Strict"
    )
