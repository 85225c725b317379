"""Purging expired sessions on every engine, and the database's fast path."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_sessiontokens import services, signals
from tests.conftest import capture_signal

pytestmark = pytest.mark.django_db(transaction=True)


def make_sessions(engine, clock, *, expired, live):
    old = []
    for _ in range(expired):
        session = engine.SessionStore()
        session.save()
        old.append(session.public_id)
    clock.shift(timedelta(days=30))
    fresh = []
    for _ in range(live):
        session = engine.SessionStore()
        session.save()
        fresh.append(session.public_id)
    return old, fresh


def test_purge_removes_only_expired_sessions_in_batches(engine, store, clock):
    old, fresh = make_sessions(engine, clock, expired=7, live=3)
    with capture_signal(signals.session_ended) as ended:
        counts = list(services.purge_expired(batch_size=3))
    assert sum(counts) == 7
    assert max(counts) <= 3
    assert all(store.get(pid) is None for pid in old)
    assert all(store.get(pid) is not None for pid in fresh)
    assert ended == []  # signals are off by default
    assert list(services.purge_expired(batch_size=3)) in ([], [0])


def test_purge_with_signals_names_each_session(engine, store, clock):
    old, _fresh = make_sessions(engine, clock, expired=4, live=1)
    with capture_signal(signals.session_ended) as ended:
        assert sum(services.purge_expired(batch_size=3, send_signals=True)) == 4
    assert sorted(call["public_id"] for call in ended) == sorted(old)
    assert {call["reason"] for call in ended} == {"expired"}


def test_dry_run_removes_nothing(engine, store, clock):
    old, _fresh = make_sessions(engine, clock, expired=3, live=1)
    assert sum(services.purge_expired(dry_run=True)) == 3
    assert all(store.get(pid) is not None for pid in old)


def test_database_purge_reads_no_rows_back(clock):
    """db engine: one DELETE per batch, nothing loaded into Python.

    The purge walks one index per bound of today's settings (expires_at,
    then idle, absolute, never-authenticated absolute, the same for
    remembered sessions (only those with a limit: here the absolute one),
    and anonymous: see ``stores.db_sql.passes``), so that none of them
    depends on statistics: the expired sessions here are found by the first
    pass, in three batches, and each of the six other passes costs one
    statement that finds nothing. (PostgreSQL also sets planner options for each batch's
    transaction, in a statement that does not touch the table.)"""
    from django_sessiontokens.backends import db

    make_sessions(db, clock, expired=5, live=2)
    with CaptureQueriesContext(connection) as ctx:
        assert list(services.purge_expired(batch_size=2)) == [2, 2, 1]
    statements = [
        q["sql"] for q in ctx.captured_queries if "sessiontokens_session" in q["sql"]
    ]
    assert len(statements) == 3 + 6
    assert all("DELETE FROM" in sql for sql in statements)
    assert not any(sql.lstrip().upper().startswith("SELECT") for sql in statements)


def test_database_purge_keeps_a_session_extended_meanwhile(clock):
    from django_sessiontokens.backends import db

    old, _ = make_sessions(db, clock, expired=1, live=0)
    store = db.SessionStore.get_store()
    now = timezone.now()
    store.update(old[0], {"last_activity": now, "expires_at": now + timedelta(hours=1)})
    assert sum(services.purge_expired()) == 0
    assert store.get(old[0]) is not None


def test_default_batch_sizes():
    from django_sessiontokens.backends import db

    expected = 100_000 if connection.vendor == "sqlite" else 50_000
    assert db.SessionStore.get_store().purge_batch_size() == expected


def test_the_documented_batch_sizes_are_the_stores(engine, store):
    """The settings table, the command table and --help name the batch size
    each store really uses."""
    from pathlib import Path

    from django.core.management import load_command_class
    from django.db import connection

    size = store.purge_batch_size()
    where = {
        "redis": "Redis",
        "db": "SQLite" if connection.vendor == "sqlite" else "other databases",
        "cached_db": "SQLite" if connection.vendor == "sqlite" else "other databases",
    }[engine.SessionStore.store_name]
    command = load_command_class("django_sessiontokens", "purgesessions")
    help_text = command.create_parser("manage.py", "purgesessions").format_help()
    assert f"{size} on {where}" in " ".join(help_text.split())
    docs = Path(__file__).resolve().parents[1] / "docs"
    for page in ("reference/settings.md", "reference/commands.md", "how-to/purge.md"):
        text = " ".join((docs / page).read_text().split())
        assert f"{size:,} on {where}" in text, page
