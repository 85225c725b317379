"""Purging expired sessions from a table just filled, beside Django's.

    python -m benchmarks.purge                        # PostgreSQL ("bench")
    python -m benchmarks.purge --database sqlite      # a SQLite file
    python -m benchmarks.purge --expired 20000 --live 20000 --rounds 1

Each configuration runs in its own process: it recreates the schema, loads
``--live`` live and ``--expired`` expired sessions of 10 users each
(``COPY`` on PostgreSQL, ``executemany`` on SQLite), then times one purge in
the process (Django's start-up is not counted): ours through
``services.purge_expired`` (the quiet purge, default batch size), Django's
and the peers' through their ``SessionStore.clear_expired()`` (what
``clearsessions`` runs: one ``DELETE ... WHERE expire_date < now``).

"fresh" means no statistics: autovacuum is switched off for the table
before it is filled and ``ANALYZE`` is not run (the planner sees a table it
knows nothing about, as right after a bulk load or a restore); "analyzed"
runs ``ANALYZE`` after loading. Each configuration runs ``--rounds`` times,
interleaved; the table shows the round with the median rate, and "ours /
this" compares medians.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import postgres
from benchmarks.engines import BY_NAME

PER_USER = 10
CONFIGS = ["ours-db", "django-db", "user-sessions", "qsessions"]
TARGET = 300_000
TABLES = {
    "ours-db": "sessiontokens_session",
    "django-db": "django_session",
    "user-sessions": "user_sessions_session",
    "qsessions": "qsessions_session",
}


def child(args: argparse.Namespace) -> dict[str, Any]:
    import importlib

    engine = BY_NAME[os.environ["BENCH_ENGINE"]]
    if importlib.util.find_spec(engine.installed_app) is None:
        return {"unavailable": f"{engine.installed_app} is not installed"}
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from benchmarks import data
    from benchmarks.worker import prepare_database

    prepare_database()
    table = TABLES[engine.name]
    postgresql = connection.vendor == "postgresql"
    if postgresql:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
    total = args.live + args.expired
    users = data.make_users(max(1, total // PER_USER))
    now = timezone.now()
    fraction = args.expired / total
    start = time.perf_counter()
    if engine.ours:
        data.load_our_db(total, users, now, expired=fraction)
    elif engine.peer:
        data.load_peer_db(table, total, users, now, expired=fraction)
    else:
        data.load_django_db(total, users, now, expired=fraction)
    loaded = time.perf_counter() - start
    if args.analyze:
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {table}")
    elif postgresql:
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [table])
            (reltuples,) = cursor.fetchone()
        if reltuples > 0:  # -1 (PostgreSQL 14+) or 0: never analyzed
            raise SystemExit(f"{table} has statistics ({reltuples} tuples)")

    # What "purgesessions --dry-run" reports: how many would be removed
    # (the second call: the first also pays for imports and caches).
    def count() -> int:
        if engine.ours:
            from django_sessiontokens import services

            return services.count_expired()
        with connection.cursor() as cursor:
            query = f"SELECT count(*) FROM {table} WHERE expire_date < %s"
            cursor.execute(query, [now])
            return int(cursor.fetchone()[0])

    count()
    start = time.perf_counter()
    counted = count()
    count_s = time.perf_counter() - start
    start = time.perf_counter()
    if engine.ours:
        from django_sessiontokens import services

        removed = sum(services.purge_expired())
    else:
        module = importlib.import_module(settings.SESSION_ENGINE)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {table}")
            (before,) = cursor.fetchone()
        module.SessionStore.clear_expired()
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {table}")
            (after,) = cursor.fetchone()
        removed = before - after
    seconds = time.perf_counter() - start
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")
        (left,) = cursor.fetchone()
    return {
        "removed": removed,
        "left": left,
        "seconds": seconds,
        "rate": removed / seconds,
        "load_s": loaded,
        "counted": counted,
        "count_ms": count_s * 1000,
    }


def run(name: str, args: argparse.Namespace, analyze: bool) -> dict[str, Any]:
    env = dict(
        os.environ, BENCH_ENGINE=name, DJANGO_SETTINGS_MODULE="benchmarks.settings"
    )
    env["BENCH_SQLITE"] = str(Path(tempfile.gettempdir()) / f"bench-purge-{name}.db")
    env.pop("DATABASE_URL", None)
    if args.database == "postgres":
        env["DATABASE_URL"] = postgres.database_url()
    command = [
        sys.executable,
        "-m",
        "benchmarks.purge",
        "--child",
        f"--live={args.live}",
        f"--expired={args.expired}",
        *(["--analyze"] if analyze else []),
    ]
    done = subprocess.run(command, env=env, stdout=subprocess.PIPE, check=False)
    if done.returncode != 0:
        return {"failed": f"exit status {done.returncode}"}
    result: dict[str, Any] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return result


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The round with the median rate, with every round's rate kept."""
    measured = sorted((r for r in runs if "rate" in r), key=lambda r: r["rate"])
    if not measured:
        return runs[0]
    found = dict(measured[(len(measured) - 1) // 2])
    found["rates"] = [r["rate"] for r in measured]
    return found


def report(results: dict[str, dict[str, Any]], args: argparse.Namespace) -> list[str]:
    lines = [
        "| engine | statistics | count expired ms | expired removed | left "
        "| purge s | rows/s | rounds' rows/s | ours / this |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for key, found in results.items():
        name, stats = key.split(" ")
        if "removed" not in found:
            reason = found.get("unavailable") or found.get("failed")
            lines.append(f"| {name} | {stats} | not measured: {reason} | | | | | | |")
            continue
        ours = results.get(f"ours-db {stats}", {})
        ratio = ""
        if "rate" in ours and name != "ours-db":
            ratio = f"{ours['rate'] / found['rate']:.2f}x"
        lines.append(
            f"| {name} | {stats} | {found['count_ms']:,.1f} "
            f"| {found['removed']:,} | {found['left']:,} "
            f"| {found['seconds']:.3f} | {found['rate']:,.0f} "
            f"| {', '.join(f'{r / 1000:,.0f}k' for r in found.get('rates', []))} "
            f"| {ratio} |"
        )
    if args.database == "postgres":
        lines.append("")
        for stats in ("fresh", "analyzed"):
            found = results.get(f"ours-db {stats}", {})
            if "rate" in found:
                verdict = "met" if found["rate"] >= TARGET else "MISSED"
                lines.append(
                    f"- purge ours-db, {stats}: {found['rate']:,.0f} rows/s "
                    f"(target >= {TARGET:,}): {verdict}"
                )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database", choices=["sqlite", "postgres"], default="postgres"
    )
    parser.add_argument("--live", type=int, default=100_000)
    parser.add_argument("--expired", type=int, default=100_000)
    parser.add_argument("--engines", nargs="+", default=CONFIGS)
    parser.add_argument(
        "--statistics",
        nargs="+",
        default=["fresh", "analyzed"],
        choices=["fresh", "analyzed"],
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="runs of each, interleaved (median)"
    )
    parser.add_argument("--json", help="also write the raw results here")
    parser.add_argument("--analyze", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args)))
        return
    started = time.strftime("%Y-%m-%d %H:%M")
    runs: dict[str, list[dict[str, Any]]] = {}
    for round_ in range(args.rounds):
        for stats in args.statistics:
            for name in args.engines:
                print(
                    f"round {round_ + 1}: {name}, {stats}", file=sys.stderr, flush=True
                )
                found = run(name, args, analyze=stats == "analyzed")
                runs.setdefault(f"{name} {stats}", []).append(found)
    results = {key: median_run(found) for key, found in runs.items()}
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    print(
        f"\n{started}, {args.database}, {args.expired:,} expired among "
        f"{args.live + args.expired:,} sessions, table just filled, median of "
        f"{args.rounds} interleaved round(s)\n"
    )
    print("\n".join(report(results, args)))


if __name__ == "__main__":
    main()
