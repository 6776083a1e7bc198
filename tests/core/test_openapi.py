"""``/api/v1/openapi.json`` describes exactly the routes the appliance serves."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import msgspec
import openapi_spec_validator
import pytest
from aiohttp import web

from floki_core import hookimpl
from floki_core.api.app import core_openapi
from floki_core.api.keys import ROUTES
from floki_core.plugins.registry import Answer, Param, RouteRegistry
from floki_core.testing import TEST_PASSWORD, Floki

METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}


class SealRequest(msgspec.Struct, forbid_unknown_fields=True):
    reason: str


class SealedBox(msgspec.Struct):
    id: int
    sealed: bool


class BoxPlugin:
    """A plugin whose routes use every option a route description has."""

    async def answer(self, request: web.Request) -> web.Response:
        return web.json_response({"id": 1, "sealed": True}, status=202)

    @hookimpl
    def floki_register_routes(self, registry: RouteRegistry) -> None:
        registry.add(
            "POST",
            "/api/v1/boxes/{id}/seal",
            self.answer,
            policy="engineer",
            summary="Seal a box",
            body=SealRequest,
            response=SealedBox,
            status=202,
            query=(
                Param("copies", "integer", "labels to print", minimum=1, maximum=5),
                Param("until", format="date-time", required=True),
                Param("colour", enum=("red", "green")),
            ),
            answers={409: "the box is sealed already"},
        )
        registry.add(
            "POST",
            "/boxes/{code}/scan",
            self.answer,
            policy="public",
            summary="A box page's form",
            body=SealRequest,
            body_type="application/x-www-form-urlencoded",
            produces="text/html",
            status=303,
            path_params=(Param("code", max_length=40),),
            session_role="staff",
            answers={422: Answer("what was wrong, as JSON", SealedBox)},
            rate_limited=True,
        )
        registry.add(
            "GET",
            "/boxes/static/{name}",
            self.answer,
            policy="public",
            summary="The box pages' style sheet and script",
            produces="text/css, text/javascript",
            answers={404: Answer("no such file", media_type="text/html")},
        )


@pytest.fixture
def floki_plugins() -> list[tuple[str, object]]:
    return [("boxes", BoxPlugin())]


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
        media_type = (spec.body_type or "application/json").split(",")[0].strip()
        schema = op["requestBody"]["content"][media_type]["schema"]
        ref = schema["$ref"]
        assert ref == f"#/components/schemas/{spec.body.__name__}", f"{spec.method} {spec.path}"
        body = components[spec.body.__name__]
        assert body["type"] == "object"
        if media_type == "application/json":
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
        if path.startswith("/api/v1/hub/"):
            continue  # this appliance is no trust hub: those routes rightly answer 404
        if any(p.get("required") for p in op.get("parameters", [])):
            continue  # nothing to list without the parameter it needs
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


async def test_plugin_routes_declare_status_parameters_body_and_answers(floki: Floki) -> None:
    doc = await _document(floki)
    seal = doc["paths"]["/api/v1/boxes/{id}/seal"]["post"]
    assert seal["tags"] == ["boxes"]
    assert set(seal["responses"]) == {
        "202",
        "400",
        "401",
        "403",
        "404",
        "409",
        "413",
        "415",
        "422",
        "503",
    }
    assert seal["responses"]["202"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SealedBox"
    }
    assert seal["responses"]["409"]["description"] == "the box is sealed already"
    params = {p["name"]: p for p in seal["parameters"]}
    assert params["id"] == {
        "name": "id",
        "in": "path",
        "required": True,
        "description": "record id",
        "schema": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
    }
    assert params["copies"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 5}
    assert params["until"]["required"] is True
    assert params["until"]["schema"] == {"type": "string", "format": "date-time"}
    assert params["colour"]["schema"] == {"type": "string", "enum": ["red", "green"]}
    assert seal["requestBody"]["content"] == {
        "application/json": {"schema": {"$ref": "#/components/schemas/SealRequest"}}
    }

    page = doc["paths"]["/boxes/{code}/scan"]["post"]
    assert page["x-floki-policy"] == "public" and "security" not in page
    assert page["x-floki-session-role"] == "staff"
    assert set(page["responses"]) == {
        "303",
        "400",
        "401",
        "403",
        "404",
        "413",
        "415",
        "422",
        "429",
        "503",
    }
    assert "Location" in page["responses"]["303"]["headers"]
    assert "Retry-After" in page["responses"]["429"]["headers"]
    # A page answers its refusals in HTML; the middleware in front of it in JSON.
    assert set(page["responses"]["403"]["content"]) == {"text/html", "application/json"}
    assert page["responses"]["422"]["content"] == {
        "application/json": {"schema": {"$ref": "#/components/schemas/SealedBox"}}
    }
    assert page["parameters"] == [
        {
            "name": "code",
            "in": "path",
            "required": True,
            "schema": {"type": "string", "maxLength": 40},
        }
    ]
    assert set(page["requestBody"]["content"]) == {"application/x-www-form-urlencoded"}

    static = doc["paths"]["/boxes/static/{name}"]["get"]
    assert set(static["responses"]["200"]["content"]) == {"text/css", "text/javascript"}
    assert static["responses"]["404"]["content"] == {"text/html": {"schema": {"type": "string"}}}


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        ({"status": 404}, "status must be a success or redirect code"),
        ({"query": (Param("n", "int"),)}, "parameter n has type 'int'"),
        ({"query": ("limit",)}, "parameters must be Param(...)"),
        ({"path_params": (Param("code"),)}, "path parameter code is not in the path"),
        ({"answers": {"409": "clash"}}, "answer '409' is not an HTTP status"),
        ({"session_role": "staff"}, "session_role is for pages"),
    ],
)
def test_a_route_described_wrongly_is_refused(options: dict[str, Any], reason: str) -> None:
    from floki_core.plugins.registry import NamedRegistry, RegistrationError, RouteSpec

    registry = RouteRegistry(NamedRegistry[RouteSpec]("route"), "boxes")
    with pytest.raises(RegistrationError, match=re.escape(reason)):
        registry.add("GET", "/api/v1/boxes", BoxPlugin().answer, policy="viewer", **options)


def _shape_problems(method: str, path: str, op: dict[str, Any]) -> list[str]:
    """What the route's shape says it can answer, and the ranges it must state."""
    problems = []
    declared = {int(s) for s in op["responses"]}
    wanted = {503}
    if op["x-floki-policy"] != "public":
        wanted |= {401, 403}
    if "{" in path:
        wanted.add(404)
    params = op.get("parameters", [])
    if any(p["in"] == "query" for p in params):
        wanted.add(400)
    if "requestBody" in op:
        wanted |= {400, 413, 415, 422}
    if wanted - declared:
        problems.append(f"answers {sorted(wanted - declared)} not declared")
    for status in declared:
        if status >= 400 and not op["responses"][str(status)].get("content"):
            problems.append(f"{status} has no body described")
    for param in params:
        schema, where = param["schema"], (param["in"], param["name"])
        if where == ("path", "id") and schema != _ID_SCHEMA:
            problems.append(f"path id is {schema}, not {_ID_SCHEMA}")
        limits = (schema.get("minimum"), schema.get("maximum"))
        if where == ("query", "limit") and limits != (1, 500):
            problems.append(f"limit is {schema}: 1-500 not stated")
        if where == ("query", "offset") and limits[0] != 0:
            problems.append(f"offset is {schema}: from 0 not stated")
    return problems


_ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}


class _RecordedQuery(Mapping[str, str]):
    """A request's query string that notes which names the handler looks up."""

    def __init__(self, query: Mapping[str, str], names: set[str]) -> None:
        self._query = query
        self._names = names

    def __getitem__(self, name: str) -> str:
        self._names.add(name)
        return self._query[name]

    def get(self, name: str, default: Any = None) -> Any:
        self._names.add(name)
        return self._query.get(name, default)

    def getone(self, name: str, default: Any = None) -> Any:
        self._names.add(name)
        return self._query.get(name, default)

    def getall(self, name: str, default: Any = None) -> Any:
        self._names.add(name)
        return self._query.getall(name, default)  # type: ignore[attr-defined]

    def __contains__(self, name: object) -> bool:
        if isinstance(name, str):
            self._names.add(name)
        return name in self._query

    def __iter__(self) -> Iterator[str]:
        return iter(self._query)

    def __len__(self) -> int:
        return len(self._query)


async def _sign_in_to_pages(floki: Floki) -> None:
    """A phone session in the client's cookie jar, so pages get past their sign-in check."""
    await floki.token_for("admin")
    form = await floki.client.get("/phone/login")
    token = re.search(r'name="csrf" value="([^"]+)"', await form.text())
    assert token is not None
    data = {"csrf": token.group(1), "username": "test-admin", "password": TEST_PASSWORD}
    resp = await floki.client.post("/phone/login", data=data, allow_redirects=False)
    assert resp.status == 303, await resp.text()


