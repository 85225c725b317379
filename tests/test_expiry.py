"""Idle and absolute expiry, enforced on the server at load time."""

from datetime import timedelta

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


def whoami(client):
    return client.get("/whoami/").json()["user"]


def test_idle_timeout(engine, user, clock, settings):
    settings.SESSIONTOKENS_IDLE_TIMEOUT = timedelta(minutes=30)
    client = signed_in(user)
    clock.shift(timedelta(minutes=29))
    assert whoami(client) == user.username  # activity: written (touch interval)
    clock.shift(timedelta(minutes=29))
    assert whoami(client) == user.username
    clock.shift(timedelta(minutes=31))
    assert whoami(client) is None


def test_cookie_age_is_not_trusted(engine, user, clock, settings):
    """A client that keeps sending the cookie past expiry gets nothing."""
    settings.SESSIONTOKENS_IDLE_TIMEOUT = 600
    client = signed_in(user)
    cookie = client.cookies["sessionid"].value
    clock.shift(timedelta(seconds=601))
    replay = Client()
    replay.cookies["sessionid"] = cookie
    assert whoami(replay) is None


def test_absolute_timeout_is_not_extended_by_activity(engine, user, clock, settings):
    settings.SESSIONTOKENS_IDLE_TIMEOUT = 3600
    settings.SESSIONTOKENS_ABSOLUTE_TIMEOUT = timedelta(hours=4)
    client = signed_in(user)
    for _ in range(7):  # active every 30 minutes for 3.5 hours
        clock.shift(timedelta(minutes=30))
        assert whoami(client) == user.username
    clock.shift(timedelta(minutes=31))
    assert whoami(client) is None


def test_new_login_resets_both_limits(engine, user, clock, settings):
    settings.SESSIONTOKENS_IDLE_TIMEOUT = timedelta(minutes=100)
    settings.SESSIONTOKENS_ABSOLUTE_TIMEOUT = timedelta(hours=3)
    client = signed_in(user)
    clock.shift(timedelta(minutes=90))
    assert whoami(client) == user.username
    client.post("/login/", {"username": user.username, "password": "pw-correct-horse"})
    clock.shift(timedelta(minutes=95))  # past the first login's absolute limit
    assert whoami(client) == user.username
    clock.shift(timedelta(minutes=80))  # 175 minutes since the second login
    assert whoami(client) == user.username
    clock.shift(timedelta(minutes=10))
    assert whoami(client) is None


def test_lowering_a_limit_applies_to_existing_sessions(engine, user, clock, settings):
    client = signed_in(user)
    clock.shift(timedelta(minutes=20))
    settings.SESSIONTOKENS_IDLE_TIMEOUT = 600
    assert whoami(client) is None


def test_anonymous_sessions_follow_session_cookie_age(engine, clock, settings):
    settings.SESSION_COOKIE_AGE = 1000
    client = Client()
    client.get("/set/?key=a&value=1")
    clock.shift(timedelta(seconds=990))
    assert client.get("/get/?key=a").json()["value"] == "1"
    clock.shift(timedelta(seconds=1001))
    assert client.get("/get/?key=a").json()["value"] is None


def test_expired_session_is_not_written_back(engine, user, store, clock, settings):
    settings.SESSIONTOKENS_IDLE_TIMEOUT = 600
    client = signed_in(user)
    public_id = client.cookies["sessionid"].value[:24]
    before = store.get(public_id)
    clock.shift(timedelta(seconds=700))
    response = client.get("/whoami/")
    assert response.cookies["sessionid"].value == ""  # cookie removed
    after = store.get(public_id)
    assert after is None or after.last_activity == before.last_activity
