"""Periodic rotation with a grace window, theft detection, and rotation at
login and on privilege change (no grace)."""

from datetime import timedelta

import pytest
from django.core import checks
from django.http import HttpResponse
from django.test import Client
from django.urls import path

import django_sessiontokens
from django_sessiontokens import signals
from django_sessiontokens.models import Session
from tests.conftest import aforce_login, capture_signal
from tests.urls import urlpatterns as base_urlpatterns

pytestmark = pytest.mark.django_db
PASSWORD = "pw-correct-horse"


def elevate(request):
    request.session["elevated"] = True
    django_sessiontokens.rotate(request)
    return HttpResponse("elevated")


urlpatterns = [*base_urlpatterns, path("elevate/", elevate)]


@pytest.fixture
def rotating(settings):
    settings.SESSIONTOKENS_ROTATE_INTERVAL = timedelta(minutes=10)
    settings.SESSIONTOKENS_ROTATION_GRACE = 30
    return settings


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


def replay(cookie):
    client = Client()
    client.cookies["sessionid"] = cookie
    return client


def whoami(client):
    return client.get("/whoami/").json()["user"]


def test_rotation_is_off_by_default(engine, user, clock):
    client = signed_in(user)
    cookie = client.cookies["sessionid"].value
    clock.shift(timedelta(minutes=59))
    assert whoami(client) == user.username
    assert client.cookies["sessionid"].value == cookie


