"""The audit trail: what is recorded, switching it off, pruning by age."""

import logging
from datetime import timedelta

import pytest
from django.db import DatabaseError, IntegrityError, connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_sessiontokens import services
from django_sessiontokens.models import SessionEvent
from django_sessiontokens.services import audit
from django_sessiontokens.stores import db_ending, db_sql, event_rows
from django_sessiontokens.types import EndedEvent, SessionRecord
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "pw-correct-horse"


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run on-commit callbacks (events are written after commit)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def log_in(user, ip="203.0.113.9"):
    client = Client(REMOTE_ADDR=ip)
    client.get("/set/")  # an anonymous session first
    anonymous = client.cookies["sessionid"].value[:24]
    response = client.post("/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return client, anonymous


def public_id(client):
    return client.cookies["sessionid"].value[:24]


def events(**filters):
    return list(
        SessionEvent.objects.filter(**filters)
        .order_by("id")
        .values_list("kind", "reason", "actor")
    )


def test_sign_in_and_sign_out(engine, user, commit):
    with commit():
        client, anonymous = log_in(user)
        signed_in = public_id(client)
        client.post("/logout/")

    created, ended = SessionEvent.objects.order_by("id")
    assert (created.kind, created.reason, created.actor) == ("created", "login", "user")
    assert created.public_id == signed_in
    assert created.previous_public_id == anonymous
    assert created.user == user and created.ip == "203.0.113.9"
    assert (ended.kind, ended.reason, ended.actor) == ("ended", "logout", "user")
    assert ended.public_id == signed_in and ended.user == user
    assert ended.ended_by == user  # who signed out
    # Anonymous sessions are not recorded.
    assert not SessionEvent.objects.filter(public_id=anonymous).exists()


def test_periodic_rotation_and_privilege_change(
    engine, user, commit, settings, time_machine
):
    settings.SESSIONTOKENS_ROTATE_INTERVAL = 600
    time_machine.move_to(timezone.now(), tick=False)
    client, _ = log_in(user)
    first = public_id(client)
    time_machine.shift(timedelta(minutes=11))
    with commit():
        client.get("/whoami/")
        client.force_login(user)  # signing in again: a new session

    assert events(public_id=first) == [
        ("created", "login", "user"),
        ("rotated", "periodic", "system"),
    ]
    rotated = SessionEvent.objects.get(public_id=first, kind="rotated")
    assert rotated.previous_public_id == first  # same session, new secret
    assert rotated.user == user


def test_ended_by_an_admin_and_by_the_system(engine, user, other_user, commit):
    admin_user = UserFactory(is_staff=True)
    with commit():
        mine, _ = log_in(user)
        log_in(other_user)
        services.end_sessions(
            [public_id(mine)],
            reason=services.Reason.REVOKED,
            actor=services.Actor.ADMIN,
            ended_by=admin_user,
        )
        other_user.is_active = False
        other_user.save()

    revoked = SessionEvent.objects.get(kind="ended", public_id=public_id(mine))
    assert (revoked.reason, revoked.actor, revoked.ended_by) == (
        "revoked",
        "admin",
        admin_user,
    )
    disabled = SessionEvent.objects.get(kind="ended", user=other_user)
    assert (disabled.reason, disabled.actor) == ("user_disabled", "system")


def test_many_ended_at_once_is_one_insert(
    engine, user, commit, django_assert_num_queries
):
    clients = [log_in(user)[0] for _ in range(3)]
    ids = [public_id(client) for client in clients]
    records = [services.get_store().get(pid) for pid in ids]

    SessionEvent.objects.all().delete()
    with CaptureQueriesContext(connection) as queries, commit():
        audit.record_ended(records, reason="revoked", actor="admin", ended_by=None)

    # Inside the test's transaction the INSERT has a savepoint of its own.
    statements = [query["sql"].split()[0] for query in queries.captured_queries]
    assert statements == ["SAVEPOINT", "INSERT", "RELEASE"]
    assert sorted(SessionEvent.objects.values_list("public_id", flat=True)) == sorted(
        ids
    )


@pytest.mark.django_db(transaction=True)
def test_ending_sessions_is_one_commit_with_its_audit_rows(engine, user, monkeypatch):
    """On a database engine the deletion and its audit rows commit together
    (one commit, not two); on Redis the rows are one INSERT."""
    for _ in range(3):
        log_in(user)
    commits = []
    real_commit = connection.commit

    def commit():
        commits.append(1)
        real_commit()

    monkeypatch.setattr(connection, "commit", commit)

    writes = []

    def record_writes(execute, sql, params, many, context):
        if sql.split()[0] in ("DELETE", "INSERT", "WITH"):
            writes.append((sql.split()[0], connection.in_atomic_block))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record_writes):
        ended = services.end_user_sessions(user)

    assert len(ended) == 3
    kinds = [statement for statement, _ in writes]
    if engine.__name__.endswith(".redis"):
        # One statement, in autocommit (Django before 6.0 wraps a bulk
        # INSERT in a transaction of its own: a commit either way).
        assert kinds == ["INSERT"]
        assert len(commits) <= 1
    elif connection.vendor == "postgresql":
        # One data-modifying statement (DELETE ... RETURNING feeding the
        # INSERT): atomic on its own, its own commit, one round trip.
        assert writes == [("WITH", False)]
        assert commits == []
    else:
        assert writes == [("INSERT", True), ("DELETE", True)]
        assert len(commits) == 1
    assert SessionEvent.objects.filter(kind="ended", user=user).count() == 3


