"""The database store's purge, count and listing follow ``Cutoffs`` exactly
(each bound of today's settings, lowered ones included), batch by batch, on
SQLite and PostgreSQL; a session touched meanwhile survives; the listing's
total is capped; and the statements are the ones the design promises."""

from __future__ import annotations

import itertools
import threading
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_sessiontokens.core import policy, tokens
from django_sessiontokens.stores import db_purge, db_sql
from django_sessiontokens.stores.db import DatabaseStore
from django_sessiontokens.stores.db_sql import passes
from django_sessiontokens.types import SessionRecord
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

MINUTE = timedelta(minutes=1)
#: Lowered limits (seconds): idle, absolute, anonymous (SESSION_COOKIE_AGE),
#: remembered idle, remembered absolute.
LIMITS = [
    (3600, 86400, 1209600, None, 30 * 86400),  # the defaults of the test settings
    (120, 600, 300, 300, 900),  # everything lowered: each bound finds sessions
    (None, 900, 60, 600, None),  # no idle limit; remembered: no absolute
    (600, None, 1800, None, 1500),  # no absolute limit
]


@pytest.fixture
def limits(request, settings):
    idle, absolute, anonymous, remembered_idle, remembered_absolute = request.param
    settings.SESSIONTOKENS_IDLE_TIMEOUT = idle
    settings.SESSIONTOKENS_ABSOLUTE_TIMEOUT = absolute
    settings.SESSION_COOKIE_AGE = anonymous
    settings.SESSIONTOKENS_REMEMBERED_IDLE_TIMEOUT = remembered_idle
    settings.SESSIONTOKENS_REMEMBERED_ABSOLUTE_TIMEOUT = remembered_absolute
    return request.param


def table_sql(sql: str) -> bool:
    return "sessiontokens_session" in sql


def variety(now, users, *, ties: bool = False) -> list[SessionRecord]:
    """Records over every combination of signed in / anonymous, remembered
    or not, never authenticated, and ages of creation, authentication, activity and
    stored end around each bound. With ``ties``, many share each time."""
    ages = [0, 1, 3, 9, 11, 59, 61, 299, 301, 599, 601, 899, 901, 1500, 20000]
    records = []
    combinations = itertools.product(
        [None, *users],
        [False, True],
        [False, True],
        ages[::2],
        ages[::3],
        [-5, 30, 100000],
    )
    for n, (user, remembered, never_auth, created, activity, ends) in enumerate(
        combinations
    ):
        if remembered and user is None:
            continue  # only a signed-in session is remembered
        created_at = now - timedelta(seconds=created)
        last_activity = max(created_at, now - timedelta(seconds=activity))
        if not ties:
            created_at -= timedelta(microseconds=n)
            last_activity -= timedelta(microseconds=n)
        token = tokens.new_token(user.pk if user else None)
        authenticated_at = None
        if user is not None and not never_auth:
            authenticated_at = created_at + (last_activity - created_at) / 2
        records.append(
            SessionRecord(
                public_id=token.public_id,
                secret_hash=token.secret_hash,
                created_at=created_at,
                last_activity=last_activity,
                expires_at=now + timedelta(seconds=ends),
                user_id=str(user.pk) if user else None,
                authenticated_at=authenticated_at,
                remembered=remembered,
            )
        )
    return records


@pytest.fixture
def stored(clock):
    """A store holding ``variety`` records; returns (store, records, now)."""

    def make(*, ties: bool = False):
        store = DatabaseStore()
        now = timezone.now()
        users = [UserFactory(), UserFactory()]
        records = variety(now, users, ties=ties)
        store.create_many(records)
        return store, records, now

    return make


@pytest.mark.parametrize("limits", LIMITS, indirect=True)
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("batch_size", [7, 1000])
def test_quiet_purge_removes_exactly_what_cutoffs_expire(
    stored, limits, ties, batch_size
):
    store, records, now = stored(ties=ties)
    cutoffs = policy.cutoffs(now)
    expired = {r.public_id for r in records if cutoffs.expired(r)}
    assert expired and len(expired) < len(records)
    assert store.count_expired(cutoffs) == len(expired)
    counts = list(store.purge_expired_quietly(cutoffs, batch_size=batch_size))
    assert sum(counts) == len(expired)
    if not ties:
        assert max(counts) <= batch_size
    left = {record.public_id for record in store.all()}
    assert left == {r.public_id for r in records} - expired
    assert store.count_expired(cutoffs) == 0


@pytest.mark.parametrize("limits", LIMITS, indirect=True)
@pytest.mark.parametrize("ties", [False, True])
def test_signalling_purge_and_dry_run_name_exactly_the_expired(stored, limits, ties):
    store, records, now = stored(ties=ties)
    cutoffs = policy.cutoffs(now)
    expired = {r.public_id for r in records if cutoffs.expired(r)}
    counted = [
        record.public_id
        for batch in store.purge_expired(cutoffs, batch_size=5, dry_run=True)
        for record in batch
    ]
    assert sorted(counted) == sorted(expired)  # each once
    assert {r.public_id for r in store.all()} == {r.public_id for r in records}
    batches = list(store.purge_expired(cutoffs, batch_size=5))
    assert all(0 < len(batch) <= 5 for batch in batches)
    removed = [record.public_id for batch in batches for record in batch]
    assert sorted(removed) == sorted(expired)
    by_id = {r.public_id: r for r in records}
    for batch in batches:
        for record in batch:
            assert record.user_id == by_id[record.public_id].user_id
    assert {r.public_id for r in store.all()} == set(by_id) - expired


