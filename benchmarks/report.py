"""The results as Markdown tables: each figure, each ratio, each goal met or missed.

Every section has one row per backend and size (scaling: per backend and
figure), so a smoke run shows the whole table shape. A naive-peer time above
``--naive-max`` is not measured but extrapolated linearly from the largest size
that was, and marked ``~`` (its per-row cost is one lookup and two flushes,
which does not shrink with N).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from benchmarks.http_load import WEBHOOK

SECTIONS = (
    "Initial sync",
    "End to end",
    "Re-sync",
    "Listing",
    "HTTP throughput",
    "Messages",
    "Memory",
    "Scaling",
    "Goals",
)
MB = 1024 * 1024


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return "\n".join(lines)


def _size(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


def _s(seconds: float) -> str:
    return f"{seconds:.3f}" if seconds < 10 else f"{seconds:.1f}"


def _x(ratio: float | None) -> str:
    return "–" if ratio is None else f"{ratio:.2f}×" if ratio < 10 else f"{ratio:.0f}×"


class Results:
    """Read access to one run's figures, with the ratios derived from them."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.sizes: list[int] = data["sizes"]
        self.backends: list[str] = data["backends"]

    def cell(self, backend: str, size: int) -> dict[str, Any]:
        """The figures of one backend and size."""
        cell: dict[str, Any] = self.data["cells"][f"{backend}/{size}"]
        return cell

    def cells(self) -> Iterator[tuple[str, int, dict[str, Any]]]:
        """(backend, size, figures), backend by backend, smallest size first."""
        for backend in self.backends:
            for size in self.sizes:
                yield backend, size, self.cell(backend, size)

    def ours_seconds(self, backend: str, size: int) -> float:
        """Our initial sync's time."""
        return float(self.cell(backend, size)["ours"]["seconds"])

    def limit_seconds(self, backend: str, size: int) -> float:
        """The faster of the limits (executemany; COPY on PostgreSQL)."""
        cell = self.cell(backend, size)
        return min(float(cell[name]["seconds"]) for name in ("limit", "limit_copy") if name in cell)

    def naive_seconds(self, backend: str, size: int) -> tuple[float, bool]:
        """The naive peer's time and whether it was measured (else extrapolated)."""
        cell = self.cell(backend, size)
        if "naive" in cell:
            return float(cell["naive"]["seconds"]), True
        measured = [n for n in self.sizes if "naive" in self.cell(backend, n)]
        if not measured:
            return float("nan"), False
        base = max(measured)
        return float(self.cell(backend, base)["naive"]["seconds"]) * size / base, False

    def cli_limit_seconds(self, backend: str, size: int) -> float:
        """The end-to-end goal's limit: json.loads + executemany (SQLite), COPY (PostgreSQL)."""
        cell = self.cell(backend, size)
        return float(cell["limit_json" if backend == "sqlite" else "limit_copy"]["seconds"])

    def cli_efficiency(self, backend: str, size: int) -> float:
        """That limit's time / the CLI's time, process start included."""
        return self.cli_limit_seconds(backend, size) / float(
            self.cell(backend, size)["cli"]["seconds"]
        )

    def efficiency(self, backend: str, size: int) -> float:
        """Limit time / our time: 1.0 is as fast as the limit."""
        return self.limit_seconds(backend, size) / self.ours_seconds(backend, size)

    def speedup(self, backend: str, size: int) -> float:
        """Naive time / our time."""
        return self.naive_seconds(backend, size)[0] / self.ours_seconds(backend, size)


def _rows_per_second(run: dict[str, Any]) -> str:
    rows = run["contacts"] + run["conversations"]
    return f"{rows / run['seconds']:,.0f}"


def initial_sync(results: Results) -> str:
    """Seconds, rows/s, efficiency against the limit, speed-up over naive."""
    rows = []
    for backend, size, cell in results.cells():
        naive, measured = results.naive_seconds(backend, size)
        copy = cell.get("limit_copy")
        rows.append(
            [
                backend,
                _size(size),
                _s(cell["ours"]["seconds"]),
                _rows_per_second(cell["ours"]),
                _s(cell["limit"]["seconds"]),
                _s(copy["seconds"]) if copy else "–",
                f"{results.efficiency(backend, size):.2f}",
                _s(naive) if measured else f"~{_s(naive)}",
                _x(results.speedup(backend, size))
                if measured
                else f"~{_x(results.speedup(backend, size))}",
            ]
        )
    header = [
        "backend",
        "N",
        "ours s",
        "ours rows/s",
        "limit s (executemany)",
        "limit s (COPY)",
        "efficiency (limit/ours)",
        "naive s",
        "speed-up over naive",
    ]
    return _table(header, rows)


