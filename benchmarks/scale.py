"""A million sessions: purge throughput and memory, list and end one
user's sessions, and the admin list, at scale, beside the peers.

    python -m benchmarks.scale                       # 1,000,000 sessions
    python -m benchmarks.scale --sessions 200000     # a quicker run
    python -m benchmarks.scale --backends postgres user-sessions:postgres

For each backend (ours on PostgreSQL ``DATABASE_URL`` or the local "bench"
database, on a SQLite file and on a throwaway ``redis-server`` started on a
free port; then django-user-sessions and django-qsessions on PostgreSQL and
SQLite, ``benchmarks.peers``), a child process bulk-loads the sessions
(half of them expired), then at 100k and at the full count times listing
and ending one user's 10 sessions (ours through ``services``, audit and
signals included) and the admin list's page 1 and page 100 (ours through
``services.search_sessions``: a capped total and one page; the peers'
changelist queries: the filtered count, the full count and the page).
Then ``manage.py purgesessions`` (the peers: ``clearsessions``) runs in its
own process: its wall time gives rows/s and ``wait4`` its peak resident
memory.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks import postgres
from benchmarks.engines import BY_NAME

SQLITE_FILE = str(Path(tempfile.gettempdir()) / "bench-scale.db")
STAGE = 100_000
PER_USER = 10
#: The admin list: 100 a page; "deep" is page 100.
PAGE = 100
DEEP_OFFSET = 99 * PAGE
ADMIN_BUDGET_MS = 1000
TARGETS = {"postgres": 300_000, "sqlite": 100_000}
MAX_RSS_MIB = 100
LIST_TARGET_MS = 1.0
#: Ours on each store, then the peers ("name:database").
BACKENDS = [
    "postgres",
    "sqlite",
    "redis",
    "user-sessions:postgres",
    "user-sessions:sqlite",
    "qsessions:postgres",
    "qsessions:sqlite",
]


# Child: load and measure ----------------------------------------------------
def _timed(function: Any, repeats: int, setup: Any = None) -> float:
    """Median milliseconds of ``function()`` over ``repeats`` (after two
    warm-up calls)."""
    samples = []
    for n in range(repeats + 2):
        if setup:
            setup()
        start = time.perf_counter()
        function()
        if n >= 2:
            samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def _timed_bounded(function: Any, repeats: int, budget_s: float = 3.0) -> float:
    """``_timed``, but a call slower than ``budget_s`` is measured once (a
    listing that reads every session must not hold the run for minutes)."""
    start = time.perf_counter()
    function()
    once = time.perf_counter() - start
    if once * (repeats + 2) > budget_s * 10:
        return once * 1000
    return _timed(function, repeats)


def _admin_pages(
    search: Any, repeats: int, before: list[dict[str, Any]]
) -> dict[str, float]:
    """The admin list's first page and a deep one (page 100 of 100). Not
    measured again at a larger size when it took over ``ADMIN_BUDGET_MS``
    at a smaller one (it reads every session: the run would take minutes
    and say nothing new)."""
    if before and before[-1].get("admin_first_ms", 0) > ADMIN_BUDGET_MS:
        return {}
    return {
        "admin_first_ms": _timed_bounded(lambda: search(0), repeats),
        "admin_deep_ms": _timed_bounded(lambda: search(DEEP_OFFSET), repeats),
    }


def child(args: argparse.Namespace) -> dict[str, Any]:
    engine = BY_NAME[os.environ["BENCH_ENGINE"]]
    if engine.peer:
        from benchmarks.peers import peer_child

        return peer_child(args, engine)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from benchmarks import data
    from benchmarks.worker import prepare_database
    from django_sessiontokens import services

    prepare_database()
    store = services.get_store()
    redis = store.name == "redis"
    if redis:
        store.client().flushdb()
    owner = get_user_model().objects.create_user("owner", password="x")
    keep = next(data.our_records(1, [owner.pk], timezone.now()))
    store.create(keep)

    def add_own() -> None:
        for record in data.our_records(PER_USER - 1, [owner.pk], timezone.now()):
            store.create(record)

    add_own()
    results: dict[str, Any] = {"stages": []}
    loaded = PER_USER
    stages = sorted({min(STAGE, args.sessions), args.sessions})
    for total in stages:
        count = total - loaded
        start = time.perf_counter()
        users = data.make_users(max(1, count // PER_USER), prefix=f"s{total}-")
        now = timezone.now()
        if redis:
            data.load_our_redis(count, users, now, expired=0.5, min_ttl_ms=86_400_000)
        else:
            data.load_our_db(count, users, now, expired=0.5)
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE sessiontokens_session")
        load_s = time.perf_counter() - start
        loaded = total
        print(f"  loaded {total:,} in {load_s:.1f} s", file=sys.stderr, flush=True)
        listing = _timed(lambda: services.list_user_sessions(owner.pk), args.repeats)
        ending = _timed(
            lambda: services.end_user_sessions(owner.pk, except_=keep.public_id),
            args.repeats,
            setup=add_own,
        )
        stage = {"total": total, "load_s": load_s, "list_ms": listing, "end_ms": ending}
        stage.update(
            _admin_pages(
                lambda offset: services.search_sessions(offset=offset, limit=PAGE),
                args.repeats,
                results["stages"],
            )
        )
        results["stages"].append(stage)
    results["expired"] = services.count_expired()
    results["stored"] = store.count()
    return results


# Parent ------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def throwaway_redis() -> Iterator[str]:
    """A redis-server of our own, without persistence, stopped afterwards."""
    port = free_port()
    subprocess.run(
        [
            "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "yes",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(50):
            ping = subprocess.run(
                ["redis-cli", "-p", str(port), "ping"], capture_output=True, check=False
            )
            if ping.stdout.strip() == b"PONG":
                break
            time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        subprocess.run(
            ["redis-cli", "-p", str(port), "shutdown", "nosave"],
            capture_output=True,
            check=False,
        )


def run_measured(command: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run a child; its wall time, peak RSS (MiB, from wait4) and stdout."""
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE)
    assert process.stdout is not None
    output = process.stdout.read().decode()
    _pid, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode})")
    return {"wall_s": wall, "rss_mib": usage.ru_maxrss / 1024, "stdout": output}


