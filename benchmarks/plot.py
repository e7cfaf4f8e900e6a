"""The PNG: initial sync time against N for ours, the limit and the naive peer, per backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.report import Results


def plot(data: dict[str, Any], path: Path) -> None:
    """Write a log-log plot of sync seconds vs N (extrapolated naive times dashed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = Results(data)
    figure, axes = plt.subplots(
        1, len(results.backends), figsize=(6 * len(results.backends), 4.5), squeeze=False
    )
    sizes = results.sizes
    for axis, backend in zip(axes[0], results.backends, strict=True):
        ours = [results.cell(backend, n)["ours"]["seconds"] for n in sizes]
        limit = [results.limit_seconds(backend, n) for n in sizes]
        naive = [results.naive_seconds(backend, n) for n in sizes]
        axis.plot(sizes, ours, "o-", label="ours (wa-manager sync)")
        axis.plot(sizes, limit, "s-", label="limit (raw DB-API)")
        measured = [(n, s) for n, (s, real) in zip(sizes, naive, strict=True) if real]
        if measured:
            axis.plot(*zip(*measured, strict=True), "^-", color="tab:red", label="naive ORM loop")
            last = max(n for n, _ in measured)
            guessed = [(n, s) for n, (s, _) in zip(sizes, naive, strict=True) if n >= last]
            if len(guessed) > 1:
                axis.plot(
                    *zip(*guessed, strict=True),
                    "^--",
                    color="tab:red",
                    alpha=0.5,
                    label="naive (extrapolated)",
                )
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("chats (N)")
        axis.set_ylabel("seconds")
        axis.set_title(f"Initial sync, {backend}")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend()
    figure.suptitle(f"wa-manager sync vs limit and naive peer ({data['machine']['date']})")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
