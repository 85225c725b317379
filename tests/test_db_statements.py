"""The database store's per-user paths cost a fixed number of statements,
whatever is stored: one to list a user's sessions, one to end them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_sessiontokens.core import tokens
from django_sessiontokens.stores.db import DatabaseStore
from django_sessiontokens.stores.db_sql import table_sql
from django_sessiontokens.types import MOVING, SessionRecord
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def session_of(user, now, *, age=0, moving=False, expired=False) -> SessionRecord:
    token = tokens.new_token(user.pk if user else None)
    return SessionRecord(
        public_id=token.public_id,
        # (secret_hash holds 64 characters: a tombstone of a full hash does
        # not fit on PostgreSQL; reported, not this module's to change.)
        secret_hash=MOVING + token.secret_hash[1:] if moving else token.secret_hash,
        created_at=now - timedelta(minutes=age),
        last_activity=now - timedelta(minutes=age),
        authenticated_at=now - timedelta(minutes=age) if user else None,
        expires_at=now + timedelta(minutes=-1 if expired else 60),
        user_id=str(user.pk) if user else None,
    )


def statements(ctx) -> list[str]:
    return [
        q["sql"] for q in ctx.captured_queries if "sessiontokens_session" in q["sql"]
    ]


def test_for_user_is_one_statement_with_tombstones_and_expired(clock):
    store = DatabaseStore()
    now = timezone.now()
    user, other = UserFactory(), UserFactory()
    mine = [
        session_of(user, now, age=3),
        session_of(user, now, age=1, moving=True),
        session_of(user, now, age=2, expired=True),
    ]
    for record in [*mine, session_of(other, now), session_of(None, now)]:
        store.create(record)
    with CaptureQueriesContext(connection) as ctx:
        found = store.for_user(str(user.pk))
    assert len(statements(ctx)) == 1
    # Newest activity first; every stored record of the user, data left out.
    assert [r.public_id for r in found] == [
        m.public_id for m in (mine[1], mine[2], mine[0])
    ]
    assert found[0].moving and found[0].data == ""
    assert found[2].created_at == mine[0].created_at
    assert found[2].user_id == str(user.pk) and found[2].version == 1
    assert store.for_user(str(UserFactory().pk)) == []


def test_delete_is_one_statement_and_returns_what_it_removed(clock):
    store = DatabaseStore()
    now = timezone.now()
    user = UserFactory()
    records = [session_of(user, now, age=n) for n in range(10)]
    for record in records:
        store.create(record)
    ids = [r.public_id for r in records]
    with CaptureQueriesContext(connection) as ctx:
        removed = store.delete([*ids[:6], "unknown-id"])
    if table_sql(connection).returning:
        assert len(statements(ctx)) == 1
        assert statements(ctx)[0].lstrip().upper().startswith("DELETE")
    assert sorted(r.public_id for r in removed) == sorted(ids[:6])
    assert {r.user_id for r in removed} == {str(user.pk)}
    assert sorted(r.public_id for r in store.for_user(str(user.pk))) == sorted(ids[6:])
    assert store.delete(ids[:6]) == []
    assert store.delete([]) == []


def test_delete_many_in_chunks(clock):
    store = DatabaseStore()
    now = timezone.now()
    user = UserFactory()
    records = [session_of(user, now, age=n) for n in range(1203)]
    store.create_many(records)
    removed = store.delete([r.public_id for r in records])
    assert len(removed) == 1203
    assert store.for_user(str(user.pk)) == []
