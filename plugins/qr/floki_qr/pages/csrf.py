"""Forged-form protection for every POST of the phone pages.

Signed-in forms carry the session's own random token (kept in memory with the session,
never in a cookie), compared in constant time. The login form has no session yet, so
it uses a double-submit token: a random value in a SameSite=Strict, HttpOnly cookie and
the same value in the form. On top of both, a browser that says where a POST comes from
(``Origin``, ``Sec-Fetch-Site``) must say it comes from this appliance.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping

from aiohttp import web

LOGIN_COOKIE = "floki-login"
SECURE_LOGIN_COOKIE = "__Host-floki-login"
FIELD = "csrf"


def same_origin(request: web.Request) -> bool:
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # an older browser: the token alone decides
    return origin == f"{request.scheme}://{request.host}"


def tokens_match(sent: object, expected: str) -> bool:
    if not isinstance(sent, str) or not sent or not expected:
        return False
    return hmac.compare_digest(sent.encode(), expected.encode())


def form_is_genuine(request: web.Request, form: Mapping[str, object], expected: str) -> bool:
    """The form came from one of our pages in this browser, signed in."""
    return same_origin(request) and tokens_match(form.get(FIELD), expected)


def _login_cookie(request: web.Request) -> str:
    return SECURE_LOGIN_COOKIE if request.secure else LOGIN_COOKIE


def new_login_token() -> str:
    return secrets.token_urlsafe(32)


def set_login_token(request: web.Request, response: web.StreamResponse, token: str) -> None:
    response.set_cookie(
        _login_cookie(request),
        token,
        path="/",
        max_age=3600,
        httponly=True,
        secure=request.secure,
        samesite="Strict",
    )


def clear_login_token(request: web.Request, response: web.StreamResponse) -> None:
    response.del_cookie(
        _login_cookie(request), path="/", secure=request.secure, httponly=True, samesite="Strict"
    )


def login_form_is_genuine(request: web.Request, form: Mapping[str, object]) -> bool:
    expected = request.cookies.get(_login_cookie(request), "")
    return same_origin(request) and tokens_match(form.get(FIELD), expected)