def end_to_end(results: Results) -> str:
    """``wa-manager sync`` as a subprocess: initial and no-change re-sync, against the limit."""
    rows = []
    for backend, size, cell in results.cells():
        cli, again = cell["cli"], cell["cli_resync_same"]
        limit_name = "json.loads + executemany" if backend == "sqlite" else "COPY"
        rows.append(
            [
                backend,
                _size(size),
                _s(cli["seconds"]),
                _x(cli["seconds"] / cell["ours"]["seconds"]),
                f"{_s(results.cli_limit_seconds(backend, size))} ({limit_name})",
                f"{results.cli_efficiency(backend, size):.2f}",
                _s(again["seconds"]),
                f"{again['seconds'] / cli['seconds']:.0%}",
                f"{cli['cli_peak_rss_mb']:.0f}",
            ]
        )
    header = [
        "backend",
        "N",
        "CLI initial s",
        "CLI / in process",
        "limit s",
        "efficiency (limit/CLI)",
        "CLI no-change re-sync s",
        "of CLI initial",
        "CLI peak RSS MB",
    ]
    return _table(header, rows)


def resync(results: Results) -> str:
    """No-change and 1%-change re-syncs: time, share of the initial sync, rows written."""
    rows = []
    for backend, size, cell in results.cells():
        initial = cell["ours"]["seconds"]
        same, changed = cell["resync_same"], cell["resync_changed"]
        reordered = cell.get("resync_reordered")  # not in runs before 2026-12-06
        rows.append(
            [
                backend,
                _size(size),
                _s(initial),
                _s(same["seconds"]),
                f"{same['seconds'] / initial:.0%}",
                str(same["rows_written"]),
                "–" if reordered is None else _s(reordered["seconds"]),
                "–" if reordered is None else f"{reordered['seconds'] / initial:.0%}",
                "–" if reordered is None else str(reordered["rows_written"]),
                _s(changed["seconds"]),
                f"{changed['seconds'] / initial:.0%}",
                str(changed["rows_written"]),
                "{created_contacts} / {updated_contacts}".format(**changed["report"]),
            ]
        )
    header = [
        "backend",
        "N",
        "initial s",
        "no change s",
        "of initial",
        "rows written",
        "no change, reordered s",
        "of initial",
        "rows written",
        "1% new + 1% renamed s",
        "of initial",
        "rows written",
        "created / renamed",
    ]
    return _table(header, rows)


def _latency(figure: dict[str, float]) -> str:
    return f"{figure['median_ms']:.2f} / {figure['p99_ms']:.2f}"


def _member(page: dict[str, Any], case: str) -> str:
    """A number member's page (older result files have none: a dash)."""
    return _latency(page[case]) if case in page else "–"


def listing(results: Results) -> str:
    """Page latencies (median / p99 ms) and the ratios the goals name."""
    rows = []
    for backend, size, cell in results.cells():
        page = cell["listing"]
        admin_first = page["admin_first"]["median_ms"]
        rows.append(
            [
                backend,
                _size(size),
                _latency(page["admin_first"]),
                _latency(page["admin_deep"]),
                _latency(page["user_first"]),
                _latency(page["user_deep"]),
                _member(page, "member_first"),
                _member(page, "member_deep"),
                _x(page["admin_deep"]["median_ms"] / admin_first),
                _x(page["user_deep"]["median_ms"] / page["user_first"]["median_ms"]),
                _x(page["user_first"]["median_ms"] / admin_first),
            ]
        )
    header = [
        "backend",
        "N",
        "admin first",
        "admin deep",
        "user first",
        "user deep",
        "member first",
        "member deep",
        "deep / first (admin)",
        "deep / first (user)",
        "user / admin",
    ]
    return _table(header, rows)


def _failures(load: dict[str, Any]) -> int:
    return sum(count for status, count in load["statuses"].items() if status != "200")


def http(results: Results) -> str:
    """Requests/s of the conversations list next to the trivial endpoint."""
    rows = []
    for backend, size, cell in results.cells():
        trivial, listing_ = cell["http"]["/healthz"], cell["http"]["/api/conversations"]
        rows.append(
            [
                backend,
                _size(size),
                f"{trivial['requests_per_second']:,.0f}",
                f"{listing_['requests_per_second']:,.0f}",
                f"{listing_['requests_per_second'] / trivial['requests_per_second']:.0%}",
                str(listing_["requests"]),
                str(_failures(trivial) + _failures(listing_)),
            ]
        )
    header = [
        "backend",
        "N",
        "GET /healthz req/s",
        "GET /api/conversations req/s",
        "conversations / healthz",
        "requests",
        "non-200 answers",
    ]
    return _table(header, rows)


