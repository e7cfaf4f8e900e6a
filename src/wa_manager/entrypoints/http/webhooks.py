"""``POST /webhooks/ultramsg/{secret}``: UltraMsg's message events, as JSON or a form.

UltraMsg signs nothing, so the URL carries an unguessable secret: the environment
instance's ``WA_MANAGER_WEBHOOK_SECRET``, or a stored instance's own (its
``webhook_path``), which also says which instance the event belongs to; a wrong
secret, or none configured, is a 404
like any unknown path. Past that, every request gets a 2xx: UltraMsg retries a
webhook that fails, and retrying a malformed or uninteresting event helps no
one; what was done or why nothing was done is in the answer and in the log.

The secret is part of the path, so ``wa_manager.redaction`` hides it in every
log line (uvicorn's access log too) as ``/webhooks/ultramsg/***``.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from wa_manager.domain.errors import NotFound
from wa_manager.domain.model import WEBHOOK
from wa_manager.entrypoints.http.answers import answer
from wa_manager.entrypoints.http.auth import wa_app
from wa_manager.entrypoints.shapes import WebhookAnswer
from wa_manager.redaction import WEBHOOK_PREFIX
from wa_manager.services.webhooks import WebhookOutcome, payload_from_form

logger = logging.getLogger("wa_manager.webhooks")

WEBHOOK_PATH = WEBHOOK_PREFIX + "{secret}"
MAX_WEBHOOK_BYTES = 256 * 1024
FORM_TYPE = "application/x-www-form-urlencoded"


async def _instance_of(request: Request) -> str | None:
    """The instance the path's secret belongs to: None for the environment's
    (``WA_MANAGER_WEBHOOK_SECRET``, compared in constant time), else the stored instance
    whose ``webhook_path`` it is; 404 when it is neither."""
    app = wa_app(request)
    expected = app.settings.webhook_secret
    given = str(request.path_params.get("secret", ""))
    if expected is not None and hmac.compare_digest(given.encode(), expected.get().encode()):
        return None
    instance = await run_in_threadpool(app.instances.for_webhook, given)
    if instance is None:
        raise NotFound("no such resource; see /openapi.json for what there is")
    return instance


def decode_payload(body: bytes, content_type: str) -> Any:
    """The webhook body as a JSON-like value: JSON, or a form (``data[from]=…``) made
    into the JSON shape; None when it is neither."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    media_type = content_type.partition(";")[0].strip().lower()
    looks_like_json = text.lstrip().startswith(("{", "["))
    if media_type != FORM_TYPE and looks_like_json:
        try:
            return json.loads(text)
        except (ValueError, RecursionError):  # not JSON, or nested too deeply
            return None
    if media_type == FORM_TYPE or "=" in text:
        try:
            fields = parse_qsl(text, keep_blank_values=True, strict_parsing=True)
        except ValueError:
            return None
        return payload_from_form(fields)
    return None


async def ultramsg_webhook(request: Request) -> Response:
    """Apply one UltraMsg event: a new chat becomes a contact, a known one is touched."""
    instance = await _instance_of(request)
    body = await request.body()
    if len(body) > MAX_WEBHOOK_BYTES:
        payload = None
        logger.warning("webhook ignored: body of %d bytes is too large", len(body))
    else:
        payload = decode_payload(body, request.headers.get("content-type", ""))
    result = await run_in_threadpool(wa_app(request).webhooks.handle, WEBHOOK, payload, instance)
    if result.outcome is WebhookOutcome.IGNORED:
        logger.info("webhook ignored: %s", result.reason)
    else:
        logger.info(
            "webhook %s contact %s, message %s",
            result.outcome,
            result.wa_id,
            result.message or result.note or "-",
        )
    return answer(WebhookAnswer.of(result))


class UltraMsgMessage(msgspec.Struct):
    """The ``data`` of a message event (the fields wa-manager reads; others pass)."""

    from_: str = msgspec.field(name="from")
    to: str = ""
    pushname: str = ""
    fromMe: bool = False


class UltraMsgEvent(msgspec.Struct):
    """An UltraMsg webhook body, for ``/openapi.json`` only: any body gets a 2xx.

    Sent as JSON, or form-encoded with ``data`` as a JSON string or as
    bracketed keys (``data[from]=...``).
    """

    event_type: str
    data: UltraMsgMessage
    instanceId: str = ""