@pytest.mark.parametrize("limits", LIMITS, indirect=True)
def test_search_follows_cutoffs_in_the_activity_order(stored, limits):
    store, records, now = stored()
    cutoffs = policy.cutoffs(now)
    signed_in = [r for r in records if r.user_id is not None]
    order = sorted(signed_in, key=lambda r: r.public_id)
    order.sort(key=lambda r: r.last_activity, reverse=True)
    wanted = {
        "all": order,
        "active": [r for r in order if not cutoffs.expired(r)],
        "expired": [r for r in order if cutoffs.expired(r)],
    }
    for state, expected in wanted.items():
        total, page = store.search(cutoffs, state=state, offset=0, limit=len(records))
        assert total == len(expected)
        assert [r.public_id for r in page] == [r.public_id for r in expected]
        total, page = store.search(cutoffs, state=state, offset=3, limit=4)
        assert [r.public_id for r in page] == [r.public_id for r in expected[3:7]]
    user_id = signed_in[0].user_id
    total, page = store.search(cutoffs, state="all", user_ids=[user_id], limit=1000)
    assert [r.public_id for r in page] == [
        r.public_id for r in order if r.user_id == user_id
    ]
    assert store.search(cutoffs, user_ids=[]) == (0, [])


def test_search_total_is_capped(clock, monkeypatch):
    store = DatabaseStore()
    now = timezone.now()
    user = UserFactory()
    for n in range(8):
        token = tokens.new_token(user.pk)
        store.create(
            SessionRecord(
                public_id=token.public_id,
                secret_hash=token.secret_hash,
                created_at=now,
                last_activity=now - n * MINUTE,
                authenticated_at=now,
                expires_at=now + timedelta(hours=1),
                user_id=str(user.pk),
            )
        )
    cutoffs = policy.cutoffs(now)
    assert store.search(cutoffs)[0] == 8
    monkeypatch.setattr(db_sql, "SEARCH_COUNT_LIMIT", 5)
    with CaptureQueriesContext(connection) as ctx:
        total, page = store.search(cutoffs, offset=2, limit=3)
    assert total == 6  # "more than 5"
    assert len(page) == 3
    statements = [q["sql"] for q in ctx.captured_queries if table_sql(q["sql"])]
    # One capped count and one page; never a count of all sessions.
    assert len(statements) == 2
    assert "LIMIT 6" in statements[0] and "COUNT(*)" in statements[0].upper()
    assert "LIMIT 3 OFFSET 2" in statements[1]
    monkeypatch.setattr(db_sql, "SEARCH_COUNT_LIMIT", 8)
    assert store.search(cutoffs)[0] == 8
    # A page past the end costs the count alone.
    with CaptureQueriesContext(connection) as ctx:
        assert store.search(cutoffs, offset=50) == (8, [])
    assert len([q for q in ctx.captured_queries if table_sql(q["sql"])]) == 1


def test_statements_per_pass(clock, settings):
    """One statement per batch of each pass of today's bounds: those whose
    bound is off cost nothing."""
    settings.SESSIONTOKENS_IDLE_TIMEOUT = 120
    settings.SESSIONTOKENS_ABSOLUTE_TIMEOUT = None
    settings.SESSION_COOKIE_AGE = 300
    settings.SESSIONTOKENS_REMEMBERED_ABSOLUTE_TIMEOUT = None
    store = DatabaseStore()
    now = timezone.now()
    user = UserFactory()
    for n in range(5):  # idle for 10 minutes, stored end still ahead
        token = tokens.new_token(user.pk)
        store.create(
            SessionRecord(
                public_id=token.public_id,
                secret_hash=token.secret_hash,
                created_at=now - 10 * MINUTE,
                last_activity=now - 10 * MINUTE - n * timedelta(microseconds=1),
                authenticated_at=now - 10 * MINUTE,
                expires_at=now + timedelta(hours=1),
                user_id=str(user.pk),
            )
        )
    cutoffs = policy.cutoffs(now)
    assert [step.key for step in passes(cutoffs)] == [
        "expires_at",
        "last_activity",
        "last_activity",
    ]
    with CaptureQueriesContext(connection) as ctx:
        assert list(store.purge_expired_quietly(cutoffs, batch_size=2)) == [2, 2, 1]
    statements = [q["sql"] for q in ctx.captured_queries if table_sql(q["sql"])]
    # expires_at: 1 (nothing); idle: 3 batches; anonymous: 1 (nothing).
    assert len(statements) == 1 + 3 + 1