def memory(results: Results) -> str:
    """Peak RSS of each contender's process next to the payload's size."""
    rows = []
    for backend, size, cell in results.cells():
        payload = cell["payload_bytes"] / MB
        ours = cell["ours"]["peak_rss_mb"]
        naive = cell.get("naive")
        rows.append(
            [
                backend,
                _size(size),
                f"{payload:.1f}" if payload >= 1 else f"{payload:.3f}",
                f"{ours:.0f}",
                f"{ours / payload:.1f}×",
                f"{(ours - cell['ours']['rss_before_mb']) / payload:.1f}×",
                f"{cell['limit']['peak_rss_mb']:.0f}",
                f"{naive['peak_rss_mb']:.0f}" if naive else "–",
                f"{cell['ours']['rss_before_mb']:.0f}",
            ]
        )
    header = [
        "backend",
        "N",
        "payload MB",
        "ours peak RSS MB",
        "ours RSS / payload",
        "(RSS − interpreter) / payload",
        "limit peak RSS MB",
        "naive peak RSS MB",
        "interpreter + imports MB",
    ]
    return _table(header, rows)


def messages(results: Results) -> str:
    """A thread page at N stored messages, and webhook ingest next to /healthz."""
    rows = []
    for backend, size, cell in results.cells():
        thread, trivial = cell["http"]["thread"], cell["http"]["/healthz"]
        ingest = cell["http"][WEBHOOK]
        rows.append(
            [
                backend,
                _size(size),
                f"{thread['thread_messages']:,}",
                _latency(thread["first"]),
                _latency(thread["deep"]),
                _x(thread["deep"]["median_ms"] / thread["first"]["median_ms"]),
                f"{ingest['requests_per_second']:,.0f}",
                f"{ingest['requests_per_second'] / trivial['requests_per_second']:.0%}",
                str(_failures(ingest)),
            ]
        )
    header = [
        "backend",
        "N messages",
        "in the thread",
        "first page ms",
        "deep page (90%) ms",
        "deep / first",
        "POST webhook req/s",
        "webhook / healthz",
        "non-200 answers",
    ]
    return _table(header, rows)


_SCALED: dict[str, tuple[str, Callable[[dict[str, Any]], float]]] = {
    "initial sync (ours)": ("linear", lambda cell: cell["ours"]["seconds"]),
    "initial sync (limit)": ("linear", lambda cell: cell["limit"]["seconds"]),
    "no-change re-sync": ("linear", lambda cell: cell["resync_same"]["seconds"]),
    "admin first page": ("flat", lambda cell: cell["listing"]["admin_first"]["median_ms"]),
    "admin deep page": ("flat", lambda cell: cell["listing"]["admin_deep"]["median_ms"]),
    "user first page": ("flat", lambda cell: cell["listing"]["user_first"]["median_ms"]),
    "user deep page": ("flat", lambda cell: cell["listing"]["user_deep"]["median_ms"]),
    "GET /api/conversations req/s": (
        "flat",
        lambda cell: cell["http"]["/api/conversations"]["requests_per_second"],
    ),
    "thread first page": ("flat", lambda cell: cell["http"]["thread"]["first"]["median_ms"]),
    "thread deep page": ("flat", lambda cell: cell["http"]["thread"]["deep"]["median_ms"]),
    "POST webhook req/s": ("flat", lambda cell: cell["http"][WEBHOOK]["requests_per_second"]),
    "ours peak RSS": ("linear (above the interpreter)", lambda cell: cell["ours"]["peak_rss_mb"]),
}


def scaling(results: Results) -> str:
    """How each figure grows from one size to the next (the sizes' ratio is the linear growth)."""
    steps = list(zip(results.sizes, results.sizes[1:], strict=False))
    rows = []
    for backend in results.backends:
        for figure, (expected, value) in _SCALED.items():
            growth = [
                _x(value(results.cell(backend, big)) / value(results.cell(backend, small)))
                for small, big in steps
            ]
            rows.append([backend, figure, *growth, expected])
    header = ["backend", "figure", *(f"{_size(a)} → {_size(b)} (N ×{b / a:g})" for a, b in steps)]
    return _table([*header, "expected"], rows)


