"""KNOWN_FAILURES: the one list of cases the security checks expose and have not fixed yet.

Each entry names the file whose owner has the fix to make and what is wrong. The case
runs as a strict xfail: while it fails, the suite stays green and says why; the day it
passes, the suite turns red until the entry is removed here. Never add an entry to
quieten a failure in the files that describe the API themselves
(floki_core/api/openapi.py, routing.py, app.py, plugins/registry.py and the route
modules whose description is right): fix those.

Keys are (check, operation, caller): ``check`` is ``matrix`` (test_route_matrix.py),
``schemathesis`` (test_schemathesis.py) or ``openapi`` (tests/core/test_openapi.py);
``operation`` is ``"METHOD /path"`` as in the route table; ``caller`` is a role of
``tests/security/live.py`` (``admin`` ... ``anonymous``), or ``*`` for a check that is
not about a caller.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest

EVERYONE = ("admin", "engineer", "staff", "viewer", "device", "anonymous")
NO_SESSION = ("device", "anonymous")

_PAGES = "plugins/qr/floki_qr/pages/__init__.py"
_PAGE_ROLE = (
    f"{_PAGES}: the page checks a signed-in session of a role (pages/access.py signed_in) "
    "but its route declares no session_role, so the table says it is open to all"
)
_PAGE_ANSWERS = (
    f"{_PAGES}: the page answers HTML (text/html) and 303/400/401/403/404/409/415/422 "
    "but its route declares a JSON 200 only (needs produces, status, session_role, "
    "body_type and answers)"
)
_LOGIN_PAGE = (
    f"{_PAGES}: the sign-in page answers HTML, 303 (signed in already / signed in), "
    "401, 403 (stale form), 415, 422 and 429, and reads ?next=; its routes declare a "
    "JSON 200 only"
)
_STATIC = f"{_PAGES}: style sheet and script are text/css and text/javascript, not JSON"
_BLE_INGEST = (
    "plugins/ble/floki_ble/__init__.py: gateway uploads answer 202 (and 400/413/415/422/"
    "503 for bad or too many uploads) but the route declares 200 and no body"
)
_LABELS = (
    "plugins/qr/floki_qr/labels.py: labels.pdf reads assets, zones, class_id, zone_id, "
    "zones_in, all, layout, gs1 and skip, and answers 400 for a bad or empty selection; "
    "its route declares neither"
)
_RESOLVE = (
    "plugins/qr/floki_qr/resolve.py: qr/resolve reads ?text= (required, at most 500 "
    "characters) and answers 400/422; its route declares neither"
)


def _each(
    check: str, operations: Iterable[str], callers: Iterable[str], reason: str
) -> dict[tuple[str, str, str], str]:
    return {(check, op, who): reason for op in operations for who in callers}


KNOWN_FAILURES: dict[tuple[str, str, str], str] = {
    # --- the route matrix: pages whose route does not say which session they need -----
    **_each(
        "matrix",
        [
            "GET /q/{code}",
            "GET /8004/{giai}",
            "GET /414/{gln}",
            "GET /414/{gln}/254/{extension}",
            "GET /phone",
            "GET /phone/find",
            "GET /phone/assets/{id}",
            "POST /phone/logout",
        ],
        NO_SESSION,
        _PAGE_ROLE,
    ),
    **_each(
        "matrix",
        [
            "POST /phone/assets/{id}/state",
            "POST /phone/assets/{id}/here",
            "POST /phone/assets/{id}/position",
            "POST /phone/assets/{id}/loan",
            "POST /phone/assets/{id}/return",
        ],
        ("viewer", *NO_SESSION),
        _PAGE_ROLE,
    ),
    **_each(
        "matrix",
        ["POST /phone/assets/{id}/ppm", "GET /workshop", "POST /workshop/scan"],
        ("staff", "viewer", *NO_SESSION),
        _PAGE_ROLE,
    ),
    # --- schemathesis: answers the document does not declare ----------------------------
    **_each(
        "schemathesis",
        ["POST /api/v1/ble/ingest/json", "POST /api/v1/ble/ingest/ingics"],
        ("admin", "device"),
        _BLE_INGEST,
    ),
    **_each("schemathesis", ["GET /api/v1/qr/labels.pdf"], ("admin", "engineer"), _LABELS),
    **_each(
        "schemathesis",
        ["GET /api/v1/qr/resolve"],
        ("admin", "engineer", "staff", "viewer"),
        _RESOLVE,
    ),
    **_each(
        "schemathesis",
        [
            "GET /q/{code}",
            "GET /8004/{giai}",
            "GET /414/{gln}",
            "GET /414/{gln}/254/{extension}",
            "GET /phone/assets/{id}",
            "POST /phone/assets/{id}/state",
            "POST /phone/assets/{id}/here",
            "POST /phone/assets/{id}/position",
            "POST /phone/assets/{id}/loan",
            "POST /phone/assets/{id}/return",
            "POST /phone/assets/{id}/ppm",
            "POST /phone/logout",
            "POST /workshop/scan",
        ],
        EVERYONE,
        _PAGE_ANSWERS,
    ),
    **_each("schemathesis", ["GET /phone", "GET /phone/find"], NO_SESSION, _PAGE_ANSWERS),
    **_each("schemathesis", ["GET /workshop"], ("staff", "viewer", *NO_SESSION), _PAGE_ANSWERS),
    **_each(
        "schemathesis", ["GET /phone/login"], ("admin", "engineer", "staff", "viewer"), _LOGIN_PAGE
    ),
    **_each("schemathesis", ["POST /phone/login"], EVERYONE, _LOGIN_PAGE),
    **_each("schemathesis", ["GET /phone/static/{name}"], EVERYONE, _STATIC),
    # --- the OpenAPI sync test (tests/core/test_openapi.py) -----------------------------
    ("openapi", "GET /api/v1/qr/labels.pdf", "*"): _LABELS,
    ("openapi", "GET /api/v1/qr/resolve", "*"): _RESOLVE,
    ("openapi", "GET /phone/find", "*"): f"{_PAGES}: /phone/find reads ?code=, undeclared",
    ("openapi", "GET /phone/login", "*"): _LOGIN_PAGE,
}


def marks(check: str, operation: str, caller: str = "*") -> list[pytest.MarkDecorator]:
    reason = KNOWN_FAILURES.get((check, operation, caller))
    if reason is None:
        return []
    return [pytest.mark.xfail(strict=True, reason=reason)]


def param(check: str, operation: str, caller: str = "*") -> object:
    """A pytest parameter for (operation, caller), marked when it is a known failure."""
    name = f"{operation} as {caller}" if caller != "*" else operation
    values = (operation, caller) if caller != "*" else (operation,)
    return pytest.param(*values, id=name, marks=marks(check, operation, caller))
