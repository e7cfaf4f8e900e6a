"""``/openapi.json``: a valid OpenAPI 3.1 document that matches the routes and the answers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import pytest
from openapi_spec_validator import validate
from starlette.routing import Route
from test_http_support import World, make_app, person_chats, running, sync


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with running(make_app(person_chats(4))) as world:
        sync(world)
        yield world


@pytest.fixture(scope="module")
def spec(world: World) -> dict[str, Any]:
    response = world.client.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def test_the_document_is_valid_openapi_3_1(spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.1")
    validate(spec)


def test_every_route_is_documented_and_nothing_else(world: World, spec: dict[str, Any]) -> None:
    documented = {
        (method.upper(), path) for path, methods in spec["paths"].items() for method in methods
    }
    routed = {
        (method, route.path)
        for route in world.client.app.routes  # type: ignore[attr-defined]
        if isinstance(route, Route)
        and (
            route.path.startswith(("/api", "/webhooks"))
            or route.path in ("/openapi.json", "/healthz")
        )
        for method in (route.methods or set()) - {"HEAD"}
    }
    assert documented == routed
    contract = {
        ("GET", "/api/whatsapp-contacts"), ("POST", "/api/whatsapp-contacts"),
        ("GET", "/api/contacts"), ("GET", "/api/contacts/{id}"),
        ("GET", "/api/contacts/{id}/users"), ("PUT", "/api/contacts/{id}/users"),
        ("GET", "/api/conversations"), ("GET", "/api/conversations/{id}"),
        ("GET", "/api/users"), ("POST", "/api/users"), ("GET", "/api/me"),
        ("GET", "/openapi.json"), ("GET", "/healthz"),
    }  # fmt: skip
    beyond_a_manual_sync = {
        ("GET", "/api/contacts.csv"), ("GET", "/api/contacts/{id}/links/history"),
        ("GET", "/api/sync-runs"), ("GET", "/api/sync-schedule"),
        ("GET", "/api/instance/status"), ("POST", "/webhooks/ultramsg/{secret}"),
    }  # fmt: skip
    messages = {
        ("GET", "/api/conversations/{id}/messages"), ("POST", "/api/conversations/{id}/messages"),
        ("POST", "/api/messages/{id}/retry"), ("POST", "/api/conversations/{id}/history"),
    }  # fmt: skip
    team_administration = {
        ("PATCH", "/api/users/{id}"), ("POST", "/api/me/password"),
        ("GET", "/api/tokens"), ("POST", "/api/tokens"), ("DELETE", "/api/tokens/{id}"),
        ("GET", "/api/teams"), ("POST", "/api/teams"), ("PUT", "/api/teams/{id}/members"),
        ("GET", "/api/contacts/{id}/teams"), ("PUT", "/api/contacts/{id}/teams"),
        ("POST", "/api/links/bulk"),
    }  # fmt: skip
    inbox = {
        ("PATCH", "/api/conversations/{id}"), ("GET", "/api/conversations/{id}/events"),
        ("GET", "/api/conversations/{id}/assignees"),
    }  # fmt: skip
    several_numbers = {
        ("GET", "/api/instances"), ("POST", "/api/instances"), ("DELETE", "/api/instances/{id}"),
        ("GET", "/api/instances/{id}/members"), ("PUT", "/api/instances/{id}/members"),
    }  # fmt: skip
    identity = {("GET", "/api/contacts/duplicates"), ("POST", "/api/contacts/{id}/merge")}
    assert documented == (
        contract
        | beyond_a_manual_sync
        | messages
        | team_administration
        | inbox
        | several_numbers
        | identity
    )


def test_guarded_operations_declare_security_and_their_errors(spec: dict[str, Any]) -> None:
    schemes = set(spec["components"]["securitySchemes"])
    assert schemes == {"bearer", "session"}
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            if path.startswith("/api"):
                assert operation["security"], (method, path)
                assert "401" in operation["responses"]
            error = operation["responses"].get("401", {}).get("content", {})
            if error:
                assert error["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    get_sync = spec["paths"]["/api/whatsapp-contacts"]["get"]
    assert get_sync["security"] == [{"bearer": []}]


def _validator(spec: dict[str, Any], operation: dict[str, Any], status: int) -> Any:
    schema = operation["responses"][str(status)]["content"]["application/json"]["schema"]
    return jsonschema_rs.Draft202012Validator({**schema, "components": spec["components"]})


@pytest.mark.parametrize(
    ("method", "path", "template", "status"),
    [
        ("GET", "/api/contacts", "/api/contacts", 200),
        ("GET", "/api/contacts/1", "/api/contacts/{id}", 200),
        ("GET", "/api/contacts/1/users", "/api/contacts/{id}/users", 200),
        ("GET", "/api/conversations", "/api/conversations", 200),
        ("GET", "/api/conversations/1", "/api/conversations/{id}", 200),
        ("GET", "/api/conversations/99999", "/api/conversations/{id}", 404),
        ("GET", "/api/users", "/api/users", 200),
        ("GET", "/api/me", "/api/me", 200),
        ("GET", "/healthz", "/healthz", 200),
        ("POST", "/api/whatsapp-contacts", "/api/whatsapp-contacts", 200),
        ("GET", "/api/contacts?limit=0", "/api/contacts", 422),
        ("POST", "/api/users", "/api/users", 422),
    ],
)
def test_answers_match_their_documented_schemas(
    world: World, spec: dict[str, Any], method: str, path: str, template: str, status: int
) -> None:
    response = world.client.request(method, path, headers=world.admin.headers)
    assert response.status_code == status
    operation = spec["paths"][template][method.lower()]
    _validator(spec, operation, status).validate(response.json())


def test_a_created_user_matches_the_schema(world: World, spec: dict[str, Any]) -> None:
    body = {"username": "schema-check", "role": "user", "password": "long enough"}
    response = world.client.post("/api/users", json=body, headers=world.admin.headers)
    assert response.status_code == 201
    _validator(spec, spec["paths"]["/api/users"]["post"], 201).validate(response.json())
    request_schema = spec["paths"]["/api/users"]["post"]["requestBody"]["content"][
        "application/json"
    ]["schema"]
    jsonschema_rs.Draft202012Validator(
        {**request_schema, "components": spec["components"]}
    ).validate(body)