def _goal_rows(results: Results) -> Iterator[list[str]]:
    largest = results.sizes[-1]
    goal_sizes = [n for n in results.sizes if n >= 100_000] or [largest]
    for backend in results.backends:
        for size in goal_sizes:
            efficiency = results.efficiency(backend, size)
            yield [
                f"{backend} N={_size(size)}: sync efficiency ≥ 0.5",
                f"{efficiency:.2f}",
                _met(efficiency >= 0.5),
            ]
            cli = results.cli_efficiency(backend, size)
            yield [
                f"{backend} N={_size(size)}: end to end (CLI) efficiency ≥ 0.5",
                f"{cli:.2f}",
                _met(cli >= 0.5),
            ]
            speedup = results.speedup(backend, size)
            measured = results.naive_seconds(backend, size)[1]
            yield [
                f"{backend} N={_size(size)}: ≥ 20× the naive peer",
                _x(speedup) if measured else f"~{_x(speedup)} (naive extrapolated)",
                _met(speedup >= 20),
            ]
        for size in goal_sizes:
            cell = results.cell(backend, size)
            share = cell["resync_same"]["seconds"] / cell["ours"]["seconds"]
            written = cell["resync_same"]["rows_written"]
            yield [
                f"{backend} N={_size(size)}: no-change re-sync writes 0 rows, ≤ 20% of initial",
                f"{written} rows, {share:.0%}",
                _met(written == 0 and share <= 0.2),
            ]
            again = cell["cli_resync_same"]["seconds"] / cell["cli"]["seconds"]
            yield [
                f"{backend} N={_size(size)}: no-change re-sync through the CLI ≤ 20% of initial",
                f"{again:.0%}",
                _met(again <= 0.2),
            ]
        cell = results.cell(backend, largest)
        page = cell["listing"]
        deep = page["admin_deep"]["median_ms"] / page["admin_first"]["median_ms"]
        user_deep = page["user_deep"]["median_ms"] / page["user_first"]["median_ms"]
        user = page["user_first"]["median_ms"] / page["admin_first"]["median_ms"]
        label = f"{backend} N={_size(largest)}"
        yield [
            f"{label}: deep page within 2× of the first (admin, user)",
            f"{_x(deep)}, {_x(user_deep)}",
            _met(deep <= 2 and user_deep <= 2),
        ]
        yield [f"{label}: user with 1,000 links within 5× of admin", _x(user), _met(user <= 5)]
        trivial = cell["http"]["/healthz"]["requests_per_second"]
        ratio = cell["http"]["/api/conversations"]["requests_per_second"] / trivial
        yield [
            f"{label}: /api/conversations ≥ 10% of /healthz req/s",
            f"{ratio:.0%}",
            _met(ratio >= 0.1),
        ]
        thread = cell["http"]["thread"]
        ratio = thread["deep"]["median_ms"] / thread["first"]["median_ms"]
        yield [
            f"{label}: thread deep page (90%) within 2× of the first",
            _x(ratio),
            _met(ratio <= 2),
        ]
        ingest = cell["http"][WEBHOOK]["requests_per_second"] / trivial
        yield [
            f"{label}: POST webhook (message_received) ≥ 40% of /healthz req/s",
            f"{ingest:.0%}",
            _met(ingest >= 0.4),
        ]
        payload = cell["payload_bytes"] / MB
        rss = cell["ours"]["peak_rss_mb"] / payload
        cli_rss = cell["cli"]["cli_peak_rss_mb"] / payload
        yield [
            f"{label}: sync peak RSS ≤ 4× payload (in process, CLI)",
            f"{rss:.1f}×, {cli_rss:.1f}×",
            _met(rss <= 4 and cli_rss <= 4),
        ]


def _met(ok: bool) -> str:
    return "met" if ok else "**missed**"


def goals(results: Results) -> str:
    """Each goal of the issue at the sizes it names (or the largest run), met or missed."""
    return _table(["goal", "measured", ""], list(_goal_rows(results)))


def machine(results: Results) -> str:
    """One paragraph: where and when."""
    info = results.data["machine"]
    return (
        f"Measured {info['date']} on {info['cores']} cores ({info['cpu']}), "
        f"{info['memory_gib']} GiB RAM, Python {info['python']}, "
        f"{', '.join(info['databases'])}; {info['platform']}. Load average at start "
        f"{info['load_at_start']}, at end {info.get('load_at_end', '?')} (a shared machine)."
    )


def render(data: dict[str, Any]) -> str:
    """The whole report as Markdown."""
    results = Results(data)
    parts = [
        machine(results),
        "### Initial sync\n\n" + initial_sync(results),
        "### End to end (`wa-manager sync --json` as a subprocess, process start included)\n\n"
        + end_to_end(results),
        "### Re-sync\n\n" + resync(results),
        "### Listing (page of 50; median / p99 ms)\n\n" + listing(results),
        "### HTTP throughput (one uvicorn worker, loopback load from a second process)\n\n"
        + http(results),
        "### Messages (N stored messages; page of 50, median / p99 ms; webhook ingest)\n\n"
        + messages(results),
        "### Memory\n\n" + memory(results),
        "### Scaling (growth factor of each figure)\n\n" + scaling(results),
        "### Goals\n\n" + goals(results),
    ]
    return "\n\n".join(parts) + "\n"
