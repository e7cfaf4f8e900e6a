"""``UltraMsgClient``: the ``ChatSource`` and ``MessageChannel`` ports over UltraMsg's
HTTP API (httpx).

A read (chats, status, a chat's history) is a few HTTP attempts at most.
Connect errors, timeouts, HTTP 5xx and 429 are retried with exponential backoff
and jitter (429's ``Retry-After`` is honoured) until ``max_attempts`` or
``max_total_seconds`` runs out; then ``UpstreamUnavailable``. UltraMsg's error
bodies (``{"error": ...}``, often with HTTP 200), 404 and other 4xx are
``UpstreamRejected`` at once, and an answer that is not a JSON array is
``UpstreamBadResponse``. The chat list is decoded while it arrives
(``ChatStream``): a million chats' body is never in memory whole.

A send (``send_text``) is one attempt, never repeated: once UltraMsg may have
the message, only the person decides to send it again (docs/ultramsg.md,
"Messages"); its token travels in the form body.

The token of a read travels in the query string, so every URL is redacted
before it goes into a message or a log line; httpx's exceptions (which carry the
URL) are turned into ours outside their ``except`` blocks, so no ``__cause__``
or ``__context__`` holds them either.
"""

from __future__ import annotations

import enum
import functools
import logging
import random
import ssl
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import NamedTuple, NoReturn

import httpx

from wa_manager.adapters.ultramsg.chat_stream import BodyBuffer, ChatStream
from wa_manager.adapters.ultramsg.parsing import (
    account_status,
    error_in_body,
    parse_messages,
    preview,
    send_receipt,
)
from wa_manager.config import Secret
from wa_manager.domain.errors import (
    ConfigError,
    UpstreamBadResponse,
    UpstreamError,
    UpstreamRejected,
    UpstreamUnavailable,
)
from wa_manager.domain.model import ChatList, RawMessage, SendReceipt
from wa_manager.redaction import redact, redact_logs

logger = logging.getLogger("wa_manager.ultramsg")
logger.addHandler(logging.NullHandler())

_MAYBE_QUEUED = "UltraMsg may have queued the message: check the chat before sending it again"
BASE_DELAY_SECONDS = 0.5
MAX_DELAY_SECONDS = 8.0
MAX_BODY_BYTES = 1 << 30


class _Cause(enum.Enum):
    """What an UltraMsg error text is about, and so what the user should do."""

    TOKEN = "token"  # noqa: S105 - the kind of error, not a secret
    INSTANCE = "instance"
    STOPPED = "stopped"
    OTHER = "other"

    @property
    def is_permanent(self) -> bool:
        """True for errors that retrying cannot fix."""
        return self is not _Cause.OTHER


def _cause_of(error_text: str) -> _Cause:
    text = error_text.lower()
    if any(word in text for word in ("payment", "stopped", "renew", "expired", "subscription")):
        return _Cause.STOPPED
    if "token" in text:
        return _Cause.TOKEN
    if "instance" in text:
        return _Cause.INSTANCE
    return _Cause.OTHER


class _Read(NamedTuple):
    """What one GET asks for: the URL, its query, and where its body goes."""

    url: str
    query: dict[str, str] | None
    buffer_for: Callable[[int], BodyBuffer]