async def _undeclared_query_reads(
    floki: Floki, doc: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> dict[str, list[str]]:
    """Query parameters each GET handler reads that its operation does not declare.

    Every GET route is called once, as an admin signed in to the pages too, on a register
    where id 1 exists, with no query string: what the handler looks up is recorded.
    """
    admin = await floki.headers("admin")
    for path, body in (
        ("/api/v1/sites", {"name": "General"}),
        ("/api/v1/zones", {"site_id": 1, "name": "Ward 5", "type": "ward"}),
        ("/api/v1/asset-classes", {"name": "Infusion pump"}),
        ("/api/v1/assets", {"asset_number": "E10001", "class_id": 1, "home_zone_id": 1}),
    ):
        resp = await floki.client.post(path, json=body, headers=admin)
        assert resp.status == 201, await resp.text()
    await _sign_in_to_pages(floki)
    read: dict[str, set[str]] = {}
    reify = web.BaseRequest.query

    def recording(request: web.BaseRequest) -> Mapping[str, str]:
        route = request.match_info.route
        key = f"{request.method} {route.resource.canonical if route.resource else ''}"
        return _RecordedQuery(reify.__get__(request), read.setdefault(key, set()))

    monkeypatch.setattr(web.BaseRequest, "query", property(recording))
    for (method, path), _ in _operations(doc).items():
        if method == "GET" and path != "/api/v1/events":
            await floki.client.get(re.sub(r"\{\w+\}", "1", path), headers=admin)
    monkeypatch.undo()
    found = {}
    for (method, path), op in _operations(doc).items():
        declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
        extra = read.get(f"{method} {path}", set()) - declared
        if extra:
            found[f"{method} {path}"] = [
                f"reads undeclared query parameter {n}" for n in sorted(extra)
            ]
    return found


_found: list[dict[str, list[str]]] = []


async def _problems(floki: Floki, monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Every operation's problems; worked out once per run (each appliance serves the same
    routes), so the known gaps below cost nothing more."""
    if not _found:
        _found.append(await _find_problems(floki, monkeypatch))
    return _found[0]


async def _find_problems(floki: Floki, monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    doc = await _document(floki)
    problems = await _undeclared_query_reads(floki, doc, monkeypatch)
    for (method, path), op in _operations(doc).items():
        found = _shape_problems(method, path, op)
        if found:
            problems.setdefault(f"{method} {path}", []).extend(found)
    return problems


async def test_every_operation_declares_its_answers_and_parameters(
    floki: Floki, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sync test is on answers and parameters, not only on paths: every status a
    route of its shape can answer, the ranges of ids and paging, pages as HTML, and every
    query parameter its handler reads."""
    problems = await _problems(floki, monkeypatch)
    assert problems == {}, "\n".join(f"{op}: {'; '.join(found)}" for op, found in problems.items())
