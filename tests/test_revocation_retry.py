"""A revocation is retried when SQLite says "database is locked", so it does
not fail (and leave the session alive) under ordinary concurrency."""

import pytest
from django.db import OperationalError, transaction

from django_sessiontokens import services
from django_sessiontokens.services import ending
from tests.conftest import sign_in, signed_in_as

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def locked_twice(monkeypatch, store):
    """The store's ending fails twice as SQLite does under a held lock."""
    real, calls = store.end, []

    def end(selection, event=None):
        calls.append(list(selection.ids))
        if len(calls) <= 2:
            raise OperationalError("database is locked")
        return real(selection, event)

    monkeypatch.setattr(store, "end", end)
    monkeypatch.setattr(ending, "LOCKED_RETRY_DELAYS", (0.001,) * 5)
    return calls


def test_a_locked_database_is_tried_again(engine, store, user, locked_twice, caplog):
    client = sign_in(user)
    pid = client.cookies["sessionid"].value[:24]
    assert services.end_session(pid, store=store)
    assert len(locked_twice) == 3
    assert signed_in_as(client) is None
    assert caplog.text.count("trying again") == 2


def test_inside_a_transaction_the_error_is_raised(engine, store, user, locked_twice):
    client = sign_in(user)
    pid = client.cookies["sessionid"].value[:24]
    with pytest.raises(OperationalError), transaction.atomic():
        services.end_session(pid, store=store)
    assert len(locked_twice) == 1


def test_other_errors_are_not_retried(engine, store, user, monkeypatch):
    def broken(selection, event=None):
        raise OperationalError("no such table: sessiontokens_session")

    monkeypatch.setattr(store, "end", broken)
    with pytest.raises(OperationalError, match="no such table"):
        services.end_sessions(["x" * 24], reason="revoked", store=store)