def purge(env: dict[str, str], batch_size: int | None, expired: int) -> dict[str, Any]:
    if BY_NAME[env["BENCH_ENGINE"]].ours:
        command = [sys.executable, "-m", "django", "purgesessions", "--verbosity=1"]
        if batch_size:
            command.append(f"--batch-size={batch_size}")
    else:  # the peers: Django's clearsessions (their clear_expired)
        command = [sys.executable, "-m", "django", "clearsessions"]
    first = run_measured(command, env)
    found = re.search(r"Removed (\d+) expired", first["stdout"])
    removed = int(found.group(1)) if found else expired
    again = run_measured(command, env)  # nothing left: Django start-up + one query
    work = max(first["wall_s"] - again["wall_s"], 1e-9)
    return {
        "removed": removed,
        "wall_s": first["wall_s"],
        "rate": removed / first["wall_s"],
        "rate_net": removed / work,
        "rss_mib": first["rss_mib"],
        "again_s": again["wall_s"],
        "again": again["stdout"].strip().splitlines()[:1],
    }


def backend(name: str, args: argparse.Namespace, redis_url: str = "") -> dict[str, Any]:
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="benchmarks.settings")
    peer, _, database = name.rpartition(":")  # "user-sessions:postgres"
    env["BENCH_ENGINE"] = peer or ("ours-redis" if name == "redis" else "ours-db")
    env["BENCH_SQLITE"] = SQLITE_FILE
    env.pop("DATABASE_URL", None)
    if database == "postgres":
        env["DATABASE_URL"] = postgres.database_url()
    if redis_url:
        env["BENCH_REDIS_URL"] = redis_url
    print(f"{name}: loading and listing", file=sys.stderr, flush=True)
    command = [
        sys.executable,
        "-m",
        "benchmarks.scale",
        "--child",
        f"--sessions={args.sessions}",
        f"--repeats={args.repeats}",
    ]
    loaded = run_measured(command, env)
    result: dict[str, Any] = json.loads(loaded["stdout"].strip().splitlines()[-1])
    if "unavailable" in result:
        return result
    print(f"{name}: purging {result['expired']:,}", file=sys.stderr, flush=True)
    result["purge"] = purge(env, args.batch_size, result["expired"])
    return result


def _ms(stage: dict[str, Any], name: str) -> str:
    found = stage.get(name)
    return "not run (slow)" if found is None else f"{found:.1f}"


def report(results: dict[str, dict[str, Any]], args: argparse.Namespace) -> list[str]:
    measured = {k: v for k, v in results.items() if "stages" in v}
    lines = [
        "| backend | sessions | load s | list one user's ms | end one user's ms "
        "| admin list, page 1 ms | admin list, page 100 ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, found in measured.items():
        for stage in found["stages"]:
            lines.append(
                f"| {name} | {stage['total']:,} | {stage['load_s']:.1f} "
                f"| {stage['list_ms']:.3f} | {stage['end_ms']:.3f} "
                f"| {_ms(stage, 'admin_first_ms')} | {_ms(stage, 'admin_deep_ms')} |"
            )
    for name, found in results.items():
        if name not in measured:
            lines.append(f"| {name} | not measured: {found.get('unavailable')} |")
    results = measured
    lines += [
        "",
        "| backend | expired removed | purge wall s | rows/s | rows/s net of "
        "start-up | peak RSS MiB | second run s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, found in results.items():
        p = found["purge"]
        lines.append(
            f"| {name} | {p['removed']:,} | {p['wall_s']:.2f} | {p['rate']:,.0f} "
            f"| {p['rate_net']:,.0f} | {p['rss_mib']:.0f} | {p['again_s']:.2f} |"
        )
    lines.append("")
    for name, found in results.items():
        p = found["purge"]
        target = TARGETS.get(name)
        if target:
            verdict = "met" if p["rate"] >= target else "MISSED"
            lines.append(
                f"- purge {name}: {p['rate']:,.0f} rows/s (target >= {target:,}): "
                f"{verdict}"
            )
        verdict = "met" if p["rss_mib"] < MAX_RSS_MIB else "MISSED"
        lines.append(
            f"- purge {name}: peak RSS {p['rss_mib']:.0f} MiB "
            f"(target < {MAX_RSS_MIB}): {verdict}"
        )
        if name in ("postgres", "redis", "sqlite"):
            last = found["stages"][-1]
            verdict = "met" if last["list_ms"] < LIST_TARGET_MS else "MISSED"
            lines.append(
                f"- list {name} at {last['total']:,}: {last['list_ms']:.3f} ms "
                f"(target < {LIST_TARGET_MS} ms): {verdict}"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--backends", nargs="+", default=BACKENDS)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--json", help="also write the raw results here")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args)))
        return
    started = time.strftime("%Y-%m-%d %H:%M")
    results: dict[str, dict[str, Any]] = {}
    for name in args.backends:
        if name == "redis":
            with throwaway_redis() as url:
                results[name] = backend(name, args, url)
        else:
            results[name] = backend(name, args)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    batch = args.batch_size or "default"
    print(f"\n{started}, {args.sessions:,} sessions (half expired), batch {batch}\n")
    print("\n".join(report(results, args)))


if __name__ == "__main__":
    main()