@pytest.mark.django_db(transaction=True)
def test_a_refused_audit_row_does_not_stop_the_ending(engine, user, caplog):
    """The database refuses the rows (here: they name as "ended by" a user
    deleted meanwhile; a foreign key checked at commit): the sessions end
    all the same, nothing half-written, and the failure is logged."""
    for _ in range(2):
        log_in(user)
    gone = UserFactory()
    gone_pk = gone.pk
    gone.delete()
    ghost = UserFactory.build(pk=gone_pk)

    with caplog.at_level(logging.WARNING, "django_sessiontokens"):
        ended = services.end_user_sessions(user, ended_by=ghost, actor="admin")

    assert len(ended) == 2
    assert services.list_user_sessions(user) == []
    assert not SessionEvent.objects.filter(kind="ended").exists()
    assert "Could not write 2 session event(s)" in caplog.text


def test_a_reason_longer_than_its_column_is_cut_not_refused(engine, user, commit):
    """Custom reasons are free text: the row keeps the first 32 characters
    (the column's size) on every engine and database, and the sessions end."""
    log_in(user)
    reason = "reason-" + "x" * 40
    with commit():
        ended = services.end_user_sessions(user, reason=reason)

    assert [info.public_id for info in ended]
    assert services.list_user_sessions(user) == []
    rows = SessionEvent.objects.filter(kind="ended", user=user)
    assert list(rows.values_list("reason", flat=True)) == [reason[:32]]


def test_ending_more_ids_than_one_statement_takes(engine, user, commit):
    """Ids beyond one ``IN (...)`` list (500) are ended in chunks, each with
    its rows; unknown ids are skipped."""
    pids = [public_id(log_in(user)[0]) for _ in range(3)]
    unknown = [f"{n:024d}" for n in range(1200)]
    with commit():
        ended = services.end_sessions(
            [*unknown[:400], pids[0], *unknown[400:], *pids[1:]], reason="revoked"
        )

    assert sorted(info.public_id for info in ended) == sorted(pids)
    assert sorted(
        SessionEvent.objects.filter(kind="ended").values_list("public_id", flat=True)
    ) == sorted(pids)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("engine", ["db", "cached_db"], indirect=True)
def test_rows_refused_in_a_later_chunk_are_written_once(
    engine, user, monkeypatch, caplog
):
    """The first statement ends its sessions with their rows; the second
    is refused: its sessions end without rows, which the audit trail writes
    then. Every ended session has exactly one row."""
    pids = [public_id(log_in(user)[0]) for _ in range(3)]
    monkeypatch.setattr(db_sql, "IN_CHUNK", 2)
    real, calls = db_ending._remove, []

    def remove(sql, connection, where, params, event):
        calls.append(event is not None)
        if event is not None and len(calls) == 2:
            raise IntegrityError("refused")
        return real(sql, connection, where, params, event)

    monkeypatch.setattr(db_ending, "_remove", remove)
    with caplog.at_level(logging.WARNING, "django_sessiontokens"):
        ended = services.end_sessions(pids, reason="revoked")

    assert calls == [True, True, False]
    assert sorted(info.public_id for info in ended) == sorted(pids)
    assert "refused a row" in caplog.text
    assert sorted(
        SessionEvent.objects.filter(kind="ended").values_list("public_id", flat=True)
    ) == sorted(pids)


def test_an_ended_row_copies_the_record_and_shares_the_rest():
    now = timezone.now()
    record = SessionRecord(
        public_id="p" * 24,
        secret_hash="h",
        created_at=now,
        last_activity=now,
        expires_at=now,
        user_id="7",
        ip="",
        impersonator_id="9",
    )
    event = EndedEvent(time=now, reason="revoked", actor="admin", ended_by_id=3)
    assert event.row(record) == {
        "time": now,
        "kind": "ended",
        "public_id": "p" * 24,
        "previous_public_id": "",
        "user_id": "7",
        "reason": "revoked",
        "actor": "admin",
        "ended_by_id": 3,
        "ip": None,
        "device": "",
        "impersonator_id": "9",
    }
    gone = EndedEvent(time=now, reason="user_deleted", actor="system", user_gone=True)
    assert gone.row(record)["user_id"] is None
    assert "user_id" not in gone.copied()
    assert set(event.row(record)) == set(event_rows.NAMES)


