"""``clearsessions``: this app ships it, so it works without
django.contrib.sessions, and it purges through our engines' clear_expired
either way."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from tests.factories import SessionRecordFactory

pytestmark = pytest.mark.django_db


def test_clearsessions_works_without_django_contrib_sessions(
    engine, store, user, settings, time_machine
):
    assert "django.contrib.sessions" not in settings.INSTALLED_APPS
    time_machine.move_to(timezone.now(), tick=False)
    expired = SessionRecordFactory(user=user, ends_in=60)
    live = SessionRecordFactory(user=user, ends_in=3600)
    store.create(expired)
    store.create(live)
    time_machine.shift(timedelta(minutes=5))
    call_command("clearsessions", stdout=io.StringIO())
    assert store.peek(expired.public_id) is None
    assert store.get(live.public_id) is not None


def test_clearsessions_says_what_is_wrong_with_a_foreign_engine(settings):
    settings.SESSION_ENGINE = "tests.test_clearsessions"
    with pytest.raises(CommandError, match="cannot purge expired sessions"):
        call_command("clearsessions")


def test_clearsessions_purges_through_our_engine(
    engine, store, user, settings, time_machine
):
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "django.contrib.sessions"]
    time_machine.move_to(timezone.now(), tick=False)
    expired = [SessionRecordFactory(user=user, ends_in=60) for _ in range(3)]
    live = SessionRecordFactory(user=user, ends_in=3600)
    for record in [*expired, live]:
        store.create(record)
    time_machine.shift(timedelta(minutes=5))
    calls = []
    original = engine.SessionStore.clear_expired.__func__

    def spy(cls):
        calls.append(cls)
        return original(cls)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine.SessionStore, "clear_expired", classmethod(spy))
        call_command("clearsessions", stdout=io.StringIO())
    assert calls == [engine.SessionStore]
    assert all(store.get(r.public_id) is None for r in expired)
    assert store.get(live.public_id) is not None
