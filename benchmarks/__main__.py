"""``python -m benchmarks``: run the suite, print the report, save it and the plot.

Examples::

    python -m benchmarks                                  # the default run (make bench)
    python -m benchmarks --sizes 10000,100000,1000000 --backends sqlite
    python -m benchmarks --smoke --out /tmp/bench         # tiny sizes: checks it all runs
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from benchmarks.databases import BACKENDS
from benchmarks.plot import plot
from benchmarks.report import render
from benchmarks.runner import Options, run

HERE = Path(__file__).resolve().parent
DEFAULT_SIZES = "10000,100000,1000000"
SMOKE_SIZES = "200,600"


def _sizes(text: str) -> list[int]:
    try:
        sizes = sorted({int(part.replace("_", "")) for part in text.split(",") if part.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"sizes must be whole numbers like 10000,100000: {text!r}"
        ) from None
    if not sizes or sizes[0] < 100:
        raise argparse.ArgumentTypeError("give at least one size, each 100 or more")
    return sizes


def _backends(text: str) -> list[str]:
    backends = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [name for name in backends if name not in BACKENDS]
    if unknown or not backends:
        raise argparse.ArgumentTypeError(f"backends are {', '.join(BACKENDS)}; got {text!r}")
    return backends


def parser() -> argparse.ArgumentParser:
    """The command line."""
    cli = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    cli.add_argument("--sizes", type=_sizes, help=f"chat counts (default {DEFAULT_SIZES})")
    cli.add_argument(
        "--backends", type=_backends, default="sqlite,postgres", help="sqlite,postgres"
    )
    cli.add_argument(
        "--smoke", action="store_true", help=f"tiny run (sizes {SMOKE_SIZES}, few requests)"
    )
    cli.add_argument(
        "--out",
        type=Path,
        help="folder for results.md, results.json and sync_scaling.png "
        "(default: benchmarks/; none for --smoke)",
    )
    cli.add_argument(
        "--repeat", type=int, default=3, help="runs per initial sync, median (default 3)"
    )
    cli.add_argument(
        "--repeat-max", type=int, default=100_000, help="repeat only up to this N (default 100000)"
    )
    cli.add_argument(
        "--naive-max",
        type=int,
        default=10_000,
        help="run the naive peer up to this N, extrapolate above (default 10000)",
    )
    cli.add_argument("--requests", type=int, default=3000, help="HTTP requests per endpoint")
    return cli


def main(argv: list[str] | None = None) -> int:
    """Run, print the Markdown report, write the files."""
    args = parser().parse_args(argv)
    backends = args.backends if isinstance(args.backends, list) else _backends(args.backends)
    sizes = args.sizes or _sizes(SMOKE_SIZES if args.smoke else DEFAULT_SIZES)
    options = Options(
        sizes=sizes,
        backends=backends,
        repeat=1 if args.smoke else args.repeat,
        repeat_max_size=args.repeat_max,
        naive_max_size=args.naive_max,
        requests=40 if args.smoke else args.requests,
        listing_budget=0.2 if args.smoke else 2.0,
        links=20 if args.smoke else 1000,
        isolated=not args.smoke,
    )
    data = run(options)
    data["command"] = "python -m benchmarks " + " ".join(sys.argv[1:] if argv is None else argv)
    report = render(data)
    print(report)
    out = args.out if args.out is not None else (None if args.smoke else HERE)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "results.md").write_text(report, encoding="utf-8")
        (out / "results.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        plot(data, out / "sync_scaling.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
