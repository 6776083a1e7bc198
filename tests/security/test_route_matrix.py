"""Every route and every caller: refused (401/403) exactly when its declared policy says so.

Generated from the appliance's route table, so a new route is covered without editing
this file; what each policy promises is written out in ``policy.py``. Each user role is
tried signed in everywhere, and with only the credential the route does not take (a
page session on the API, a bearer token on a page), which must not open it.

Requests are ones a refusal cannot depend on: a record id that does not exist, an empty
JSON object or form (with the session's genuine form token), so an allowed caller gets
a 2xx or a 4xx about the request, and no record is changed.
"""

from __future__ import annotations

import re

import pytest
import requests

from floki_core.api.routing import ApiRoute
from tests.security.conftest import appliance
from tests.security.known_failures import param
from tests.security.live import ROLES, USER_ROLES, Caller, LiveAppliance
from tests.security.policy import expected

MISSING_ID = "987654321"
LOGIN_PAGE = "/phone/login"


def operation(route: ApiRoute) -> str:
    return f"{route.method} {route.path}"


def _routes() -> dict[str, ApiRoute]:
    return {operation(r): r for r in appliance().routes}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if {"op", "role"} <= set(metafunc.fixturenames):
        metafunc.parametrize(
            ("op", "role"),
            [param("matrix", op, role) for op in _routes() for role in ROLES],
        )


def _path(route: ApiRoute) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: MISSING_ID if m.group(1) == "id" else "x", route.path)


def call(
    live: LiveAppliance, route: ApiRoute, caller: Caller, *, bearer: bool, session: bool
) -> requests.Response:
    headers = caller.headers if bearer else {}
    cookies = caller.cookies if session else {}
    kwargs: dict[str, object] = {}
    if route.method in ("POST", "PUT", "PATCH"):
        if not route.path.startswith("/api/"):  # pages take forms, the API takes JSON
            form = {"csrf": caller.csrf} if session and caller.csrf else {}
            if route.path == LOGIN_PAGE:
                form, jar = _login_form(live)  # its own form token; empty fields: 422
                cookies = {**cookies, **jar}
            kwargs["data"] = form
        else:
            kwargs["json"] = {}
    return live.http.request(
        route.method,
        live.url + _path(route),
        headers=headers,
        cookies=cookies,
        allow_redirects=False,
        timeout=30,
        **kwargs,  # type: ignore[arg-type]
    )


def _login_form(live: LiveAppliance) -> tuple[dict[str, str], dict[str, str]]:
    """A genuine sign-in form with nothing filled in, and the cookie that goes with it."""
    browser = requests.Session()
    page = browser.get(live.url + LOGIN_PAGE, timeout=30)
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token, page.text[:300]
    jar = {c.name: c.value for c in browser.cookies if c.value}
    browser.close()
    return {"csrf": token.group(1), "username": "", "password": ""}, jar


def answered(resp: requests.Response) -> int | None:
    """401/403 if the answer is a refusal (a redirect to sign in counts as 401)."""
    if resp.status_code in (401, 403):
        return resp.status_code
    location = resp.headers.get("Location", "")
    if resp.is_redirect and location.startswith(LOGIN_PAGE):
        return 401
    return None


def _variants(route: ApiRoute, role: str) -> list[tuple[bool, bool]]:
    """(send bearer, send session cookie) pairs for this caller."""
    if role == "anonymous":
        return [(False, False)]
    if role == "device":
        return [(True, False)]
    # As signed in everywhere, then with the credential the route does not use alone.
    other = (True, False) if route.session_role is not None else (False, True)
    return [(True, True), other]


def test_refused_exactly_when_the_policy_says(live: LiveAppliance, op: str, role: str) -> None:
    route = _routes()[op]
    problems = []
    for bearer, session in _variants(route, role):
        want = expected(route, role, bearer=bearer, session=session)
        resp = call(live, route, live.callers[role], bearer=bearer, session=session)
        if answered(resp) != want.refused:
            # An earlier test may have ended this caller's token or session: once more
            # with a fresh one before calling it a failure.
            live.callers[role] = live.provision(role)
            resp = call(live, route, live.callers[role], bearer=bearer, session=session)
        got = answered(resp)
        if got != want.refused:
            sent = "+".join(n for n, on in (("token", bearer), ("session", session)) if on)
            problems.append(
                f"{op} as {role} ({sent or 'nothing'}): {resp.status_code} "
                f"{resp.text[:160]!r}; expected {want.refused or 'not refused'} ({want.why})"
            )
        elif got is not None and resp.status_code != 303 and route.produces != "text/html":
            body = resp.json()
            assert set(body) == {"error", "status"} and body["status"] == got, body
    assert problems == []


def test_every_caller_and_route_is_in_the_matrix(live: LiveAppliance) -> None:
    """The matrix is the route table: nothing served is left out."""
    served = {
        f"{r.method} {r.resource.canonical}"
        for r in live.app_routes()
        if r.method != "HEAD" and r.resource is not None
    }
    assert served == set(_routes())
    assert set(ROLES) == {*USER_ROLES, "device", "anonymous"}


def test_known_failures_name_served_operations_and_callers(live: LiveAppliance) -> None:
    """An entry for a route that is gone, or a caller that does not exist, would hide
    nothing and mislead: each must name a served operation and a caller of this suite."""
    from tests.security.known_failures import KNOWN_FAILURES

    served = set(_routes())
    for (check, op, caller), reason in KNOWN_FAILURES.items():
        assert check in ("matrix", "schemathesis", "openapi"), check
        assert op in served, f"{op} is not served"
        assert caller in (*ROLES, "*"), caller
        assert (caller == "*") == (check == "openapi"), (check, op, caller)
        assert reason.split(":")[0].endswith(".py"), f"{op}: name the owner file first"
