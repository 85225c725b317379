"""DRF's ``SessionAuthentication`` and django-ninja's ``django_auth`` on our
engines: CSRF, strict mode, expiry, revocation and rotation behave as on
pages; the contrib sessions APIs answer as ``sessiontokens:api``."""

from datetime import timedelta

import pytest
from django.test import Client

from django_sessiontokens import services
from tests.conftest import public_id, sign_in

pytest.importorskip("rest_framework")
pytest.importorskip("ninja")

pytestmark = pytest.mark.django_db

#: (path, status of an unauthenticated request) for each framework.
FRAMEWORKS = {"drf": ("/drf/me/", 403), "ninja": ("/ninja/me", 401)}


@pytest.fixture(autouse=True)
def urls(settings):
    settings.ROOT_URLCONF = "tests.integration_urls"


def csrf_client(user):
    client = sign_in(user, csrf=True)
    client.get("/sessions/api/")  # sets the CSRF cookie
    return client


def csrf_header(client):
    return {"HTTP_X_CSRFTOKEN": client.cookies["csrftoken"].value}


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_signed_in_and_csrf(engine, user, framework):
    path, _ = FRAMEWORKS[framework]
    client = csrf_client(user)
    assert client.get(path).json()["user"] == user.username
    assert client.post(path, {"value": "x"}).status_code == 403  # no CSRF token
    response = client.post(path, {"value": "x"}, **csrf_header(client))
    assert response.status_code == 200 and response.json()["saved"] is True


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_strict_mode_ended_and_expired_sessions(
    engine, user, framework, clock, settings
):
    path, refused = FRAMEWORKS[framework]
    forged = Client()
    forged.cookies["sessionid"] = f"{'x' * 20}0000.{'y' * 43}"
    response = forged.get(path)
    assert response.status_code == refused
    assert (
        "sessionid" not in response.cookies or not response.cookies["sessionid"].value
    )  # nothing adopted: at most the cookie is deleted

    revoked = sign_in(user)
    services.end_session(public_id(revoked))
    assert revoked.get(path).status_code == refused

    settings.SESSIONTOKENS_IDLE_TIMEOUT = 600
    expiring = sign_in(user)
    assert expiring.get(path).status_code == 200
    clock.shift(timedelta(seconds=601))
    assert expiring.get(path).status_code == refused


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_rotation_reaches_the_api_client(engine, user, framework, clock, settings):
    path, _ = FRAMEWORKS[framework]
    settings.SESSIONTOKENS_ROTATE_INTERVAL = 60
    client = sign_in(user)
    old = client.cookies["sessionid"].value
    clock.shift(timedelta(seconds=61))
    response = client.get(path)
    assert response.status_code == 200
    new = response.cookies["sessionid"].value
    assert new != old and new.split(".")[0] == old.split(".")[0]
    clock.shift(timedelta(seconds=120))  # past the grace: only the new works
    assert client.get(path).json()["user"] == user.username


# The contrib sessions APIs ---------------------------------------------------
PREFIX = {"drf": "/drf/sessions/", "ninja": "/ninja/sessions/"}


def _detail(framework, public_id):
    return f"{PREFIX[framework]}{public_id}" + ("/" if framework == "drf" else "")


def _end_others(framework):
    return PREFIX[framework] + ("end-others/" if framework == "drf" else "end-others")


@pytest.mark.parametrize("framework", PREFIX)
def test_contrib_api_lists_like_sessiontokens_api(engine, user, framework):
    client = csrf_client(user)
    sign_in(user)
    ours = client.get(PREFIX[framework]).json()
    reference = client.get("/sessions/api/").json()
    assert ours == reference
    assert len(ours["sessions"]) == 2 and ours["sessions"][0]["current"] is True
    one = client.get(_detail(framework, public_id(client))).json()
    assert one == reference["sessions"][0]


@pytest.mark.parametrize("framework", PREFIX)
def test_contrib_api_ends_sessions_like_sessiontokens_api(
    engine, user, other_user, framework
):
    client = csrf_client(user)
    other_device = sign_in(user)
    stranger = sign_in(other_user)
    detail = _detail(framework, public_id(other_device))

    assert client.delete(detail).status_code == 403  # CSRF, as on the JSON API
    malformed = _detail(framework, "nope")
    assert client.delete(malformed, **csrf_header(client)).status_code == 400
    foreign = _detail(framework, public_id(stranger))
    assert client.delete(foreign, **csrf_header(client)).status_code == 404
    response = client.delete(detail, **csrf_header(client))
    assert response.json() == {
        "id": public_id(other_device),
        "ended": True,
        "signed_out": False,
    }
    assert other_device.get("/whoami/").json()["user"] is None
    assert client.get(detail).status_code == 404

    third = sign_in(user)
    response = client.post(_end_others(framework), **csrf_header(client))
    assert response.json() == {"ended": [public_id(third)], "count": 1}

    own = _detail(framework, public_id(client))
    response = client.delete(own, **csrf_header(client))
    assert response.json()["signed_out"] is True
    assert client.get(PREFIX[framework]).status_code in (401, 403)
    assert stranger.get("/whoami/").json()["user"] == other_user.username
