"""``/openapi.json``: the OpenAPI 3.1 document, built from ``api.OPERATIONS``.

Response shapes are the contract's (CONTRACT.md, "Shapes") as JSON Schema; the
request bodies' schemas come from their ``msgspec`` types, so the document and
the validation of bodies cannot drift apart.
"""

from __future__ import annotations

from typing import Any

import msgspec

from wa_manager.entrypoints.http.api import OPERATIONS, Access, Operation
from wa_manager.entrypoints.http.inputs import REQUEST_BODIES
from wa_manager.entrypoints.http.webhooks import UltraMsgEvent

JsonSchema = dict[str, Any]

_NULLABLE_STRING: JsonSchema = {"type": ["string", "null"]}
_TIME: JsonSchema = {"type": "string", "format": "date-time"}
_ID: JsonSchema = {"type": "integer", "minimum": 1}


def _object(properties: dict[str, JsonSchema]) -> JsonSchema:
    return {"type": "object", "required": list(properties), "properties": properties}


def _ref(name: str) -> JsonSchema:
    return {"$ref": f"#/components/schemas/{name}"}


def _page(item: str) -> JsonSchema:
    return _object(
        {"items": {"type": "array", "items": _ref(item)}, "next_cursor": _NULLABLE_STRING}
    )


_COUNT: JsonSchema = {"type": "integer", "minimum": 0}

COMPONENT_SCHEMAS: dict[str, JsonSchema] = {
    "Error": _object(
        {"error": _object({"code": {"type": "string"}, "message": {"type": "string"}})}
    ),
    "Contact": _object(
        {
            "id": _ID,
            "wa_id": {"type": "string"},
            "name": _NULLABLE_STRING,
            "phone": _NULLABLE_STRING,
            "kind": {"enum": ["person", "group"]},
            "source": {"type": "string"},
            "user_ids": {"type": "array", "items": _ID},
            "created_at": _TIME,
            "last_seen_at": {"type": ["string", "null"], "format": "date-time"},
            "vanished_at": {"type": ["string", "null"], "format": "date-time"},
        }
    ),
    "ContactSummary": _object(
        {
            "id": _ID,
            "wa_id": {"type": "string"},
            "name": _NULLABLE_STRING,
            "phone": _NULLABLE_STRING,
        }
    ),
    "Conversation": _object(
        {
            "id": _ID,
            "contact": _ref("ContactSummary"),
            "status": {"type": "string"},
            "source": {"type": "string"},
            "assigned_user_id": {"type": ["integer", "null"]},
            "created_at": {"type": ["string", "null"], "format": "date-time"},
        }
    ),
    "User": _object(
        {"id": _ID, "username": {"type": "string"}, "role": {"enum": ["admin", "user"]}}
    ),
    "SyncReport": _object(
        {
            "instance_id": {"type": "string"},
            "fetched": _COUNT,
            "created_contacts": _COUNT,
            "created_conversations": _COUNT,
            "updated_contacts": _COUNT,
            "skipped": _COUNT,
            "duration_ms": _COUNT,
            "dry_run": {"type": "boolean"},
        }
    ),
    "ContactPage": _page("Contact"),
    "ConversationPage": _page("Conversation"),
    "UserList": _object({"items": {"type": "array", "items": _ref("User")}}),
    "UserIds": _object({"user_ids": {"type": "array", "items": _ID}}),
    "Health": _object({"status": {"const": "ok"}}),
    "SyncRun": _object(
        {
            "id": _ID,
            "instance_id": {"type": "string"},
            "trigger": {"enum": ["cli", "api", "ui", "schedule", "library"]},
            "actor_id": {"type": ["integer", "null"]},
            "actor": _NULLABLE_STRING,
            "started_at": _TIME,
            "finished_at": {"type": ["string", "null"], "format": "date-time"},
            "report": {"oneOf": [_ref("SyncReport"), {"type": "null"}]},
            "error": _NULLABLE_STRING,
        }
    ),
    "SyncRunPage": _page("SyncRun"),
    "SyncSchedule": {
        "type": "object",
        "required": ["enabled"],
        "properties": {
            "enabled": {"type": "boolean"},
            "interval_seconds": {"type": "number"},
            "active": {"type": "boolean"},
            "running": {"type": "boolean"},
            "next_run_at": {"type": ["string", "null"], "format": "date-time"},
            "last_started_at": {"type": ["string", "null"], "format": "date-time"},
            "last_finished_at": {"type": ["string", "null"], "format": "date-time"},
            "last_error": _NULLABLE_STRING,
            "consecutive_failures": _COUNT,
            "last_report": {"oneOf": [_ref("SyncReport"), {"type": "null"}]},
        },
    },
    "LinkEvent": _object(
        {
            "contact_id": _ID,
            "user_id": _ID,
            "username": _NULLABLE_STRING,
            "action": {"enum": ["link", "unlink"]},
            "actor_id": {"type": ["integer", "null"]},
            "actor": _NULLABLE_STRING,
            "at": _TIME,
        }
    ),
    "LinkHistory": _object({"items": {"type": "array", "items": _ref("LinkEvent")}}),
    "ContactsCsv": {
        "type": "string",
        "description": "CSV, UTF-8, CRLF; header id,wa_id,name,phone,kind,source,user_ids,"
        "created_at,last_seen_at,vanished_at; a cell starting with = + - @ ' TAB or CR "
        "is prefixed with ' (formula-injection safe)",
    },
    "InstanceStatus": _object(
        {
            "instance_id": {"type": "string"},
            "status": _NULLABLE_STRING,
            "connected": {"type": "boolean"},
            "explanation": {"type": "string"},
        }
    ),
    "WebhookResult": _object(
        {
            "status": {"enum": ["created", "touched", "ignored"]},
            "wa_id": _NULLABLE_STRING,
            "reason": _NULLABLE_STRING,
        }
    ),
    "OpenApiDocument": {"type": "object"},
}

