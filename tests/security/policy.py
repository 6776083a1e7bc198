"""What a route's declared policy promises each caller, written out apart from the
middleware that enforces it.

``viewer`` < ``staff`` < ``engineer`` < ``admin``; ``device`` routes take device tokens
and admins; ``public`` routes take anyone, except pages that declare a ``session_role``:
those want a signed-in page session (a cookie, never a bearer token) of at least that
role, and send anyone else to the sign-in page (GET) or answer 401 (POST). A page
session never opens the API.
"""

from __future__ import annotations

from dataclasses import dataclass

from floki_core.api.routing import ApiRoute

LADDER = ("viewer", "staff", "engineer", "admin")


@dataclass(frozen=True)
class Expected:
    refused: int | None  # 401 or 403, or None: must not be refused
    why: str


def _at_least(role: str, needed: str) -> bool:
    return role in LADDER and LADDER.index(role) >= LADDER.index(needed)


def expected(route: ApiRoute, role: str, *, bearer: bool, session: bool) -> Expected:
    """What the declared policy says this caller gets, from the ladder above."""
    if route.policy == "public" and route.session_role is None:
        return Expected(None, "public")
    if route.session_role is not None:
        if not session:
            return Expected(401, f"page needs a {route.session_role} session; none sent")
        if _at_least(role, route.session_role):
            return Expected(None, f"session role {role} >= {route.session_role}")
        return Expected(403, f"session role {role} < {route.session_role}")
    if not bearer or role == "anonymous":
        return Expected(401, f"{route.policy} route; no token sent")
    if route.policy == "device":
        allowed = role in ("device", "admin")
        return Expected(None if allowed else 403, f"device route as {role}")
    if role == "device":
        return Expected(403, "device tokens reach only device routes")
    if _at_least(role, route.policy):
        return Expected(None, f"{role} >= {route.policy}")
    return Expected(403, f"{role} < {route.policy}")
