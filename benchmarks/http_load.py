"""HTTP throughput: one uvicorn worker under a bounded loopback load from another process.

``serve`` runs our HTTP app (``create_app``) on one uvicorn worker in a child
process; ``load`` runs the client in a second child process: a few keep-alive
connections sending a fixed number of GETs, as fast as answers come back. The
same server answers ``/api/conversations`` (an admin's first page, Bearer auth),
UltraMsg's webhook (``message_received`` events, each a new message to store) and
the trivial ``/healthz`` in the same run, so their ratios say what our listing and
our ingest cost over the framework's floor.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
WEBHOOK = "POST /webhooks/ultramsg/{secret}"  # message_received events, each a new message
ENDPOINTS = ("/healthz", "/api/conversations", WEBHOOK)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def running_server(url: str, base_url: str) -> Iterator[str]:
    """Our app on one uvicorn worker in a child process; yields its root URL."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.http_load", "serve", url, base_url, str(port)],
        cwd=ROOT,
    )
    root = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{root}/healthz", timeout=2).status_code == 200:
                    break
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the benchmark server did not start")
            time.sleep(0.2)
        yield root
    finally:
        server.terminate()
        server.wait(timeout=30)


def serve(url: str, base_url: str, port: str) -> None:
    """Child process: run the app until terminated."""
    import uvicorn

    from benchmarks.ours import settings
    from wa_manager import bootstrap
    from wa_manager.entrypoints.http.app import create_app

    app = bootstrap(settings(url, base_url))
    uvicorn.run(
        create_app(app, secret_key="bench-secret-key", close_on_shutdown=True),
        host="127.0.0.1",
        port=int(port),
        workers=1,
        log_level="warning",
        access_log=False,
    )


async def _connection(host: str, port: int, requests: list[bytes], statuses: Counter[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for request in requests:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            statuses[status] += 1
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


def _requests(root: str, path: str, token: str, count: int, offset: int) -> list[bytes]:
    """The raw HTTP/1.1 requests one connection sends: the same GET ``count`` times,
    or (``WEBHOOK``) ``count`` POSTs of distinct message events."""
    parsed = httpx.URL(root)
    host = f"Host: {parsed.host}:{parsed.port}\r\n"
    if path != WEBHOOK:
        request = (
            f"GET {path} HTTP/1.1\r\n{host}"
            f"Authorization: Bearer {token}\r\nAccept: application/json\r\n\r\n"
        ).encode()
        return [request] * count
    from benchmarks.messages import webhook_bodies
    from benchmarks.ours import WEBHOOK_SECRET

    head = f"POST /webhooks/ultramsg/{WEBHOOK_SECRET} HTTP/1.1\r\n{host}"
    return [
        f"{head}Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
        for body in webhook_bodies(count, offset)
    ]


async def _load(
    root: str, path: str, token: str, requests: int, connections: int, offset: int = 0
) -> dict[str, Any]:
    parsed = httpx.URL(root)
    statuses: Counter[int] = Counter()
    share = max(1, requests // connections)
    batches = [
        _requests(root, path, token, share, offset + index * share) for index in range(connections)
    ]
    started = time.perf_counter()
    await asyncio.gather(
        *(_connection(parsed.host, parsed.port or 80, batch, statuses) for batch in batches)
    )
    seconds = time.perf_counter() - started
    done = sum(statuses.values())
    return {
        "path": path,
        "requests": done,
        "seconds": seconds,
        "requests_per_second": done / seconds,
        "statuses": {str(code): count for code, count in statuses.items()},
    }


def load(
    root: str, path: str, token: str, requests: int, connections: int = 8, offset: int = 0
) -> dict[str, Any]:
    """Run the client in a second process; what it measured."""
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.http_load",
            "load",
            root,
            path,
            token,
            str(requests),
            str(connections),
            str(offset),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    result: dict[str, Any] = json.loads(completed.stdout)
    return result


def throughput(
    url: str,
    base_url: str,
    token: str,
    requests: int,
    warmup: int = 200,
    thread: dict[str, Any] | None = None,
    budget_seconds: float = 2.0,
) -> dict[str, dict[str, Any]]:
    """Requests/s of each of ``ENDPOINTS`` against one server, after a warm-up (webhooks:
    distinct messages, the warm-up's too); with ``thread`` (``prepare_messages``), also
    the thread page latencies, on the same server first."""
    from benchmarks.messages import thread_latency

    results: dict[str, dict[str, Any]] = {}
    with running_server(url, base_url) as root:
        if thread is not None:
            results["thread"] = thread_latency(root, token, thread, budget_seconds)
        for path in ENDPOINTS:
            load(root, path, token, warmup, offset=10**9)
            results[path] = load(root, path, token, requests)
    return results


def main(argv: list[str]) -> None:
    """``serve URL BASE_URL PORT`` or ``load ROOT PATH TOKEN REQUESTS CONNECTIONS``."""
    if argv[0] == "serve":
        serve(*argv[1:4])
        return
    root, path, token, requests, connections, offset = argv[1:7]
    result = _load(root, path, token, int(requests), int(connections), int(offset))
    print(json.dumps(asyncio.run(result)))


if __name__ == "__main__":
    main(sys.argv[1:])
