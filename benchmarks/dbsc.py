"""What a device-bound session costs, request by request.

    python -m benchmarks.dbsc                        # SQLite file, Redis db 10
    python -m benchmarks.dbsc --database postgres    # DATABASE_URL or local "bench"

On each store: Django's engine (the read page of ``benchmarks.run``), ours
with ``SESSIONTOKENS_DBSC`` off, and ours with it on, where the same read
page is measured for a session whose browser did not register (unbound) and
for one that did (bound: its bound cookie is checked), and the refresh that
renews the bound cookie (a proof verified, a new cookie and challenge).
Each configuration runs in its own process (``benchmarks.dbsc_worker``),
``--rounds`` times, interleaved; ratios are medians of the per-round ratios
(``benchmarks.run.ratio``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks import postgres
from benchmarks.run import _redis, ratio, results_of

STORES = {"db": "db", "redis": "cache", "cached_db": "cached_db"}
#: Django's engine, ours with DBSC off, ours with DBSC on.
CONFIGS = ["django", "off", "on"]
#: (label, configuration, measure), per store.
ROWS = [
    ("Django, read", "django", "unbound"),
    ("ours, DBSC off, read", "off", "unbound"),
    ("ours, DBSC on, read unbound", "on", "unbound"),
    ("ours, DBSC on, read bound", "on", "bound"),
    ("ours, DBSC on, refresh", "on", "refresh"),
]


def engine_name(store: str, config: str) -> str:
    return f"django-{STORES[store]}" if config == "django" else f"ours-{store}"


def worker(store: str, config: str, args: argparse.Namespace) -> dict[str, Any]:
    name = engine_name(store, config)
    env = dict(os.environ, BENCH_ENGINE=name, BENCH_REDIS_URL=args.redis_url)
    env["BENCH_DBSC"] = "1" if config == "on" else "0"
    env["BENCH_SQLITE"] = str(Path(tempfile.gettempdir()) / f"bench-dbsc-{name}.db")
    if args.database == "postgres":
        env["DATABASE_URL"] = postgres.database_url()
    else:
        env.pop("DATABASE_URL", None)
    command = [
        sys.executable,
        "-m",
        "benchmarks.dbsc_worker",
        f"--iterations={args.iterations}",
        f"--warmup={args.warmup}",
    ]
    done = subprocess.run(command, env=env, stdout=subprocess.PIPE, check=False)
    if done.returncode != 0:
        return {"failed": f"exit status {done.returncode}"}
    found: dict[str, Any] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return found


def collect(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """``{"<store> <config>": {measure: row}}``, each row the round with the
    median time, with every round's median under ``rounds_us``."""
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {}
    failed: dict[str, dict[str, Any]] = {}
    for round_ in range(args.rounds):
        for store in args.stores:
            for config in CONFIGS:
                key = f"{store} {config}"
                print(f"round {round_ + 1}: {key}", file=sys.stderr, flush=True)
                found = worker(store, config, args)
                if "failed" in found:
                    failed[key] = found
                    continue
                for measure, row in found.items():
                    if isinstance(row, dict):
                        runs.setdefault(key, {}).setdefault(measure, []).append(row)
    results: dict[str, dict[str, Any]] = dict(failed)
    for key, measures in runs.items():
        for measure, rows in measures.items():
            ordered = sorted(rows, key=lambda row: row["median_us"])
            row = dict(ordered[(len(ordered) - 1) // 2])
            row["rounds_us"] = [r["median_us"] for r in rows]
            results.setdefault(key, {})[measure] = row
    return results


def table(results: dict[str, dict[str, Any]], stores: list[str]) -> list[str]:
    """Each request's ratios to Django's read, to ours with DBSC off and to
    the same read unbound (DBSC on, no key registered)."""
    lines = [
        "| store | request | median µs | SQL | Redis calls (cmds) "
        "| / Django's read | / DBSC off | / unbound |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for store in stores:
        bases = {
            "django": results.get(f"{store} django", {}).get("unbound"),
            "off": results.get(f"{store} off", {}).get("unbound"),
            "unbound": results.get(f"{store} on", {}).get("unbound"),
        }
        for label, config, measure in ROWS:
            found = results.get(f"{store} {config}", {})
            if "failed" in found:
                lines.append(f"| {store} | {label} | not measured: {found['failed']} |")
                continue
            row = found.get(measure)
            if row is None:
                continue
            shown = []
            for base, applies in [
                ("django", config != "django"),
                ("off", config == "on"),
                ("unbound", measure in ("bound", "refresh")),
            ]:
                other = bases[base]
                shown.append(f"{ratio(row, other):.3g}x" if applies and other else "")
            lines.append(
                f"| {store} | {label} | {row['median_us']:,.0f} | {row['sql']:.3g} "
                f"| {_redis(row)} | {' | '.join(shown)} |"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/10")
    parser.add_argument("--stores", nargs="+", default=list(STORES), choices=STORES)
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", help="also write the raw results here")
    parser.add_argument("--from-json", help="print the table of saved results")
    args = parser.parse_args()
    results = results_of(args, collect)
    print("\n".join(table(results, args.stores)))
    medians = [
        ratio(results[f"{s} on"]["bound"], results[f"{s} on"]["unbound"])
        for s in args.stores
        if "bound" in results.get(f"{s} on", {})
    ]
    if medians:
        print(
            f"\nbound / unbound read, median over the stores: "
            f"{statistics.median(medians):.3g}x"
        )


if __name__ == "__main__":
    main()
