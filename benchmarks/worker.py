"""One configuration of ``benchmarks.run``, in its own process: set up the
database and Redis, time each request through Django's WSGI handler, and
print the results as JSON on the last line of stdout.

Run by ``benchmarks.run``; ``BENCH_ENGINE`` etc. are read by
``benchmarks.settings``.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import importlib.util
import io
import json
import os
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")

Request = Callable[[], Any]
COUNTED = 20


def log(message: str) -> None:
    engine = os.environ.get("BENCH_ENGINE")
    print(f"  [{engine}] {message}", file=sys.stderr, flush=True)


def prepare_database() -> None:
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor == "sqlite":
        connection.close()
        Path(settings.DATABASES["default"]["NAME"]).unlink(missing_ok=True)
    elif connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    call_command("migrate", verbosity=0)
    if connection.vendor == "sqlite":
        # As the tutorial advises for production: the write-ahead log (kept
        # in the file), with SQLite's default synchronous=FULL, so every
        # commit is durable (one fsync of the log instead of the rollback
        # journal's several). BENCH_SQLITE_JOURNAL=delete measures the
        # rollback journal instead.
        mode = os.environ.get("BENCH_SQLITE_JOURNAL", "wal").lower()
        if mode not in ("wal", "delete", "truncate", "persist"):
            raise SystemExit(f"BENCH_SQLITE_JOURNAL={mode!r}: wal or delete")
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA journal_mode={mode}")


def flush_redis() -> None:
    from django_redis import get_redis_connection

    get_redis_connection("redis").flushdb()


def wsgi_environ(method: str, path: str, query: str = "") -> dict[str, Any]:
    """The WSGI environ of a request with an empty body, as a server makes it."""
    return {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SCRIPT_NAME": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "testserver",
        "HTTP_USER_AGENT": "benchmarks/1.0",
        "CONTENT_LENGTH": "0",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.url_scheme": "http",
    }


class Client:
    """Requests through ``WSGIHandler``, as a WSGI server would make them."""

    def __init__(self) -> None:
        from django.conf import settings
        from django.core.handlers.wsgi import WSGIHandler

        self.handler = WSGIHandler()
        self.cookie_name = settings.SESSION_COOKIE_NAME

    def get(self, path: str, cookie: str | None = None, query: str = "") -> Any:
        environ = wsgi_environ("GET", path, query)
        if cookie:
            environ["HTTP_COOKIE"] = f"{self.cookie_name}={cookie}"
        response = self.handler(environ, lambda status, headers: None)
        response.content  # noqa: B018 - read the body, as a server does
        response.close()  # fires request_finished
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}")
        return response

    def cookie(self, response: Any, default: str | None = None) -> str | None:
        morsel = response.cookies.get(self.cookie_name)
        return morsel.value if morsel is not None and morsel.value else default


def measure(
    request: Request,
    *,
    iterations: int,
    warmup: int,
    setup: Callable[[], Any] | None = None,
    profile: bool = False,
) -> dict[str, Any]:
    from benchmarks.counting import counting

    for _ in range(warmup):
        if setup:
            setup()
        request()
    sql = calls = commands = 0
    counted = min(COUNTED, iterations)
    for _ in range(counted):
        if setup:
            setup()
        with counting() as counts:
            request()
        sql += counts.sql
        calls += counts.redis_calls
        commands += counts.redis_commands
    samples = []
    profiler = cProfile.Profile() if profile else None
    gc.collect()
    for _ in range(iterations):
        if setup:
            setup()
        if profiler:
            profiler.enable()
        start = time.perf_counter_ns()
        request()
        samples.append(time.perf_counter_ns() - start)
        if profiler:
            profiler.disable()
    if profiler:
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats("tottime").print_stats(30)
        stats.sort_stats("cumulative").print_stats(
            os.environ.get("BENCH_PROFILE_FILTER", ""), 40
        )
    return {
        "median_us": statistics.median(samples) / 1000,
        "p90_us": statistics.quantiles(samples, n=10)[-1] / 1000
        if len(samples) > 1
        else samples[0] / 1000,
        "n": iterations,
        "sql": sql / counted,
        "redis_calls": calls / counted,
        "redis_commands": commands / counted,
    }


def stored_sessions(engine: Any) -> int:
    if engine.ours:
        from django_sessiontokens.services import get_store

        return get_store().count()
    if engine.store == "redis":
        from django_redis import get_redis_connection

        return int(get_redis_connection("redis").dbsize())
    from django.contrib.sessions.models import Session

    return int(Session.objects.count())


def top_up(engine: Any, total: int) -> None:
    """Bulk-load sessions of other users until ``total`` are stored."""
    from django.utils import timezone

    from benchmarks import data

    missing = total - stored_sessions(engine)
    if missing <= 0:
        return
    users = data.make_users(max(1, missing // 10), prefix=f"bulk{total}-")
    now = timezone.now()
    if not engine.ours:
        if engine.store == "redis":
            data.load_django_cache(missing, users, now)
        else:
            data.load_django_db(missing, users, now)
    elif engine.store == "redis":
        data.load_our_redis(missing, users, now)
    else:
        data.load_our_db(missing, users, now)


def add_user_sessions(engine: Any, user_id: int, count: int) -> None:
    """``count`` more sessions for one user (untimed setup for list/end)."""
    from django.conf import settings
    from django.utils import timezone

    from benchmarks import data

    if engine.ours:
        from django_sessiontokens.services import get_store

        store = get_store()
        for record in data.our_records(count, [user_id], timezone.now()):
            store.create(record)
        return
    module = importlib.import_module(settings.SESSION_ENGINE)
    for _ in range(count):
        session = module.SessionStore()
        session.update(data.user_data(user_id))
        session.create()


def run(args: argparse.Namespace) -> dict[str, Any]:
    import django

    from benchmarks.engines import BY_NAME

    engine = BY_NAME[os.environ["BENCH_ENGINE"]]
    if engine.ours and importlib.util.find_spec(engine.session_engine) is None:
        return {"unavailable": f"{engine.session_engine} does not exist yet"}
    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection

    prepare_database()
    if engine.uses_redis:
        flush_redis()
    user_model = get_user_model()
    reader = user_model.objects.create_user("reader", password="x")
    signer = user_model.objects.create_user("signer", password="x")
    owner = user_model.objects.create_user("owner", password="x")
    client = Client()
    results: dict[str, Any] = {"vendor": connection.vendor}
    options = {"iterations": args.iterations, "warmup": args.warmup}

    def profiled(name: str) -> bool:
        return args.profile == name

    if args.part in ("all", "requests"):
        cookie = client.cookie(client.get("/login/", query=f"uid={reader.pk}"))
        log("read")
        results["read"] = measure(
            lambda: client.get("/read/", cookie), profile=profiled("read"), **options
        )
        log("write")
        results["write"] = measure(
            lambda: client.get("/write/", cookie), profile=profiled("write"), **options
        )
        log("login")
        results["login"] = measure(
            lambda: client.get("/login/", query=f"uid={signer.pk}"),
            profile=profiled("login"),
            **options,
        )
    if args.part in ("all", "listing"):
        results.update(listing(args, engine, client, owner.pk))
    return results


def listing(
    args: argparse.Namespace, engine: Any, client: Client, owner: int
) -> dict[str, Any]:
    """List and end one user's sessions as the number stored grows."""
    results: dict[str, Any] = {}
    own = client.cookie(client.get("/login/", query=f"uid={owner}"))
    per_user = args.user_sessions - 1
    for size in args.sizes:
        log(f"loading {size} sessions")
        top_up(engine, size - per_user)
        add_user_sessions(engine, owner, per_user)  # the ones the last "end" ended
        results[f"stored@{size}"] = stored_sessions(engine)
        repeats = args.repeats if engine.ours else max(3, 30_000 // size)
        log(f"list and end at {size}")
        results[f"list@{size}"] = measure(
            lambda: client.get("/sessions/", own),
            iterations=repeats,
            warmup=1,
            profile=args.profile == f"list@{size}",
        )
        results[f"end@{size}"] = measure(
            lambda: client.get("/sessions/end/", own),
            setup=lambda: add_user_sessions(engine, owner, per_user),
            iterations=repeats,
            warmup=1,
            profile=args.profile == f"end@{size}",
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--sizes", type=lambda v: [int(x) for x in v.split(",") if x])
    parser.add_argument("--user-sessions", type=int, default=10)
    parser.add_argument("--part", choices=["all", "requests", "listing"], default="all")
    parser.add_argument("--profile", default="", help="cProfile one measure")
    args = parser.parse_args()
    args.sizes = args.sizes or [10_000, 100_000]
    print(json.dumps(run(args)))


if __name__ == "__main__":
    main()
