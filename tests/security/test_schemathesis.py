"""schemathesis against the served OpenAPI document, for every operation and every caller.

The document is the one the appliance serves (phone pages and plugin routes included),
so what is fuzzed is what a client is promised. For each operation, schemathesis makes
``FLOKI_FUZZ_EXAMPLES`` valid requests and as many invalid ones (deterministic:
derandomized, no example database), and each caller sends them: no answer may be a 5xx,
every status and content type must be declared for the operation, and every JSON body
must match its declared schema. A caller the policy refuses gets one request per
operation (the refusal comes before anything in the request is read; the route matrix
checks those exactly).

The cases are made once per operation and sent as each caller in turn, which keeps the
suite inside its time budget. Raise the count before a release:
``FLOKI_FUZZ_EXAMPLES=50 .venv/bin/python -m pytest tests/security -q`` (docs/security.md).
"""

from __future__ import annotations

import contextlib
import functools
import os
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from floki_core.api.routing import ApiRoute
from tests.security.conftest import appliance
from tests.security.known_failures import param
from tests.security.live import ROLES, USER_ROLES, LiveAppliance
from tests.security.policy import expected

EXAMPLES = int(os.environ.get("FLOKI_FUZZ_EXAMPLES", "2"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
FORM = "application/x-www-form-urlencoded"


@functools.cache
def _document() -> dict[str, Any]:
    live = appliance()
    resp = live.http.get(
        f"{live.url}/api/v1/openapi.json", headers=live.callers["admin"].headers, timeout=30
    )
    resp.raise_for_status()
    found: dict[str, Any] = resp.json()
    return found


@functools.cache
def _schema() -> Any:
    return schemathesis.openapi.from_dict(_document())


@functools.cache
def _operations() -> dict[str, Any]:
    return {op.label: op for op in (r.ok() for r in _schema().get_all_operations())}


@functools.cache
def _routes() -> dict[str, ApiRoute]:
    return {f"{r.method} {r.path}": r for r in appliance().routes}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if {"op", "role"} <= set(metafunc.fixturenames):
        metafunc.parametrize(
            ("op", "role"),
            [param("schemathesis", op, role) for op in _operations() for role in ROLES],
        )


def _generate(label: str, mode: GenerationMode) -> list[Case]:
    found: list[Case] = []

    @given(case=_operations()[label].as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    def collect(case: Case) -> None:
        found.append(case)

    # Unsatisfiable: schemathesis found nothing it could make invalid here.
    with contextlib.suppress(hypothesis.errors.Unsatisfiable):
        collect()
    return found


def _can_be_invalid(label: str) -> bool:
    """Whether a request to the operation can break its schema: a body, a query
    parameter, or a path parameter narrower than any string (every path is a string)."""
    method, path = label.split(" ", 1)
    operation = _document()["paths"][path][method.lower()]
    if "requestBody" in operation:
        return True
    return any(
        p["in"] == "query" or p["schema"] != {"type": "string"}
        for p in operation.get("parameters", [])
    )


@functools.cache
def cases(label: str) -> list[Case]:
    found = _generate(label, GenerationMode.POSITIVE)
    if _can_be_invalid(label):
        found += _generate(label, GenerationMode.NEGATIVE)
    return found


def _with_form_token(case: Case, csrf: str | None) -> None:
    """A page's form carries the session's token, as the page itself would send it."""
    if csrf and case.media_type == FORM and isinstance(case.body, dict):
        case.body = {**case.body, "csrf": csrf}


def test_fuzzed_requests_get_only_declared_answers(live: LiveAppliance, op: str, role: str) -> None:
    route = _routes()[op]
    caller = live.caller(role)
    refused = expected(route, role, bearer=role != "anonymous", session=role in USER_ROLES)
    chosen = cases(op)[:1] if refused.refused is not None else cases(op)
    assert chosen, f"schemathesis made no request for {op}"
    problems: list[str] = []
    changed = False
    for case in chosen:
        _with_form_token(case, caller.csrf)
        live.errors.seen.clear()
        resp = case.call(
            base_url=live.url,
            session=live.http,
            headers=caller.headers,
            cookies=caller.cookies,
            allow_redirects=False,
            timeout=30,
        )
        try:
            case.validate_response(resp, checks=CHECKS)
        except FailureGroup as exc:
            problems.append("\n".join([str(exc), *live.errors.seen]))
        else:
            assert resp.status_code < 500, "\n".join(live.errors.seen)
        changed |= resp.status_code < 400
    if route.method != "GET" and changed:
        live.suspect()  # the write may have ended a token or session, or changed a user
    assert not problems, f"{op} as {role}:\n" + "\n\n".join(problems)
