"""``/openapi.json``: the OpenAPI 3.1 document, built from ``api.OPERATIONS``.

Nothing here describes a shape by hand: the answers' schemas come from the
``shapes`` Structs the handlers encode, the query parameters from each route's
``Query`` Struct and the request bodies from theirs (``msgspec.json.schema_components``),
so the document and what the server parses and answers cannot drift apart.
"""

from __future__ import annotations

from typing import Any

import msgspec

from wa_manager.entrypoints.http.api import OPERATIONS, Access, Operation
from wa_manager.entrypoints.http.inputs import REQUEST_BODIES, Query
from wa_manager.entrypoints.shapes import Error

JsonSchema = dict[str, Any]
REF_TEMPLATE = "#/components/schemas/{name}"

_SUCCESS = {200: "OK", 201: "Created", 204: "Done; no content"}

ERROR_DESCRIPTIONS = {
    401: "no or bad credentials",
    403: "not an admin, or a browser session without its CSRF token",
    404: "absent, or not visible to the caller (the same answer)",
    409: "a conflict: a sync is already running, the name is taken, or the message did not fail",
    422: "bad input: a malformed body, id, limit or cursor",
    502: "UltraMsg failed; the message says why",
    503: "not available: UltraMsg not configured, or the database does not answer",
}

_ETAG_HEADER = {
    "description": "a tag of this answer; send it back in If-None-Match to get a 304 while "
    "nothing changed",
    "schema": {"type": "string"},
}
_IF_NONE_MATCH = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "description": "the ETag of an earlier answer: 304 without a body while it is unchanged",
    "schema": {"type": "string"},
}

_SECURITY: dict[Access, list[dict[str, list[str]]]] = {
    Access.PUBLIC: [],
    Access.USER: [{"bearer": []}, {"session": []}],
    Access.ADMIN: [{"bearer": []}, {"session": []}],
    Access.ADMIN_BEARER: [{"bearer": []}],
}


def _schemas() -> tuple[dict[Any, JsonSchema], dict[str, JsonSchema]]:
    """Type -> its schema (a ``$ref`` for Structs), and the components they refer to."""
    types: list[Any] = [Error, *REQUEST_BODIES]
    for operation in OPERATIONS:
        types.append(operation.response)
        if operation.alternative is not None:
            types.append(operation.alternative)
        if operation.body is not None:
            types.append(operation.body)
    unique = list(dict.fromkeys(types))
    refs, components = msgspec.json.schema_components(unique, ref_template=REF_TEMPLATE)
    return dict(zip(unique, refs, strict=True)), components


def _without_null(schema: JsonSchema) -> JsonSchema:
    """A query parameter's schema: absent stands for null, so null is not a value."""
    schema = {key: value for key, value in schema.items() if key != "default" or value is not None}
    options = [option for option in schema.get("anyOf", ()) if option != {"type": "null"}]
    if "anyOf" in schema and len(options) == 1:
        rest = {key: value for key, value in schema.items() if key != "anyOf"}
        return {**options[0], **rest}
    return schema


def query_parameters(query: type[Query]) -> list[JsonSchema]:
    """The OpenAPI query parameters of a ``Query`` Struct, one per field."""
    (ref,), components = msgspec.json.schema_components([query], ref_template=REF_TEMPLATE)
    described = components[ref["$ref"].rsplit("/", 1)[-1]]
    required = set(described.get("required", ()))
    parameters = []
    for name, schema in described["properties"].items():
        schema = _without_null(schema)
        parameters.append(
            {
                "name": name,
                "in": "query",
                "required": name in required,
                "description": schema.pop("description", ""),
                "schema": schema,
            }
        )
    return parameters


def _error_statuses(operation: Operation) -> list[int]:
    statuses = set(operation.errors)
    if operation.access is not Access.PUBLIC:
        statuses.add(401)
    if operation.access in (Access.ADMIN, Access.ADMIN_BEARER):
        statuses.add(403)
    if operation.path_params or operation.query is not None or operation.body is not None:
        statuses.add(422)
    return sorted(statuses)


def _answer_schema(operation: Operation, refs: dict[Any, JsonSchema]) -> JsonSchema:
    """The success answer's schema: its response type, or either of two."""
    if operation.alternative is None:
        return refs[operation.response]
    return {"anyOf": [refs[operation.response], refs[operation.alternative]]}


def _operation(operation: Operation, refs: dict[Any, JsonSchema]) -> dict[str, Any]:
    document: dict[str, Any] = {
        "operationId": f"{operation.operation_id}_{operation.method.lower()}",
        "summary": operation.summary,
        "description": f"Who: {operation.access.value}.",
        "security": _SECURITY[operation.access],
        "responses": {
            str(status): {"description": _SUCCESS.get(status, "OK")}
            | (
                {}
                if status == 204
                else {
                    "content": {operation.media_type: {"schema": _answer_schema(operation, refs)}}
                }
            )
            for status in (operation.status, *operation.also)
        },
    }
    parameters = [
        {
            "name": param.name,
            "in": location,
            "required": location == "path",
            "description": param.description,
            "schema": param.schema,
        }
        for location, params in (("path", operation.path_params), ("header", operation.headers))
        for param in params
    ]
    if operation.etag:
        parameters.append(_IF_NONE_MATCH)
        document["responses"][str(operation.status)]["headers"] = {"ETag": _ETAG_HEADER}
        document["responses"]["304"] = {
            "description": "Not Modified: the answer still has the ETag sent in If-None-Match",
            "headers": {"ETag": _ETAG_HEADER},
        }
    if operation.query is not None:
        parameters += query_parameters(operation.query)
    if parameters:
        document["parameters"] = parameters
    if operation.body is not None:
        document["requestBody"] = {
            "required": True,
            "content": {
                media_type: {"schema": refs[operation.body]}
                for media_type in operation.body_media_types
            },
        }
    for status in _error_statuses(operation):
        document["responses"][str(status)] = {
            "description": ERROR_DESCRIPTIONS[status],
            "content": {"application/json": {"schema": refs[Error]}},
        }
    return document


def openapi_document() -> dict[str, Any]:
    """The whole OpenAPI 3.1 document of the API."""
    refs, components = _schemas()
    paths: dict[str, dict[str, Any]] = {}
    for operation in OPERATIONS:
        paths.setdefault(operation.path, {})[operation.method.lower()] = _operation(operation, refs)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "wa-manager",
            "version": "1",
            "description": (
                "WhatsApp contacts and conversations synced from UltraMsg, and who on the "
                "team may see which. Browser sessions must send the X-CSRF-Token header "
                "on state-changing requests."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "an API token from `wa-manager tokens create`",
                },
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "session",
                    "description": "the browser session from /login",
                },
            },
        },
    }
