"""``benchmarks.scale``'s measures with django-user-sessions and
django-qsessions (installed by ``pip install -e .[bench]``), each with its
own queries: the user's valid sessions (their "your sessions" view), ended
with one ``delete()``, and their admin changelist's queries for valid
sessions (the filtered count, the full count, and the page)."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from benchmarks.scale import PAGE, PER_USER, STAGE, _admin_pages, _timed


def peer_child(args: argparse.Namespace, engine: Any) -> dict[str, Any]:
    """The same measures with django-user-sessions or django-qsessions
    (their own queries: the user's valid sessions, ended with one
    ``delete()``; the admin's changelist query for "valid" sessions)."""
    import importlib.util

    if importlib.util.find_spec(engine.installed_app) is None:
        return {"unavailable": f"{engine.installed_app} is not installed"}
    import django

    django.setup()
    from django.apps import apps
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from benchmarks import data
    from benchmarks.worker import prepare_database

    prepare_database()
    model: Any = apps.get_model(engine.app, "Session")
    table = model._meta.db_table
    qsessions = engine.app == "qsessions"
    # Their admin's order (django-user-sessions has none: the changelist's
    # default, -pk) and their "your sessions" order.
    ordering = "-expire_date" if qsessions else "-pk"
    owner = get_user_model().objects.create_user("owner", password="x")
    data.load_peer_db(table, 1, [owner.pk], timezone.now(), expired=0)
    keep = model.objects.get(user_id=owner.pk).pk

    def add_own() -> None:
        data.load_peer_db(table, PER_USER - 1, [owner.pk], timezone.now(), expired=0)

    def valid() -> Any:
        return model.objects.filter(expire_date__gt=timezone.now())

    def listing() -> list[Any]:
        found = valid().filter(user_id=owner.pk)
        if not qsessions:
            found = found.order_by("-last_activity")  # their SessionListView
        return list(found)

    def ending() -> None:
        valid().filter(user_id=owner.pk).exclude(pk=keep).delete()

    def admin(offset: int) -> Any:
        # The changelist: the filtered count, the full count, and the page.
        found = valid()
        page = found.select_related("user").order_by(ordering)
        return found.count(), model.objects.count(), list(page[offset : offset + PAGE])

    add_own()
    results: dict[str, Any] = {"stages": []}
    loaded = PER_USER
    for total in sorted({min(STAGE, args.sessions), args.sessions}):
        count = total - loaded
        start = time.perf_counter()
        users = data.make_users(max(1, count // PER_USER), prefix=f"s{total}-")
        data.load_peer_db(table, count, users, timezone.now(), expired=0.5)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {table}")
        load_s = time.perf_counter() - start
        loaded = total
        print(f"  loaded {total:,} in {load_s:.1f} s", file=sys.stderr, flush=True)
        stage = {
            "total": total,
            "load_s": load_s,
            "list_ms": _timed(listing, args.repeats),
            "end_ms": _timed(ending, args.repeats, setup=add_own),
        }
        stage.update(_admin_pages(admin, args.repeats, results["stages"]))
        results["stages"].append(stage)
    results["expired"] = model.objects.filter(expire_date__lte=timezone.now()).count()
    results["stored"] = model.objects.count()
    return results