def index_of(step) -> str:
    if step.key == "expires_at":
        return "expires_at"
    if step.key == "last_activity":
        if not step.signed_in:
            return "sessiontokens_anonymous"
        return (
            "sessiontokens_remembered_idle" if step.remembered else "sessiontokens_idle"
        )
    if step.key == "authenticated_at":
        if step.remembered:
            return "sessiontokens_remembered"
        return "sessiontokens_authenticated"
    return "sessiontokens_created"


def test_the_plan_walks_the_pass_index_without_statistics(clock, settings):
    """The quiet purge's statement uses the pass's index on a table that
    has never been analyzed (PostgreSQL: the index plan is forced); each
    kind of signed-in session (remembered or not) has its own."""
    settings.SESSIONTOKENS_REMEMBERED_IDLE_TIMEOUT = 7 * 86400
    cutoffs = policy.cutoffs(timezone.now())
    assert len({index_of(step) for step in passes(cutoffs)}) == 7
    sql = db_sql.table_sql(connection)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT reltuples FROM pg_class WHERE relname = %s",
                ["sessiontokens_session"],
            )
            assert cursor.fetchone()[0] <= 0  # never analyzed
    for step in passes(cutoffs):
        bound = sql.params(step, connection)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                with transaction.atomic():
                    db_sql.index_plan(connection)
                    cursor.execute(
                        "EXPLAIN " + sql.batch(step, after=True),
                        [*bound, bound[0], 10, *bound],
                    )
                    plan = "\n".join(row[0] for row in cursor.fetchall())
                assert "Seq Scan" not in plan and "Sort" not in plan
                assert "Index Scan" in plan
            else:
                cursor.execute(
                    "EXPLAIN QUERY PLAN " + sql.batch(step), [*bound, 10, *bound]
                )
                plan = "\n".join(str(row[-1]) for row in cursor.fetchall())
                assert "TEMP B-TREE" not in plan  # no sort: the index's order
            assert index_of(step) in plan


def test_signalling_purge_keeps_a_session_touched_between_select_and_delete(
    clock, monkeypatch
):
    store = DatabaseStore()
    now = timezone.now()
    user = UserFactory()
    ids = []
    for n in range(4):
        token = tokens.new_token(user.pk)
        store.create(
            SessionRecord(
                public_id=token.public_id,
                secret_hash=token.secret_hash,
                created_at=now - timedelta(hours=2),
                last_activity=now - timedelta(hours=2, microseconds=n),
                authenticated_at=now - timedelta(hours=2),
                expires_at=now - MINUTE,
                user_id=str(user.pk),
            )
        )
        ids.append(token.public_id)
    original = db_purge.delete_matching

    def touched_first(manager, condition, public_ids, alias):
        if ids[1] in public_ids:  # a request touches it meanwhile
            store.update(
                ids[1],
                {"last_activity": now, "expires_at": now + timedelta(hours=1)},
            )
        return original(manager, condition, public_ids, alias)

    monkeypatch.setattr(db_purge, "delete_matching", touched_first)
    removed = [
        r.public_id
        for batch in store.purge_expired(policy.cutoffs(now), batch_size=10)
        for r in batch
    ]
    assert sorted(removed) == sorted([ids[0], ids[2], ids[3]])
    assert store.get(ids[1]) is not None


# PostgreSQL only (SQLite runs one statement at a time: nothing can touch a
# row between a batch's index walk and its delete). Defined, not skipped, so
# a CI run on SQLite counts no skip.
if connection.vendor == "postgresql":

    def test_quiet_purge_keeps_a_row_updated_while_its_batch_runs(clock):
        """PostgreSQL: another connection touches an expired row and holds its
        lock while the purge's batch reaches it; the batch waits, checks the
        condition again on the new row version, and keeps it."""
        store = DatabaseStore()
        now = timezone.now()
        user = UserFactory()
        ids = []
        for n in range(6):
            token = tokens.new_token(user.pk)
            store.create(
                SessionRecord(
                    public_id=token.public_id,
                    secret_hash=token.secret_hash,
                    created_at=now - timedelta(hours=2),
                    last_activity=now - timedelta(hours=2, microseconds=n),
                    authenticated_at=now - timedelta(hours=2),
                    expires_at=now - timedelta(minutes=1, microseconds=n),
                    user_id=str(user.pk),
                )
            )
            ids.append(token.public_id)
        touched, release = threading.Event(), threading.Event()
        errors: list[BaseException] = []

        def touch() -> None:
            other = connections.create_connection("default")
            try:
                with other.cursor() as cursor:
                    cursor.execute("BEGIN")
                    cursor.execute(
                        "UPDATE sessiontokens_session SET last_activity = %s, "
                        "expires_at = %s WHERE public_id = %s",
                        [now, now + timedelta(hours=1), ids[2]],
                    )
                    touched.set()
                    release.wait(10)
                    cursor.execute("COMMIT")
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)
                touched.set()
            finally:
                other.close()

        thread = threading.Thread(target=touch)
        thread.start()
        assert touched.wait(10)
        timer = threading.Timer(0.5, release.set)  # commit while the purge waits
        timer.start()
        removed = sum(store.purge_expired_quietly(policy.cutoffs(now), batch_size=100))
        thread.join(10)
        assert not errors
        assert removed == 5
        assert [r.public_id for r in store.all()] == [ids[2]]
