"""``/api/v1/openapi.json`` built from the route table, so it cannot drift from the router."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import msgspec

from floki_core import __version__
from floki_core.api.routing import ApiRoute

_PATH_PARAM = re.compile(r"\{(\w+)\}")


def build_openapi(routes: Sequence[ApiRoute]) -> dict[str, Any]:
    types: list[Any] = []
    for route in routes:
        for t in (route.body, route.response):
            if t is not None and t not in types:
                types.append(t)
    schemas, components = msgspec.json.schema_components(
        types, ref_template="#/components/schemas/{name}"
    )
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
        if route.policy != "public":
            operation["security"] = [{"bearer": []}]
        params = [
            {"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
            for n in _PATH_PARAM.findall(route.path)
        ] + [
            {
                "name": p.name,
                "in": "query",
                "required": p.required,
                "description": p.description,
                "schema": {"type": p.type},
            }
            for p in route.query
        ]
        if params:
            operation["parameters"] = params
        if route.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": schema_of[route.body]}},
            }
        elif route.body_type is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {
                    t.strip(): {"schema": {"type": "string", "format": "binary"}}
                    for t in route.body_type.split(",")
                },
            }
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


def _responses(route: ApiRoute, schema_of: dict[Any, Any]) -> dict[str, Any]:
    ok: dict[str, Any] = {"description": "OK"}
    if route.status == 204:
        ok = {"description": "No content"}
    elif route.response is not None:
        ok["content"] = {route.produces: {"schema": schema_of[route.response]}}
    elif route.produces != "application/json":
        ok["content"] = {route.produces: {"schema": {"type": "string"}}}
    responses: dict[str, Any] = {str(route.status): ok}
    error = {
        "description": "Error with a reason",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {"error": {"type": "string"}, "status": {"type": "integer"}},
                }
            }
        },
    }
    if route.policy != "public":
        responses["401"] = {**error, "description": "No valid token"}
        responses["403"] = {**error, "description": f"Needs the {route.policy} role"}
    if route.body is not None or route.body_type is not None:
        responses["400"] = {**error, "description": "Malformed body"}
        responses["422"] = {**error, "description": "Invalid field"}
    return responses
