"""``/api/v1/openapi.json`` describes exactly the routes the appliance serves."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import openapi_spec_validator

from floki_core.api.app import core_openapi
from floki_core.api.keys import ROUTES
from floki_core.testing import Floki

METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}


async def _document(floki: Floki) -> dict[str, Any]:
    resp = await floki.client.get("/api/v1/openapi.json", headers=await floki.headers("viewer"))
    assert resp.status == 200
    assert resp.content_type == "application/json"
    doc = json.loads(await resp.text())  # strict JSON, not just whatever aiohttp accepts
    assert isinstance(doc, dict)
    return doc


def _operations(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): op
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in METHODS
    }


def _served(floki: Floki) -> set[tuple[str, str]]:
    served = set()
    for route in floki.client.app.router.routes():
        if route.method == "HEAD":
            continue
        assert route.resource is not None
        served.add((route.method, route.resource.canonical))
    return served


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


async def test_document_is_openapi_3_1(floki: Floki) -> None:
    doc = await _document(floki)
    assert doc["openapi"] == "3.1.0"
    assert doc["info"]["title"] and doc["info"]["version"]
    assert doc["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}


async def test_document_needs_a_token(floki: Floki) -> None:
    resp = await floki.client.get("/api/v1/openapi.json")
    assert resp.status == 401


async def test_paths_match_the_router(floki: Floki) -> None:
    doc = await _document(floki)
    documented = set(_operations(doc))
    served = _served(floki)
    assert documented - served == set(), "documented but not served"
    assert served - documented == set(), "served but not documented"
    table = {(r.method, r.path) for r in floki.client.app[ROUTES].routes}
    assert documented == table


async def test_every_operation_states_its_policy(floki: Floki) -> None:
    doc = await _document(floki)
    ops = _operations(doc)
    for spec in floki.client.app[ROUTES].routes:
        op = ops[(spec.method, spec.path)]
        assert op["x-floki-policy"] == spec.policy, f"{spec.method} {spec.path}"
        if spec.policy == "public":
            assert "security" not in op, f"{spec.method} {spec.path}"
        else:
            assert op["security"] == [{"bearer": []}], f"{spec.method} {spec.path}"
            assert {"401", "403"} <= set(op["responses"]), f"{spec.method} {spec.path}"


async def test_operation_ids_are_unique_and_path_params_declared(floki: Floki) -> None:
    doc = await _document(floki)
    ops = _operations(doc)
    ids = [op["operationId"] for op in ops.values()]
    assert len(ids) == len(set(ids))
    for (method, path), op in ops.items():
        wanted = set(re.findall(r"\{(\w+)\}", path))
        declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
        assert declared == wanted, f"{method} {path}"


async def test_request_bodies_reference_existing_schemas(floki: Floki) -> None:
    doc = await _document(floki)
    components = doc["components"]["schemas"]
    for spec in floki.client.app[ROUTES].routes:
        op = _operations(doc)[(spec.method, spec.path)]
        if spec.body is None:
            continue
        schema = op["requestBody"]["content"]["application/json"]["schema"]
        ref = schema["$ref"]
        assert ref == f"#/components/schemas/{spec.body.__name__}", f"{spec.method} {spec.path}"
        body = components[spec.body.__name__]
        assert body["type"] == "object"
        # Unknown fields are refused by the API, so the document must say so too.
        assert body.get("additionalProperties") is False, spec.body.__name__
    # Every reference anywhere in the document resolves.
    for ref in _refs(doc):
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.removeprefix("#/components/schemas/") in components, ref


async def test_plan_upload_documents_image_bodies(floki: Floki) -> None:
    doc = await _document(floki)
    body = doc["paths"]["/api/v1/floors/{id}/plan"]["put"]["requestBody"]
    assert set(body["content"]) == {"image/png", "image/jpeg"}


async def test_document_passes_the_openapi_validator(floki: Floki) -> None:
    openapi_spec_validator.validate(await _document(floki))


async def test_documented_list_responses_match_what_is_returned(floki: Floki) -> None:
    """A client generated from the document must be able to read the real responses."""
    doc = await _document(floki)
    admin = await floki.headers("admin")
    mismatched = []
    for (method, path), op in _operations(doc).items():
        if method != "GET" or "{" in path or path == "/api/v1/events":
            continue
        ok = op["responses"].get("200", {}).get("content", {}).get("application/json")
        if ok is None:
            continue
        resp = await floki.client.get(path, headers=admin)
        assert resp.status == 200, path
        body = await resp.json()
        documented = ok["schema"].get("type", "object")
        actual = "array" if isinstance(body, list) else "object"
        if documented != actual:
            mismatched.append(f"GET {path}: documented {documented}, returns {actual}")
    assert not mismatched, "\n".join(mismatched)


def test_published_document_in_docs_is_current() -> None:
    """docs/api/openapi.json is what third parties read; regenerate with `floki-core openapi`."""
    published = Path(__file__).parents[2] / "docs" / "api" / "openapi.json"
    assert json.loads(published.read_text()) == json.loads(json.dumps(core_openapi())), (
        "docs/api/openapi.json is stale: run `floki-core openapi > docs/api/openapi.json`"
    )
