"""KNOWN_FAILURES: the one list of cases the security checks expose and have not fixed yet.

Each entry names the file whose owner has the fix to make and what is wrong. The case
runs as a strict xfail: while it fails, the suite stays green and says why; the day it
passes, the suite turns red until the entry is removed here. Never add an entry to
quieten a failure in the files that describe the API themselves
(floki_core/api/openapi.py, routing.py, app.py, plugins/registry.py and the route
modules whose description is right): fix those.

Keys are (check, operation, caller): ``check`` is ``matrix`` (test_route_matrix.py),
or ``schemathesis`` (test_schemathesis.py);
``operation`` is ``"METHOD /path"`` as in the route table; ``caller`` is a role of
``tests/security/live.py`` (``admin`` ... ``anonymous``), or ``*`` for a check that is
not about a caller.
"""

from __future__ import annotations

import pytest

# Empty: every case the checks exposed has been fixed. A new entry names its owner file
# and what is wrong, e.g. ("schemathesis", "GET /api/v1/x", "viewer"): "path.py: ...".
KNOWN_FAILURES: dict[tuple[str, str, str], str] = {}


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
