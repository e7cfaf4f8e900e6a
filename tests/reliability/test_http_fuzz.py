"""schemathesis against ``/openapi.json``: every operation, as an admin and as a user.

Cases are generated from the document itself (parameters, bodies) and sent to
the ASGI app; each answer must not be a 500 and must match the documented
status codes, content type, headers and schema (schemathesis' own checks).

Left out: ``positive_data_acceptance``. A cursor is opaque: any string is valid by
the schema, yet the contract says a cursor that is not ours is a 422.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from test_http_support import World, make_app, person_chats, running, sync

from tests.reliability.figures import HTTP_FUZZ, Recorder
from wa_manager.entrypoints.http.app import create_app

CHECKS = [
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with running(make_app(person_chats(6))) as world:
        sync(world)
        contact = world.client.get("/api/contacts", headers=world.admin.headers).json()["items"][0]
        world.client.put(
            f"/api/contacts/{contact['id']}/users",
            json={"user_ids": [world.user.user.id]},
            headers=world.admin.headers,
        )
        yield world


@pytest.fixture(scope="module")
def schema(world: World) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(world.app, secret_key="k"))


def operations(schema: Any) -> list[Any]:
    found = [result.ok() for result in schema.get_all_operations()]
    assert len(found) >= 18
    return found


def fuzz(world: World, schema: Any, figures: Recorder, examples: int) -> None:
    roles = {"admin": world.admin.headers, "user": world.user.headers}
    for operation in operations(schema):
        for role, headers in roles.items():
            checker(operation, role, headers, figures, examples)()


def checker(
    operation: Any, role: str, headers: dict[str, str], figures: Recorder, examples: int
) -> Any:
    """A hypothesis test sending ``examples`` generated requests to ``operation`` as ``role``."""

    @settings(
        max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(operation.as_strategy())
    def check(case: Any) -> None:
        response = case.call(headers=headers)
        # 502/503 are documented answers (UltraMsg failed or is not set up); 500 never is
        assert response.status_code != 500, (role, case.method, case.path, response.text)
        case.validate_response(response, checks=CHECKS)
        figures.add(HTTP_FUZZ, cases=1, requests=1)

    return check


def test_every_operation_answers_generated_requests_by_its_schema(
    world: World, schema: Any, figures: Recorder
) -> None:
    fuzz(world, schema, figures, examples=8)


@pytest.mark.slow
def test_many_generated_requests_per_operation(
    world: World, schema: Any, figures: Recorder
) -> None:
    fuzz(world, schema, figures, examples=120)
