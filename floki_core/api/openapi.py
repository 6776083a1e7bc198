"""``/api/v1/openapi.json`` built from the route table, so it cannot drift from the router.

Every route declares its success status, parameters and body; the statuses any route of
its shape can answer are added here, so no route has to repeat them:

- every route: 503 when the appliance is degraded (a full disk) or saturated;
- a route behind a token: 401 (no valid token) and 403 (role too low);
- a page that checks its own session (``session_role``): 303 to the sign-in page (GET)
  or 401 (POST) without a session, 403 for a role too low or a forged form;
- a path parameter: 404; a query parameter: 400;
- a request body: 400 (malformed), 413 (too large), 415 (wrong type), 422 (invalid);
- ``rate_limited``: 429 with ``Retry-After``.

Anything else a route answers (409 on a clash, 401 on a wrong password ...) it names
in ``answers``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import msgspec

from floki_core import __version__
from floki_core.api.routing import MAX_ID, Answer, ApiRoute, Param

_PATH_PARAM = re.compile(r"\{(\w+)\}")
_ID = Param("id", "integer", "record id", minimum=1, maximum=MAX_ID)
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Why the request was refused, in one line a person can act on",
    "properties": {"error": {"type": "string"}, "status": {"type": "integer"}},
    "required": ["error", "status"],
}
_ERROR_REF = {"$ref": "#/components/schemas/Error"}
_SUCCESS = {200: "OK", 201: "Created", 202: "Accepted: queued for processing"}
_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "string"}}}


def build_openapi(routes: Sequence[ApiRoute]) -> dict[str, Any]:
    types: list[Any] = []
    for route in routes:
        answer_bodies = [a.body for a in route.answers.values() if isinstance(a, Answer)]
        for t in (route.body, route.response, *answer_bodies):
            if t is not None and t not in types:
                types.append(t)
    schemas, components = msgspec.json.schema_components(
        types, ref_template="#/components/schemas/{name}"
    )
    components["Error"] = ERROR_SCHEMA
    schema_of = dict(zip(types, schemas, strict=True))
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        operation: dict[str, Any] = {
            "summary": route.summary,
            "tags": [route.plugin or route.tag],
            "operationId": _operation_id(route),
            "x-floki-policy": route.policy,
            "responses": _responses(route, schema_of),
        }
        if route.session_role is not None:
            operation["x-floki-session-role"] = route.session_role
        if route.policy != "public":
            operation["security"] = [{"bearer": []}]
        params = [_parameter(p, "path") for p in _path_params(route)] + [
            _parameter(p, "query") for p in route.query
        ]
        if params:
            operation["parameters"] = params
        body = _request_body(route, schema_of)
        if body is not None:
            operation["requestBody"] = body
        paths.setdefault(route.path, {})[route.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Floki appliance API",
            "version": __version__,
            "description": "Where hospital equipment is, what state it is in, what is due.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _operation_id(route: ApiRoute) -> str:
    words = re.sub(r"[^a-zA-Z0-9]+", "_", route.path.removeprefix("/api/v1")).strip("_")
    return f"{route.method.lower()}_{words or 'root'}"


def _path_params(route: ApiRoute) -> list[Param]:
    declared = {p.name: p for p in route.path_params}
    found = []
    for name in _PATH_PARAM.findall(route.path):
        default = _ID if name == "id" else Param(name)
        found.append(declared.get(name, default))
    return found


def param_schema(param: Param) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": param.type}
    if param.format is not None:
        schema["format"] = param.format
    if param.minimum is not None:
        schema["minimum"] = param.minimum
    if param.maximum is not None:
        schema["maximum"] = param.maximum
    if param.enum:
        schema["enum"] = list(param.enum)
    if param.max_length is not None:
        schema["maxLength"] = param.max_length
    if param.pattern is not None:
        schema["pattern"] = param.pattern
    if param.default is not None:
        schema["default"] = param.default
    return schema


def _parameter(param: Param, where: str) -> dict[str, Any]:
    found: dict[str, Any] = {
        "name": param.name,
        "in": where,
        "required": True if where == "path" else param.required,
        "schema": param_schema(param),
    }
    if param.description:
        found["description"] = param.description
    return found


def _media_types(raw: str) -> list[str]:
    return [t.strip() for t in raw.split(",") if t.strip()]


def _request_body(route: ApiRoute, schema_of: dict[Any, Any]) -> dict[str, Any] | None:
    if route.body is not None:
        kinds = _media_types(route.body_type) if route.body_type else ["application/json"]
        return {
            "required": True,
            "content": {t: {"schema": schema_of[route.body]} for t in kinds},
        }
    if route.body_type is not None:
        binary = {"type": "string", "format": "binary"}
        return {
            "required": True,
            "content": {t: {"schema": binary} for t in _media_types(route.body_type)},
        }
    return None


def _error(route: ApiRoute, description: str) -> dict[str, Any]:
    content: dict[str, Any] = {"application/json": {"schema": _ERROR_REF}}
    if "text/html" in _media_types(route.produces):
        # A page explains in HTML; the middleware in front of it answers in JSON.
        content = {"text/html": {"schema": {"type": "string"}}, **content}
    return {"description": description, "content": content}


def _success(route: ApiRoute, schema_of: dict[Any, Any]) -> dict[str, Any]:
    if route.status == 204:
        return {"description": "No content"}
    if route.status == 101:
        return {"description": "Switching to the WebSocket protocol"}
    if 300 <= route.status < 400:
        return _redirect("Done: the Location header names the page to show next")
    ok: dict[str, Any] = {"description": _SUCCESS.get(route.status, "Done")}
    kinds = _media_types(route.produces)
    if route.response is not None:
        ok["content"] = {t: {"schema": schema_of[route.response]} for t in kinds}
    elif kinds != ["application/json"]:
        ok["content"] = {t: {"schema": {"type": "string"}} for t in kinds}
    return ok


def _redirect(description: str) -> dict[str, Any]:
    location = {"description": "where to go", "schema": {"type": "string"}}
    return {"description": description, "headers": {"Location": location}}


def _defaults(route: ApiRoute) -> dict[int, str]:
    found: dict[int, str] = {503: "The appliance is degraded or busy; retry later"}
    if route.policy != "public":
        found[401] = "No valid token"
        found[403] = f"Needs the {route.policy} role"
    if route.session_role is not None:
        found[403] = f"Needs a session with the {route.session_role} role, and a genuine form"
        if route.method == "GET":
            found[303] = "Not signed in: to the sign-in page"
        else:
            found[401] = "Not signed in: nothing was changed"
    if _PATH_PARAM.search(route.path):
        found[404] = "No such record"
    if route.query:
        found[400] = "A query parameter is not acceptable"
    if route.body is not None or route.body_type is not None:
        found[400] = "Malformed body"
        found[413] = "Body too large"
        found[415] = "Unsupported content type"
        found[422] = "Invalid field"
    if route.rate_limited:
        found[429] = "Too many attempts; Retry-After says when to try again"
    return found


def _responses(route: ApiRoute, schema_of: dict[Any, Any]) -> dict[str, Any]:
    responses: dict[int, dict[str, Any]] = {}
    answers: dict[int, str | Answer] = {**_defaults(route), **route.answers}
    for status, answer in answers.items():
        if isinstance(answer, Answer):
            responses[status] = _answer(route, answer, schema_of)
        elif 300 <= status < 400:
            responses[status] = _redirect(answer)
        else:
            responses[status] = _error(route, answer)
        if status in (429, 503):
            responses[status]["headers"] = _RETRY_AFTER
    responses[route.status] = _success(route, schema_of)
    return {str(status): responses[status] for status in sorted(responses)}


def _answer(route: ApiRoute, answer: Answer, schema_of: dict[Any, Any]) -> dict[str, Any]:
    if answer.body is None and answer.media_type is None:
        return _error(route, answer.description)
    media_type = answer.media_type or "application/json"
    schema = schema_of[answer.body] if answer.body is not None else {"type": "string"}
    return {"description": answer.description, "content": {media_type: {"schema": schema}}}