ERROR_DESCRIPTIONS = {
    401: "no or bad credentials",
    403: "not an admin, or a browser session without its CSRF token",
    404: "absent, or not visible to the caller (the same answer)",
    409: "a conflict: a sync is already running, or the name is taken",
    422: "bad input: a malformed body, id, limit or cursor",
    502: "UltraMsg failed; the message says why",
    503: "not available: UltraMsg not configured, or the database does not answer",
}

_SECURITY: dict[Access, list[dict[str, list[str]]]] = {
    Access.PUBLIC: [],
    Access.USER: [{"bearer": []}, {"session": []}],
    Access.ADMIN: [{"bearer": []}, {"session": []}],
    Access.ADMIN_BEARER: [{"bearer": []}],
}


def _request_body_schemas() -> dict[str, JsonSchema]:
    _, components = msgspec.json.schema_components(
        (*REQUEST_BODIES, UltraMsgEvent), ref_template="#/components/schemas/{name}"
    )
    return components


def _error_statuses(operation: Operation) -> list[int]:
    statuses = set(operation.errors)
    if operation.access is not Access.PUBLIC:
        statuses.add(401)
    if operation.access in (Access.ADMIN, Access.ADMIN_BEARER):
        statuses.add(403)
    if operation.params or operation.body is not None:
        statuses.add(422)
    return sorted(statuses)


def _operation(operation: Operation) -> dict[str, Any]:
    document: dict[str, Any] = {
        "operationId": f"{operation.operation_id}_{operation.method.lower()}",
        "summary": operation.summary,
        "description": f"Who: {operation.access.value}.",
        "security": _SECURITY[operation.access],
        "responses": {
            str(operation.status): {
                "description": "OK" if operation.status == 200 else "Created",
                "content": {operation.media_type: {"schema": _ref(operation.response)}},
            }
        },
    }
    if operation.params:
        document["parameters"] = [
            {
                "name": param.name,
                "in": param.location,
                "required": param.required,
                "description": param.description,
                "schema": param.schema,
            }
            for param in operation.params
        ]
    if operation.body is not None:
        document["requestBody"] = {
            "required": True,
            "content": {
                media_type: {"schema": _ref(operation.body.__name__)}
                for media_type in operation.body_media_types
            },
        }
    for status in _error_statuses(operation):
        document["responses"][str(status)] = {
            "description": ERROR_DESCRIPTIONS[status],
            "content": {"application/json": {"schema": _ref("Error")}},
        }
    return document


def openapi_document() -> dict[str, Any]:
    """The whole OpenAPI 3.1 document of the API."""
    paths: dict[str, dict[str, Any]] = {}
    for operation in OPERATIONS:
        paths.setdefault(operation.path, {})[operation.method.lower()] = _operation(operation)
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
            "schemas": {**COMPONENT_SCHEMAS, **_request_body_schemas()},
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
