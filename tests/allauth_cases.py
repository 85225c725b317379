"""django-allauth on our engines (run by ``tests/test_allauth.py`` with
``tests.allauth_settings``): signing in through allauth (password, login
code, the dummy social provider) rotates the token and records the session
as Django's ``login()`` does; headless app sessions (``X-Session-Token``)
are listed, expire and end like cookie sessions; checks W005 and W006."""

import json
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import checks, mail
from django.test import Client

from django_sessiontokens import services, signals
from django_sessiontokens.models import SessionEvent
from tests.conftest import capture_signal, public_id

pytestmark = [
    pytest.mark.django_db,
    # allauth sends mail the Django 6.0 way; Django 6.1 warns about it.
    pytest.mark.filterwarnings("ignore:Django 2028 will not have a default mailer"),
]
APP = "/_allauth/app/v1"


@pytest.fixture
def alice(db):
    return get_user_model().objects.create_user(
        "alice", email="alice@example.com", password="Secret-pw-1"
    )


def anonymous_session():
    client = Client()
    assert client.get("/set/").status_code == 200  # an anonymous session
    return client, public_id(client)


def assert_signed_in_by_rotation(client, before, user, rotated):
    after = public_id(client)
    assert after != before  # a new token, as Django's login() gives
    assert client.get("/whoami/").json()["user"] == user.username
    # session_rotated (sent after commit: these tests run in a transaction)
    # is captured through django_capture_on_commit_callbacks by the callers;
    # the audit trail records the sign-in as Django's login() does.
    assert [r["reason"] for r in rotated] == ["login"]
    assert rotated[0]["previous_public_id"] == before
    assert rotated[0]["public_id"] == after
    (event,) = SessionEvent.objects.filter(public_id=after, kind="created")
    assert event.reason == "login" and event.previous_public_id == before
    (listed,) = services.list_user_sessions(user)
    assert listed.public_id == after
    old = Client()
    old.cookies["sessionid"] = client.cookies["sessionid"].value.replace(
        after, before, 1
    )
    assert old.get("/whoami/").json()["user"] is None