def test_token_reuse(engine, user, commit):
    client, _ = log_in(user)
    record = services.get_store().get(public_id(client))
    with commit():
        services.report_reuse(record)

    assert events(public_id=record.public_id) == [
        ("created", "login", "user"),
        ("ended", "token_reuse", "system"),
        ("reuse_detected", "", "system"),
    ]
    assert client.get("/whoami/").json()["user"] is None


def test_deleting_the_user_keeps_the_events(engine, user, commit):
    with commit():
        client, _ = log_in(user)
        pid = public_id(client)
    with commit():
        user.delete()

    ended = SessionEvent.objects.get(public_id=pid, kind="ended")
    assert ended.reason == "user_deleted"
    assert ended.user is None
    assert SessionEvent.objects.get(public_id=pid, kind="created").user is None


def test_switched_off(engine, user, settings, commit, django_assert_num_queries):
    settings.SESSIONTOKENS_AUDIT = False
    with commit():
        client, _ = log_in(user)
        client.post("/logout/")
    assert not SessionEvent.objects.exists()

    record = services.get_store().get(log_in(user)[0].cookies["sessionid"].value[:24])
    with django_assert_num_queries(0), commit():
        audit.record_created(record, None)
        audit.record_rotated("x" * 24, record, reason="periodic", request=None)
        audit.record_ended([record], reason="revoked", actor="admin", ended_by=None)
        audit.record_reuse(record)
    assert not SessionEvent.objects.exists()


def test_a_failing_write_does_not_break_the_session_operation(
    engine, user, store, commit, monkeypatch, caplog
):
    def broken(*args, **kwargs):
        raise DatabaseError("database is down for the audit table")

    monkeypatch.setattr(event_rows, "insert", broken)
    with caplog.at_level(logging.ERROR, "django_sessiontokens"), commit():
        client, _ = log_in(user)

    assert store.get(public_id(client)).user_id == str(user.pk)
    assert "Could not write 1 session event(s)" in caplog.text


def test_kinds_match_the_model_choices():
    assert {
        audit.CREATED,
        audit.ROTATED,
        audit.ENDED,
        audit.REUSE_DETECTED,
        audit.NEW_DEVICE,
        audit.BOUND,
        audit.BINDING_REFUSED,
    } == set(SessionEvent.Kind.values)


# Pruning -------------------------------------------------------------------


def make_events(*ages):
    now = timezone.now()
    SessionEvent.objects.bulk_create(
        SessionEvent(time=now - age, kind="ended", public_id=f"{i:024d}")
        for i, age in enumerate(ages)
    )


def test_prune_by_age_in_batches(settings, time_machine):
    settings.SESSIONTOKENS_AUDIT_RETENTION = timedelta(days=30)
    settings.SESSIONTOKENS_PURGE_BATCH_SIZE = 2
    time_machine.move_to(timezone.now(), tick=False)
    make_events(timedelta(days=40), timedelta(days=31), timedelta(days=30, seconds=1))
    make_events(timedelta(days=29), timedelta(0))

    assert audit.prune_events() == 3
    assert SessionEvent.objects.count() == 2

    time_machine.shift(timedelta(days=29, hours=1))  # the 29-day one is now too old
    assert audit.prune_events() == 1
    assert audit.prune_events() == 0
    assert SessionEvent.objects.count() == 1


def test_prune_with_explicit_now_and_seconds(settings):
    settings.SESSIONTOKENS_AUDIT_RETENTION = 3600
    make_events(timedelta(hours=2), timedelta(minutes=30))
    assert audit.prune_events(now=timezone.now() - timedelta(days=1)) == 0
    assert audit.prune_events() == 1


def test_prune_keeps_everything_without_retention(settings):
    settings.SESSIONTOKENS_AUDIT_RETENTION = None
    make_events(timedelta(days=3650))
    assert audit.prune_events() == 0
    assert SessionEvent.objects.count() == 1


def test_a_first_sign_in_records_reason_login(engine, user, commit):
    client = Client()  # no session before signing in
    with commit():
        response = client.post(
            "/login/", {"username": user.username, "password": PASSWORD}
        )
        assert response.status_code == 302
    (created,) = SessionEvent.objects.all()
    assert (created.kind, created.reason) == ("created", "login")
    assert created.previous_public_id == ""
    assert created.public_id == public_id(client)
