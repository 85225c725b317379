"""The JSON API of the "your sessions" page, on every engine."""

import functools
from datetime import datetime, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from django_sessiontokens import signals
from tests import conftest
from tests.conftest import capture_signal, public_id, signed_in_as

pytestmark = pytest.mark.django_db

FIREFOX = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
)
ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36"
)
API = "/sessions/api/"
END_OTHERS = "/sessions/api/end-others/"


@pytest.fixture
def sign_in():
    """Clients with CSRF checks enforced, as in a browser."""
    return functools.partial(conftest.sign_in, user_agent=FIREFOX, csrf=True)


def session_url(pid):
    return reverse("sessiontokens:api-session", args=[pid])


def csrf_header(client):
    """List once (that sets the CSRF cookie), return the header to send."""
    assert client.get(API).status_code == 200
    return {"HTTP_X_CSRFTOKEN": client.cookies["csrftoken"].value}


def test_list(engine, user, other_user, sign_in):
    here = sign_in(user)
    phone = sign_in(user, user_agent=ANDROID, ip="198.51.100.20")
    sign_in(other_user)

    response = here.get(API)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-store" in response["Cache-Control"]
    sessions = response.json()["sessions"]
    assert [(s["id"], s["current"]) for s in sessions] == [
        (public_id(here), True),
        (public_id(phone), False),
    ]
    listed = sessions[1]
    assert set(listed) >= {
        "id",
        "current",
        "created",
        "last_activity",
        "expires",
        "ip",
        "user_agent",
        "device",
    }
    assert listed["ip"] == "198.51.100.20"
    assert listed["user_agent"] == ANDROID
    assert listed["device"]["label"] == "Chrome Mobile 126 on Android"
    assert listed["device"]["kind"] == "mobile"
    now = timezone.now()
    for field in ("created", "last_activity"):
        moment = datetime.fromisoformat(listed[field])
        assert moment.tzinfo is not None
        assert now - timedelta(minutes=1) < moment <= now
    assert datetime.fromisoformat(listed["expires"]) > now


def test_get_one(engine, user, other_user, sign_in):
    here = sign_in(user)
    there = sign_in(user)
    stranger = sign_in(other_user)
    response = here.get(session_url(public_id(there)))
    assert response.status_code == 200
    assert response.json()["id"] == public_id(there)
    assert response.json()["current"] is False
    assert here.get(session_url(public_id(here))).json()["current"] is True
    missing = here.get(session_url(public_id(stranger)))
    assert missing.status_code == 404
    assert missing.json() == {"error": "No such session."}


def test_anonymous_gets_401(engine, user, sign_in):
    victim = sign_in(user)
    anonymous = Client()
    for method, url in [
        ("get", API),
        ("get", session_url(public_id(victim))),
        ("delete", session_url(public_id(victim))),
        ("post", END_OTHERS),
    ]:
        response = getattr(anonymous, method)(url)
        assert response.status_code == 401, (method, url)
        assert response.json() == {"error": "Authentication required."}
    assert signed_in_as(victim) == user.username


def test_delete_another_own_session(
    engine, user, sign_in, store, django_capture_on_commit_callbacks
):
    here = sign_in(user)
    there = sign_in(user)
    headers = csrf_header(here)

    with (
        capture_signal(signals.session_ended) as ended,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = here.delete(session_url(public_id(there)), **headers)

    assert response.status_code == 200
    assert response.json() == {
        "id": public_id(there),
        "ended": True,
        "signed_out": False,
    }
    assert [(e["reason"], e["actor"], e["ended_by"]) for e in ended] == [
        ("revoked", "user", user)
    ]
    assert store.get(public_id(there)) is None
    assert signed_in_as(there) is None
    assert signed_in_as(here) == user.username
    assert [s["id"] for s in here.get(API).json()["sessions"]] == [public_id(here)]


def test_delete_needs_the_csrf_header(engine, user, sign_in):
    here = sign_in(user)
    there = sign_in(user)
    csrf_header(here)  # the cookie alone is not enough
    response = here.delete(session_url(public_id(there)))
    assert response.status_code == 403
    assert response.json()["error"].startswith("CSRF verification failed")
    wrong = here.delete(session_url(public_id(there)), HTTP_X_CSRFTOKEN="x" * 32)
    assert wrong.status_code == 403
    assert signed_in_as(there) == user.username


def test_another_users_session_is_404_like_an_unknown_one(
    engine, user, other_user, sign_in
):
    here = sign_in(user)
    stranger = sign_in(other_user)
    headers = csrf_header(here)
    theirs = here.delete(session_url(public_id(stranger)), **headers)
    unknown = here.delete(session_url("Z" * 24), **headers)
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.content == unknown.content
    assert theirs.json() == {"error": "No such session."}
    assert signed_in_as(stranger) == other_user.username


@pytest.mark.parametrize("bad_id", ["short", "x" * 25, "a" * 23 + "!", "%00" * 8])
def test_malformed_id_is_400(engine, user, sign_in, bad_id):
    here = sign_in(user)
    headers = csrf_header(here)
    response = here.delete(f"{API}{bad_id}/", **headers)
    assert response.status_code == 400
    assert response.json() == {"error": "Malformed session id."}
    assert signed_in_as(here) == user.username


def test_deleting_the_current_session_signs_out(engine, user, sign_in, store):
    here = sign_in(user)
    pid = public_id(here)
    headers = csrf_header(here)
    response = here.delete(session_url(pid), **headers)
    assert response.status_code == 200
    assert response.json() == {"id": pid, "ended": True, "signed_out": True}
    assert response.cookies["sessionid"].value == ""
    assert response.cookies["sessionid"]["max-age"] == 0
    assert store.get(pid) is None
    assert signed_in_as(here) is None
    assert here.get(API).status_code == 401


def test_end_others_keeps_the_current_session(engine, user, other_user, sign_in):
    here = sign_in(user)
    others = [sign_in(user), sign_in(user, user_agent=ANDROID)]
    stranger = sign_in(other_user)
    headers = csrf_header(here)

    response = here.post(END_OTHERS, **headers)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert sorted(body["ended"]) == sorted(public_id(c) for c in others)
    assert [signed_in_as(c) for c in others] == [None, None]
    assert signed_in_as(here) == user.username
    assert signed_in_as(stranger) == other_user.username
    assert here.post(END_OTHERS, **headers).json() == {"ended": [], "count": 0}


def test_end_others_needs_the_csrf_header(engine, user, sign_in):
    here = sign_in(user)
    there = sign_in(user)
    response = here.post(END_OTHERS)
    assert response.status_code == 403
    assert "error" in response.json()
    assert signed_in_as(there) == user.username


@pytest.mark.parametrize(
    "method,url,allow",
    [
        ("post", API, "GET"),
        ("delete", API, "GET"),
        ("put", "session", "GET, DELETE"),
        ("post", "session", "GET, DELETE"),
        ("get", END_OTHERS, "POST"),
        ("delete", END_OTHERS, "POST"),
    ],
)
def test_wrong_method_is_405(engine, user, sign_in, method, url, allow):
    here = sign_in(user)
    there = sign_in(user)
    if url == "session":
        url = session_url(public_id(there))
    headers = csrf_header(here)
    response = getattr(here, method)(url, **headers)
    assert response.status_code == 405
    assert response["Allow"] == allow
    assert response.json() == {"error": "Method not allowed."}
    assert signed_in_as(there) == user.username