def test_periodic_rotation_new_secret_same_session(
    engine, user, store, clock, rotating, django_capture_on_commit_callbacks
):
    client = signed_in(user)
    old = client.cookies["sessionid"].value
    clock.shift(timedelta(minutes=9))
    assert whoami(client) == user.username
    assert client.cookies["sessionid"].value == old  # not due yet
    clock.shift(timedelta(minutes=2))
    with (
        capture_signal(signals.session_rotated) as rotated,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.get("/whoami/")
    new = response.cookies["sessionid"].value
    assert response.json()["user"] == user.username
    assert new[:24] == old[:24]  # same session: data, user and index follow
    assert new != old
    assert [
        (r["reason"], r["public_id"], r["previous_public_id"]) for r in rotated
    ] == [("periodic", old[:24], old[:24])]
    assert rotated[0]["sender"] is Session
    assert [r.public_id for r in store.for_user(str(user.pk))] == [old[:24]]
    assert "no-store" in response["Cache-Control"]
    assert whoami(client) == user.username


def test_a_writing_request_rotates_too_and_keeps_the_data(
    engine, user, clock, rotating
):
    client = signed_in(user)
    client.get("/set/?key=colour&value=teal")
    old = client.cookies["sessionid"].value
    clock.shift(timedelta(minutes=11))
    response = client.get("/set/?key=size&value=9")
    assert response.cookies["sessionid"].value != old
    assert client.get("/get/?key=colour").json()["value"] == "teal"
    assert client.get("/get/?key=size").json()["value"] == "9"
    assert whoami(client) == user.username


def test_predecessor_within_grace_maps_to_the_new_token(engine, user, clock, rotating):
    client = signed_in(user)
    old = client.cookies["sessionid"].value
    clock.shift(timedelta(minutes=11))
    whoami(client)
    new = client.cookies["sessionid"].value
    clock.shift(timedelta(seconds=29))
    late = replay(old)  # an in-flight request or a parallel tab
    response = late.get("/whoami/")
    assert response.json()["user"] == user.username
    assert response.cookies["sessionid"].value == new  # re-sent
    assert whoami(client) == user.username


def test_predecessor_after_grace_is_theft(
    engine, user, store, clock, rotating, django_capture_on_commit_callbacks
):
    client = signed_in(user)
    old = client.cookies["sessionid"].value
    clock.shift(timedelta(minutes=11))
    whoami(client)
    clock.shift(timedelta(seconds=31))
    thief = replay(old)
    with (
        capture_signal(signals.session_reuse_detected) as reused,
        capture_signal(signals.session_ended) as ended,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = thief.get("/whoami/")
    assert response.json()["user"] is None
    assert store.get(old[:24]) is None
    assert whoami(client) is None  # the whole session ended, not just the token
    assert [(e["public_id"], e["reason"]) for e in ended] == [(old[:24], "token_reuse")]
    assert len(reused) == 1
    assert reused[0]["public_id"] == old[:24]
    assert reused[0]["user_id"] == str(user.pk)
    assert reused[0]["request"].path == "/whoami/"


def test_an_older_generation_is_theft_even_within_grace(
    engine, user, store, clock, rotating
):
    client = signed_in(user)
    first = client.cookies["sessionid"].value
    clock.shift(timedelta(minutes=11))
    whoami(client)
    clock.shift(timedelta(minutes=11))
    whoami(client)
    assert client.cookies["sessionid"].value[:24] == first[:24]
    clock.shift(timedelta(seconds=1))  # the second rotation is 1 s old
    assert whoami(replay(first)) is None
    assert store.get(first[:24]) is None


def test_zero_grace_honours_no_predecessor(engine, user, store, clock, rotating):
    rotating.SESSIONTOKENS_ROTATION_GRACE = 0
    client = signed_in(user)
    old = client.cookies["sessionid"].value
    clock.shift(timedelta(minutes=11))
    whoami(client)
    assert whoami(replay(old)) is None
    assert store.get(old[:24]) is None


def test_a_forged_secret_is_not_theft(engine, user, store, clock, rotating):
    """A wrong secret that was never issued only fails; the session lives."""
    client = signed_in(user)
    cookie = client.cookies["sessionid"].value
    forged = cookie[:25] + ("A" if cookie[25] != "A" else "B") + cookie[26:]
    assert whoami(replay(forged)) is None
    assert whoami(client) == user.username


def test_two_requests_racing_to_rotate_end_on_one_token(
    engine, user, store, clock, rotating
):
    """Both loaded the old token; one rotates, the other follows it."""
    client = signed_in(user)
    cookie = client.cookies["sessionid"].value
    clock.shift(timedelta(minutes=11))
    first, second = engine.SessionStore(cookie), engine.SessionStore(cookie)
    assert first.get("_auth_user_id") == second.get("_auth_user_id") == str(user.pk)
    assert first.touch() is True
    assert second.touch() is True
    assert first.session_key == second.session_key != cookie
    assert len(store.for_user(str(user.pk))) == 1
    assert whoami(replay(second.session_key)) == user.username


def test_login_kills_the_previous_token_at_once(engine, user, store, rotating):
    """No grace at login, even with periodic rotation on (fixation)."""
    client = Client()
    client.get("/set/?key=cart&value=2")
    anonymous = client.cookies["sessionid"].value
    response = client.post("/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    assert whoami(replay(anonymous)) is None
    assert store.get(anonymous[:24]) is None
    assert whoami(client) == user.username


def test_reauthentication_rotates_and_restamps(engine, user, store, clock):
    client = Client()
    client.post("/login/", {"username": user.username, "password": PASSWORD})
    first = client.cookies["sessionid"].value
    stamped = store.get(first[:24]).authenticated_at
    clock.shift(timedelta(minutes=5))
    client.post("/login/", {"username": user.username, "password": PASSWORD})
    second = client.cookies["sessionid"].value
    assert second[:24] != first[:24]
    assert whoami(replay(first)) is None  # dead at once
    assert store.get(second[:24]).authenticated_at - stamped == timedelta(minutes=5)


@pytest.mark.urls("tests.test_rotation")
def test_rotate_helper_on_privilege_change(
    engine, user, store, django_capture_on_commit_callbacks
):
    client = signed_in(user)
    before = client.cookies["sessionid"].value
    with (
        capture_signal(signals.session_rotated) as rotated,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.get("/elevate/")
    after = response.cookies["sessionid"].value
    assert after[:24] != before[:24]
    assert whoami(replay(before)) is None
    assert whoami(client) == user.username
    assert store.get(after[:24]).user_id == str(user.pk)
    assert [(r["reason"], r["previous_public_id"]) for r in rotated] == [
        ("privilege_change", before[:24])
    ]


@pytest.mark.django_db(transaction=True)
async def test_async_views_see_rotation(
    engine, user, async_client, settings, clock, executor_connections
):
    settings.SESSIONTOKENS_ROTATE_INTERVAL = 600
    await aforce_login(async_client, user)
    old = async_client.cookies["sessionid"].value
    clock.shift(timedelta(minutes=11))
    response = await async_client.get("/awhoami/")
    assert response.json()["user"] == user.username
    assert response.cookies["sessionid"].value[:24] == old[:24]
    assert response.cookies["sessionid"].value != old


@pytest.mark.parametrize(
    ("interval", "grace"),
    [(60, 60), (timedelta(minutes=1), timedelta(minutes=2)), (None, -1)],
)
def test_grace_must_be_shorter_than_the_interval(settings, interval, grace):
    settings.SESSIONTOKENS_ROTATE_INTERVAL = interval
    settings.SESSIONTOKENS_ROTATION_GRACE = grace
    messages = [m for m in checks.run_checks() if m.id.startswith("sessiontokens.")]
    assert [m.id for m in messages] == ["sessiontokens.E014"]
    assert messages[0].hint


def test_valid_rotation_settings_pass_the_checks(settings):
    settings.SESSIONTOKENS_ROTATE_INTERVAL = timedelta(minutes=15)
    settings.SESSIONTOKENS_ROTATION_GRACE = 0
    assert [m for m in checks.run_checks() if m.id.startswith("sessiontokens.")] == []
