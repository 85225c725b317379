"""Our engines beside Django's, request by request.

    python -m benchmarks.run                        # SQLite file, Redis db 10
    python -m benchmarks.run --database postgres    # DATABASE_URL or local "bench"

Each configuration runs in its own process (``benchmarks.worker``) through
Django's WSGI handler with the session and authentication middleware. The
request measures run ``--rounds`` times, interleaved (a new process per
configuration and round; ours right after Django's counterpart). The table
shows each configuration's median over the rounds, and "ours / Django" is
the median of the per-round ratios, which cancels the machine's slower and
faster spells better than comparing two minima. Listing and ending one
user's sessions runs once, at each of ``--sizes`` sessions stored.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import postgres
from benchmarks.engines import BY_NAME, ENGINES, Engine

REQUESTS = ["read", "write", "login"]
#: (what, ours, Django's, the most ours may cost relative to Django's)
TARGETS = [
    ("read", "ours-redis", "django-cache", 1.0),
    ("write", "ours-redis", "django-cache", 0.9),
    ("read", "ours-db", "django-db", 1.0),
]
#: Listing stays flat: at 10x the sessions, at most this much slower.
FLAT = 1.3


def worker(engine: Engine, args: argparse.Namespace, part: str) -> dict[str, Any]:
    env = dict(os.environ, BENCH_ENGINE=engine.name, BENCH_REDIS_URL=args.redis_url)
    env["BENCH_SQLITE"] = str(Path(tempfile.gettempdir()) / f"bench-{engine.name}.db")
    if args.database == "postgres":
        env["DATABASE_URL"] = postgres.database_url()
    else:
        env.pop("DATABASE_URL", None)
    command = [
        sys.executable,
        "-m",
        "benchmarks.worker",
        f"--part={part}",
        f"--iterations={args.iterations}",
        f"--warmup={args.warmup}",
        f"--sizes={','.join(map(str, args.sizes))}",
    ]
    done = subprocess.run(command, env=env, stdout=subprocess.PIPE, check=False)
    if done.returncode != 0:
        return {"failed": f"exit status {done.returncode}"}
    result: dict[str, Any] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return result


def collect(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    engines = [BY_NAME[name] for name in args.engines]
    results: dict[str, dict[str, Any]] = {engine.name: {} for engine in engines}
    rounds: dict[str, dict[str, list[dict[str, Any]]]] = {
        engine.name: {} for engine in engines
    }
    for round_ in range(args.rounds):
        for engine in engines:
            print(f"round {round_ + 1}: {engine.name}", file=sys.stderr, flush=True)
            found = worker(engine, args, "requests")
            if "read" not in found:
                results[engine.name].update(found)
                continue
            for name in REQUESTS:
                rounds[engine.name].setdefault(name, []).append(found[name])
    for name, measures in rounds.items():
        for measure, runs in measures.items():
            # The round with the median time stands for the configuration;
            # every round's median is kept for the per-round ratios.
            ordered = sorted(runs, key=lambda run: run["median_us"])
            row = dict(ordered[(len(ordered) - 1) // 2])
            row["rounds_us"] = [run["median_us"] for run in runs]
            results[name][measure] = row
    if args.sizes:
        for engine in engines:
            if "unavailable" in results[engine.name]:
                continue
            print(f"listing: {engine.name}", file=sys.stderr, flush=True)
            results[engine.name].update(worker(engine, args, "listing"))
    return results


def _redis(row: dict[str, Any]) -> str:
    calls, commands = row["redis_calls"], row["redis_commands"]
    if not calls:
        return "-"
    return f"{calls:.3g}" if calls == commands else f"{calls:.3g} ({commands:.3g})"


def ratio(row: dict[str, Any], other: dict[str, Any]) -> float:
    """Ours / Django's: the median of the per-round ratios (a round runs
    the two back to back) when both have rounds, else of the medians."""
    ours, theirs = row.get("rounds_us"), other.get("rounds_us")
    if ours and theirs and len(ours) == len(theirs):
        return statistics.median(a / b for a, b in zip(ours, theirs, strict=True))
    return float(row["median_us"] / other["median_us"])


def table(results: dict[str, dict[str, Any]], sizes: list[int]) -> list[str]:
    measures = [
        *REQUESTS,
        *(f"{kind}@{size}" for size in sizes for kind in ("list", "end")),
    ]
    lines = [
        "| measure | engine | median µs | SQL | Redis calls (cmds) | ours / Django |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for measure in measures:
        for name, found in results.items():
            if "unavailable" in found or "failed" in found:
                continue
            row = found.get(measure)
            if row is None:
                continue
            engine = BY_NAME[name]
            other = results.get(engine.counterpart, {}).get(measure)
            shown = ""
            if engine.ours and other:
                shown = f"{ratio(row, other):.3g}x"
            label = measure.replace("@", " @ ")
            if not engine.ours and measure.split("@")[0] in ("list", "end"):
                name = f"{name} (scan + decode all)"
            lines.append(
                f"| {label} | {name} | {row['median_us']:,.0f} | {row['sql']:.3g} "
                f"| {_redis(row)} | {shown} |"
            )
    for name, found in results.items():
        if "unavailable" in found or "failed" in found:
            reason = found.get("unavailable") or found.get("failed")
            lines.append(f"| - | {name} | not measured: {reason} | | | |")
    return lines


def verdicts(results: dict[str, dict[str, Any]], sizes: list[int]) -> list[str]:
    lines = []
    for measure, ours, theirs, limit in TARGETS:
        a = results.get(ours, {}).get(measure)
        b = results.get(theirs, {}).get(measure)
        if not a or not b:
            lines.append(f"- {measure}: {ours} <= {limit}x {theirs}: not measured")
            continue
        found = ratio(a, b)
        verdict = "met" if found <= limit else "MISSED"
        lines.append(
            f"- {measure}: {ours} / {theirs} = {found:.2f}x "
            f"(target <= {limit}x): {verdict}"
        )
    if len(sizes) >= 2:
        small, large = sizes[0], sizes[-1]
        for engine in ENGINES:
            found = results.get(engine.name, {})
            if not engine.ours or f"list@{large}" not in found:
                continue
            growth = (
                found[f"list@{large}"]["median_us"]
                / found[f"list@{small}"]["median_us"]
            )
            verdict = "met" if growth <= FLAT else "MISSED"
            lines.append(
                f"- list, {engine.name}: {large:,} / {small:,} sessions stored = "
                f"{growth:.2f}x (flat: <= {FLAT}x): {verdict}"
            )
    return lines


def results_of(
    args: argparse.Namespace, collect: Callable[[argparse.Namespace], Any]
) -> Any:
    """``collect(args)`` (or the results saved by ``--from-json``), saved to
    ``--json`` if asked, after the line that says how they were measured."""
    started = time.strftime("%Y-%m-%d %H:%M")
    if args.from_json:
        results = json.loads(Path(args.from_json).read_text())
    else:
        results = collect(args)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    import django

    print(
        f"\n{started}, {args.database}, Python {platform.python_version()}, "
        f"Django {django.__version__}, "
        f"{args.rounds} round(s) of {args.iterations} requests per measure "
        f"(median of the rounds; ratios: median of the per-round ratios)\n"
    )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/10")
    parser.add_argument("--engines", nargs="+", default=[e.name for e in ENGINES])
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--sizes",
        type=lambda v: [int(x) for x in v.split(",") if x],
        default=[10_000, 100_000],
        help="sessions stored for list/end (comma-separated; empty to skip)",
    )
    parser.add_argument("--json", help="also write the raw results here")
    parser.add_argument("--from-json", help="print the table of saved results")
    args = parser.parse_args()
    results = results_of(args, collect)
    print("\n".join(table(results, args.sizes)))
    print()
    print("\n".join(verdicts(results, args.sizes)))


if __name__ == "__main__":
    main()