@pytest.fixture
def oncommit(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


def test_password_sign_in(engine, alice, oncommit):
    client, before = anonymous_session()
    with capture_signal(signals.session_rotated) as rotated, oncommit(execute=True):
        response = client.post(
            "/accounts/login/", {"login": "alice", "password": "Secret-pw-1"}
        )
    assert response.status_code == 302, response.content[:500]
    assert_signed_in_by_rotation(client, before, alice, rotated)


def test_login_code_sign_in(engine, alice, oncommit):
    client, before = anonymous_session()
    response = client.post("/accounts/login/code/", {"email": "alice@example.com"})
    assert response.status_code == 302, response.content[:500]
    code = re.search(r"^([A-Z0-9]{4}-[A-Z0-9]{4})$", mail.outbox[-1].body, re.M).group(
        1
    )
    with capture_signal(signals.session_rotated) as rotated, oncommit(execute=True):
        response = client.post("/accounts/login/code/confirm/", {"code": code})
    assert response.status_code == 302, response.content[:500]
    assert_signed_in_by_rotation(client, before, alice, rotated)


def test_social_sign_in_with_the_dummy_provider(engine, db, oncommit):
    client, before = anonymous_session()
    response = client.post("/accounts/dummy/login/")
    assert response.status_code == 302, response.content[:500]
    with capture_signal(signals.session_rotated) as rotated, oncommit(execute=True):
        response = client.post(
            response["Location"],
            {"id": 4242, "email": "bob@example.com", "username": "bob"},
        )
    assert response.status_code == 302, response.content[:500]
    bob = get_user_model().objects.get(socialaccount__uid="4242")
    # The flow keeps its state in the session: it may be written under the
    # anonymous token first; the sign-in then rotates it once.
    assert_signed_in_by_rotation(client, before, bob, rotated)


def app_login(client):
    response = client.post(
        f"{APP}/auth/login",
        json.dumps({"username": "alice", "password": "Secret-pw-1"}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content[:500]
    return response.json()["meta"]["session_token"]


def app_get(client, token):
    return client.get(f"{APP}/auth/session", HTTP_X_SESSION_TOKEN=token)


def test_headless_app_sessions_are_ours(engine, alice, clock, settings):
    settings.SESSIONTOKENS_IDLE_TIMEOUT = 600
    client = Client()
    token = app_login(client)
    assert "." in token  # the session token is our token
    assert app_get(client, token).status_code == 200
    (listed,) = services.list_user_sessions(alice)
    assert token.startswith(listed.public_id + ".")

    # Ended like a cookie session.
    services.end_session(listed.public_id)
    assert app_get(client, token).status_code == 410

    # Expires like one.
    token = app_login(client)
    clock.shift(timedelta(seconds=601))
    assert app_get(client, token).status_code == 410
    assert services.list_user_sessions(alice) == []

    # Strict: a token never issued is refused, nothing is created.
    forged = token.split(".")[0] + "." + "A" * 43
    assert app_get(client, forged).status_code == 410

    # Signing out through allauth ends it in our store.
    token = app_login(client)
    response = client.delete(f"{APP}/auth/session", HTTP_X_SESSION_TOKEN=token)
    assert response.status_code == 401  # allauth's answer to a sign-out
    assert services.list_user_sessions(alice) == []


STRATEGY = "django_sessiontokens.contrib.allauth.SessionTokenStrategy"
ALLAUTHS = "allauth.headless.tokens.strategies.sessions.SessionTokenStrategy"


@pytest.fixture
def strategy(settings):
    settings.HEADLESS_TOKEN_STRATEGY = STRATEGY


def test_without_our_strategy_app_sessions_idle_out_while_in_use(
    engine, alice, clock, settings
):
    """Why W007: allauth loads app sessions outside our middleware and saves
    them only when their data changes, so last activity never moves."""
    settings.HEADLESS_TOKEN_STRATEGY = ALLAUTHS
    settings.SESSIONTOKENS_IDLE_TIMEOUT = 600
    client = Client()
    token = app_login(client)
    clock.shift(timedelta(seconds=400))
    assert app_get(client, token).status_code == 200
    clock.shift(timedelta(seconds=400))
    assert app_get(client, token).status_code == 410  # in use, yet idled out


def test_with_our_strategy_app_sessions_are_touched(
    engine, alice, clock, settings, strategy
):
    settings.SESSIONTOKENS_IDLE_TIMEOUT = 600
    client = Client(HTTP_USER_AGENT="TheApp/1.0")
    token = app_login(client)
    for _ in range(3):
        clock.shift(timedelta(seconds=400))
        assert app_get(client, token).status_code == 200
    (listed,) = services.list_user_sessions(alice)
    assert listed.user_agent == "TheApp/1.0"


def test_with_our_strategy_rotation_reaches_the_app(
    engine, alice, clock, settings, strategy
):
    settings.SESSIONTOKENS_ROTATE_INTERVAL = 60
    client = Client()
    token = app_login(client)
    clock.shift(timedelta(seconds=61))
    response = app_get(client, token)
    assert response.status_code == 200
    new = response.json()["meta"]["session_token"]
    assert new != token and new.split(".")[0] == token.split(".")[0]
    # The previous token within its grace window: answered, and told again.
    response = app_get(client, token)
    assert response.json()["meta"]["session_token"] == new
    clock.shift(timedelta(seconds=31))
    response = app_get(client, new)
    assert response.status_code == 200
    assert "session_token" not in response.json()["meta"]


def test_usersessions_checks(settings):
    def found():
        return {m.id for m in checks.run_checks() if m.id.startswith("sessiontokens.")}

    assert found() == {"sessiontokens.W006"}  # the strategy is set there
    settings.USERSESSIONS_TRACK_ACTIVITY = True
    assert found() == {"sessiontokens.W005", "sessiontokens.W006"}
    settings.HEADLESS_TOKEN_STRATEGY = ALLAUTHS
    assert "sessiontokens.W007" in found()
    settings.HEADLESS_CLIENTS = ["browser"]
    assert "sessiontokens.W007" not in found()


def test_why_w006_usersessions_stores_the_whole_token(engine, alice):
    from allauth.usersessions.models import UserSession

    client = Client()
    client.post("/accounts/login/", {"login": "alice", "password": "Secret-pw-1"})
    (row,) = UserSession.objects.all()
    assert row.session_key == client.cookies["sessionid"].value  # secret included
    assert len(row.session_key) > 40  # its column's max_length
