"""cached_db caches the negative answer: an unknown public id costs one
database read once, then none, so timing does not tell whether a session id
exists; creating a session with that id (an import) replaces the answer."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_sessiontokens.backends import cached_db
from django_sessiontokens.core import tokens
from tests.factories import SessionRecordFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def cstore(redis_client, settings):
    settings.SESSION_ENGINE = "django_sessiontokens.backends.cached_db"
    return cached_db.SessionStore.get_store()


def session_sql(ctx):
    return [q for q in ctx.captured_queries if "sessiontokens_session" in q["sql"]]


def test_an_unknown_id_is_read_from_the_database_once(cstore):
    unknown = tokens.new_token().public_id
    cstore.get(tokens.new_token().public_id)  # warm: the generation check
    with CaptureQueriesContext(connection) as first:
        assert cstore.get(unknown) is None
    with CaptureQueriesContext(connection) as second:
        assert cstore.get(unknown) is None
    assert len(session_sql(first)) == 1
    assert session_sql(second) == []


def test_a_session_created_after_the_answer_is_found(cstore, user):
    record = SessionRecordFactory(user=user, ends_in=3600)
    assert cstore.get(record.public_id) is None  # remembered as absent
    assert cstore.create_many([record]) == [record.public_id]
    found = cstore.get(record.public_id)
    assert found is not None and found.expires_at > timezone.now()
    other = SessionRecordFactory(user=user, ends_in=3600)
    assert cstore.get(other.public_id) is None
    cstore.create(other)
    assert cstore.get(other.public_id).public_id == other.public_id