class _Retry(Exception):
    """Internal: this attempt failed in a way worth another try."""

    def __init__(self, reason: str, wait: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.wait = wait


class UltraMsgClient:
    """Reads an UltraMsg instance's chats (the ``ChatSource`` port) and its status, and
    fetches and sends messages (the ``MessageChannel`` port)."""

    def __init__(
        self,
        *,
        base_url: str,
        instance_id: str,
        token: Secret,
        timeout: float = 30,
        max_attempts: int = 4,
        max_total_seconds: float = 60,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        hints: tuple[str, str] = ("ULTRAMSG_INSTANCE_ID", "ULTRAMSG_TOKEN"),
    ) -> None:
        """``hints``: where the user sets the instance id and the token, for error
        messages (a stored number's token is set with ``instances set-token``)."""
        self._id_hint, self._token_hint = hints
        self.base_url = base_url.rstrip("/")
        if not self.base_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"ULTRAMSG_BASE_URL={redact(base_url, token.get())!r} is not an http(s) URL; "
                "use e.g. https://api.ultramsg.com"
            )
        if not instance_id or "/" in instance_id or "?" in instance_id:
            raise ConfigError(
                f"ULTRAMSG_INSTANCE_ID={instance_id!r} is not an instance id; "
                "use the one from your UltraMsg dashboard, e.g. instance12345"
            )
        if max_attempts < 1 or max_total_seconds <= 0 or timeout <= 0:
            raise ValueError("max_attempts, max_total_seconds and timeout must be positive")
        self.instance_id = instance_id
        self._token = token
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.max_total_seconds = max_total_seconds
        self._transport = transport
        self._sleep = sleep
        self._clock = clock
        redact_logs([token.get()])

    def __repr__(self) -> str:
        return (
            f"UltraMsgClient(base_url={self._redact(self.base_url)!r}, "
            f"instance_id={self.instance_id!r}, token=***)"
        )

    # -- chats and status -------------------------------------------------------

    def fetch_chats(self) -> ChatList:
        """Every chat of the instance, in UltraMsg's order; raises ``UpstreamError``."""
        status, body = self._get("chats", buffer_for=_chat_buffer)
        self._raise_for_answer(status, body.pending)
        assert isinstance(body, ChatStream)  # a 2xx answer (the others raised)
        chats: ChatList | None = None
        try:
            chats = body.finish()
        except UpstreamBadResponse as error:
            problem = error.message
        if chats is None:
            self._fail(UpstreamBadResponse, problem)
        return chats

    def instance_status(self) -> str:
        """The instance's account status: "authenticated", "qr", "standby", "loading"..."""
        status, buffer = self._get("instance/status")
        body = buffer.pending
        self._raise_for_answer(status, body)
        state = account_status(body)
        if state is None:
            self._fail(
                UpstreamBadResponse,
                f"UltraMsg's instance status answer has no status.accountStatus.status "
                f"({len(body)} bytes, starting {preview(body)}); check ULTRAMSG_BASE_URL",
            )
        return state

    # -- messages -------------------------------------------------------------------

    def fetch_messages(self, chat_id: str, limit: int) -> list[RawMessage]:
        """The chat's latest ``limit`` messages (``chats/messages``), retried like the
        chat list; raises ``UpstreamError``."""
        status, buffer = self._get("chats/messages", {"chatId": chat_id, "limit": str(limit)})
        body = buffer.pending
        self._raise_for_answer(status, body)
        messages: list[RawMessage] | None = None
        try:
            messages = parse_messages(body, chat_id)
        except UpstreamBadResponse as error:
            problem = error.message
        if messages is None:
            self._fail(UpstreamBadResponse, problem)
        return messages

    def send_text(self, chat_id: str, body: str, reference_id: str) -> SendReceipt:
        """Hand ``body`` to UltraMsg for ``chat_id`` (``messages/chat``), tagged with our
        ``reference_id``. One attempt, never repeated: once the request may have reached
        UltraMsg, only the person may decide to send again."""
        url = f"{self.base_url}/{self.instance_id}/messages/chat"
        form = {
            "token": self._token.get(),
            "to": chat_id,
            "body": body,
            "referenceId": reference_id,
        }
        where = f"UltraMsg at {self._redact(self.base_url)}"
        problem: str | None = None
        status, answer = 0, b""
        try:
            with self._client() as client:
                response = client.post(url, data=form, timeout=self.timeout)
                status, answer = response.status_code, response.content
        except (httpx.ConnectError, httpx.ConnectTimeout) as error:
            problem = f"could not reach {where} ({self._describe(error)}); the message was not sent"
        except httpx.TimeoutException:
            problem = f"{where} did not answer in time; {_MAYBE_QUEUED}"
        except httpx.HTTPError as error:
            problem = f"the connection to {where} failed ({self._describe(error)}); {_MAYBE_QUEUED}"
        if problem is not None:
            self._fail(UpstreamUnavailable, problem)
        if (status == 429 or status >= 500) and error_in_body(answer) is None:
            self._fail(UpstreamUnavailable, f"{where} failed (HTTP {status}); {_MAYBE_QUEUED}")
        self._raise_for_answer(status, bytearray(answer))
        receipt = send_receipt(answer)
        if isinstance(receipt, str):
            kind = UpstreamRejected if receipt.startswith("not sent") else UpstreamBadResponse
            self._fail(kind, f"UltraMsg did not accept the message: {receipt}")
        return receipt

    # -- HTTP with retries ------------------------------------------------------

    def _client(self) -> httpx.Client:
        return httpx.Client(
            transport=self._transport,
            verify=_tls_context(),
            follow_redirects=False,
            headers={"Accept": "application/json", "User-Agent": "wa-manager"},
        )

    def _get(
        self,
        path: str,
        query: dict[str, str] | None = None,
        *,
        buffer_for: Callable[[int], BodyBuffer] = lambda _status: BodyBuffer(),
    ) -> tuple[int, BodyBuffer]:
        """The status and body of the first answer that is not worth retrying; the
        body goes into ``buffer_for(status)`` as it arrives."""
        url = f"{self.base_url}/{self.instance_id}/{path}"
        read = _Read(url, query, buffer_for)
        shown = f"GET {self._redact(url)}"
        started = self._clock()
        deadline = started + self.max_total_seconds
        attempt = 0
        with self._client() as client:
            while True:
                attempt += 1
                request_timeout = min(self.timeout, max(deadline - self._clock(), 0.001))
                try:
                    return self._attempt(client, read, request_timeout)
                except _Retry as retry:
                    reason, asked_wait = retry.reason, retry.wait
                wait = self._backoff(attempt) if asked_wait is None else asked_wait
                remaining = deadline - self._clock()
                if attempt >= self.max_attempts or wait >= remaining:
                    self._give_up(shown, attempt, reason, asked_wait)
                logger.warning(
                    "%s failed (%s); attempt %d of %d, retrying in %.1f s",
                    shown,
                    reason,
                    attempt,
                    self.max_attempts,
                    wait,
                )
                self._sleep(wait)

    def _attempt(self, client: httpx.Client, read: _Read, timeout: float) -> tuple[int, BodyBuffer]:
        """One request; raises ``_Retry`` for a transient failure."""
        transient: str | None = None
        unusable: str | None = None
        try:
            status, retry_after, body = self._request(client, read, timeout)
        except httpx.TimeoutException:
            transient = "timed out"
        except (httpx.NetworkError, httpx.RemoteProtocolError) as error:
            transient = self._describe(error)
        except httpx.HTTPError as error:
            unusable = self._describe(error)
        if unusable is not None:
            self._fail(
                UpstreamUnavailable,
                f"could not send the request to UltraMsg at {self._redact(self.base_url)}: "
                f"{unusable}; check ULTRAMSG_BASE_URL",
            )
        if transient is not None:
            raise _Retry(transient)
        if status == 429 or status >= 500:
            error_text = error_in_body(body.pending)
            if error_text is None or not _cause_of(error_text).is_permanent:
                raise _Retry(f"HTTP {status}", _retry_after_seconds(retry_after))
        return status, body

    def _request(
        self, client: httpx.Client, read: _Read, timeout: float
    ) -> tuple[int, str | None, BodyBuffer]:
        """Status, ``Retry-After`` and the body, fed to ``read.buffer_for(status)`` as it
        arrives."""
        params = {"token": self._token.get(), **(read.query or {})}
        with client.stream("GET", read.url, params=params, timeout=timeout) as response:
            body = read.buffer_for(response.status_code)
            for chunk in response.iter_bytes():
                body.feed(chunk)
                if body.size > MAX_BODY_BYTES:
                    self._fail(
                        UpstreamBadResponse,
                        f"UltraMsg's answer is larger than {MAX_BODY_BYTES >> 20} MiB; "
                        "check ULTRAMSG_BASE_URL points at the UltraMsg API",
                    )
            return response.status_code, response.headers.get("Retry-After"), body

    def _describe(self, error: httpx.HTTPError) -> str:
        """A short, redacted description of an httpx error (never its URL's token)."""
        text = str(error).strip()
        first_line = text.splitlines()[0] if text else ""
        return self._redact(first_line or type(error).__name__)

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with "equal jitter": between half and all of the step."""
        step = min(BASE_DELAY_SECONDS * 2.0 ** (attempt - 1), MAX_DELAY_SECONDS)
        return step / 2 + random.uniform(0, step / 2)

    def _give_up(
        self, shown: str, attempts: int, reason: str, asked_wait: float | None
    ) -> NoReturn:
        where = f"UltraMsg at {self._redact(self.base_url)}"
        budget = f"{self.max_total_seconds:g} s"
        if asked_wait is not None and attempts < self.max_attempts:
            message = (
                f"{where} is overloaded ({reason}) and asked to wait {asked_wait:g} s, "
                f"longer than the {budget} allowed for retries; try again later"
            )
        elif reason.startswith("HTTP "):
            message = (
                f"{where} kept failing ({reason}) after {_attempts(attempts)}; try again later"
            )
        else:
            within = f" within {budget}" if attempts < self.max_attempts else ""
            message = (
                f"could not reach {where} after {_attempts(attempts)}{within}: {reason}; "
                "check the network or ULTRAMSG_BASE_URL"
            )
        logger.error("%s failed: %s", shown, message)
        self._fail(UpstreamUnavailable, message)

    # -- answers ----------------------------------------------------------------

    def _raise_for_answer(self, status: int, body: bytearray) -> None:
        """Raise for an UltraMsg error body, a 4xx or a redirect; return for a 2xx."""
        error_text = error_in_body(body)
        if error_text is not None:
            self._fail(UpstreamRejected, self._explain(error_text))
        if status == 404:
            self._fail(UpstreamRejected, self._explain("instance not found (HTTP 404)"))
        if status >= 400:
            self._fail(
                UpstreamRejected,
                f"UltraMsg refused the request with HTTP {status}; "
                f"check {self._id_hint} and {self._token_hint}",
            )
        if status >= 300:
            self._fail(
                UpstreamBadResponse,
                f"UltraMsg answered with a redirect (HTTP {status}); check ULTRAMSG_BASE_URL",
            )

    def _explain(self, error_text: str) -> str:
        """UltraMsg's own words, and what the user should do about them."""
        said = " ".join(self._redact(error_text).split())
        if len(said) > 200:
            said = said[:197] + "..."
        cause = _cause_of(error_text)
        if cause is _Cause.STOPPED:
            return (
                f"UltraMsg instance {self.instance_id} is stopped ({said}); "
                "renew the subscription in the UltraMsg dashboard"
            )
        if cause is _Cause.TOKEN:
            return f"UltraMsg rejected the token ({said}); check {self._token_hint}"
        if cause is _Cause.INSTANCE:
            return (
                f"UltraMsg does not know instance {self.instance_id} ({said}); "
                f"check {self._id_hint}"
            )
        return (
            f"UltraMsg answered with an error: {said}; check {self._id_hint} and {self._token_hint}"
        )

    def _redact(self, text: str) -> str:
        return redact(text, self._token.get())

    def _fail(self, kind: type[UpstreamError], message: str) -> NoReturn:
        """Raise ``kind`` with a redacted one-line message (and log it)."""
        message = self._redact(message)
        if kind is not UpstreamUnavailable:
            logger.error("UltraMsg instance %s: %s", self.instance_id, message)
        raise kind(message)


def _chat_buffer(status: int) -> BodyBuffer:
    """A 2xx chat list is decoded as it arrives; any other answer is read whole."""
    return ChatStream() if 200 <= status < 300 else BodyBuffer()


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """httpx's default verifying TLS context, built once per process: loading the CA
    bundle took ~30 ms of every sync when each request built its own."""
    return httpx.create_ssl_context()


def _attempts(count: int) -> str:
    return f"{count} attempt" if count == 1 else f"{count} attempts"


def _retry_after_seconds(header: str | None) -> float | None:
    """``Retry-After`` as seconds from now (a number or an HTTP date), None if absent or bad."""
    if not header:
        return None
    header = header.strip()
    try:
        seconds = float(header)
    except ValueError:
        try:
            when = parsedate_to_datetime(header)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        return None
    return max(seconds, 0.0)
