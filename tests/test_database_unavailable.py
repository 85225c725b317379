"""A database that does not answer on a session path is answered like an
unreachable Redis: 503 with ``Retry-After``, the cookie kept, one log line,
no traceback, and service back by itself. The real thing (PostgreSQL
stopped under load) is in ``tests/load``; here the store's query fails."""

from __future__ import annotations

import logging
from unittest import mock

import pytest
from django.db import InterfaceError, OperationalError
from django.test import Client
from django.urls import include, path

from django_sessiontokens.stores.db import DatabaseStore

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


def own_query_fails(request):
    """A view whose own query fails: not a session path."""
    raise OperationalError("the view's own query failed")


urlpatterns = [
    path("own-query-fails/", own_query_fails),
    path("", include("tests.urls")),
]

DOWN = OperationalError(
    'connection failed: connection to server at "127.0.0.1", port 5432 failed: '
    "Connection refused"
)


def signed_in(user) -> tuple[Client, str]:
    client = Client(raise_request_exception=False)
    assert client.get(f"/sign-in/?username={user.username}").status_code == 200
    return client, client.cookies["sessionid"].value


def ours(caplog):
    return [r for r in caplog.records if r.name.startswith("django_sessiontokens")]


def assert_503(response, caplog, cookie):
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "no-store" in response["Cache-Control"]
    assert "sessionid" not in response.cookies  # neither deleted nor re-sent
    records = ours(caplog)
    assert len(records) == 1, [r.getMessage() for r in records]
    assert records[0].levelno == logging.ERROR
    assert records[0].exc_info is None
    assert "Database did not answer" in records[0].getMessage()
    assert records[0].alias == "default"
    assert not [r for r in caplog.records if r.name == "django.request"]
    assert "Traceback" not in caplog.text
    assert cookie.split(".")[1] not in caplog.text
    caplog.clear()


@pytest.mark.parametrize(
    "error", [DOWN, InterfaceError("connection already closed")], ids=repr
)
def test_load_fails_503_keeps_the_cookie_and_service_resumes(
    user, settings, caplog, error
):
    settings.SESSION_ENGINE = "django_sessiontokens.backends.db"
    client, cookie = signed_in(user)
    caplog.set_level(logging.DEBUG)
    with mock.patch.object(DatabaseStore, "get", side_effect=error):
        assert_503(client.get("/whoami/"), caplog, cookie)
        assert_503(client.get("/set/?key=a&value=b"), caplog, cookie)
    assert client.cookies["sessionid"].value == cookie
    assert client.get("/whoami/").json()["user"] == user.username  # not signed out
    assert client.get("/get/?key=a").json()["value"] is None  # nothing was saved
    assert ours(caplog) == []


def test_save_fails_503_and_nothing_is_saved(user, settings, caplog):
    settings.SESSION_ENGINE = "django_sessiontokens.backends.db"
    client, cookie = signed_in(user)
    caplog.set_level(logging.DEBUG)
    with mock.patch.object(DatabaseStore, "update", side_effect=DOWN):
        assert_503(client.get("/set/?key=a&value=b"), caplog, cookie)
    assert client.get("/get/?key=a").json()["value"] is None
    assert client.get("/set/?key=a&value=b").status_code == 200
    assert client.get("/get/?key=a").json()["value"] == "b"


def test_touch_fails_the_page_is_served_and_logged_once(user, settings, caplog):
    settings.SESSION_ENGINE = "django_sessiontokens.backends.db"
    client, _ = signed_in(user)
    settings.SESSIONTOKENS_TOUCH_INTERVAL = 0  # every read writes last activity
    caplog.set_level(logging.DEBUG)
    with mock.patch.object(DatabaseStore, "update", side_effect=DOWN):
        response = client.get("/whoami/")
    assert response.status_code == 200
    assert response.json()["user"] == user.username
    assert "sessionid" not in response.cookies
    assert len(ours(caplog)) == 1
    assert "Traceback" not in caplog.text


class ReadsTheUserEarly:
    """A middleware that loads the session (through ``request.user``)
    before the view runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        assert request.user.is_authenticated is not None
        return self.get_response(request)


def test_a_failure_outside_the_view_is_a_503_too(user, settings, caplog):
    settings.SESSION_ENGINE = "django_sessiontokens.backends.db"
    client, cookie = signed_in(user)
    assert cookie
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, f"{__name__}.ReadsTheUserEarly"]
    caplog.set_level(logging.DEBUG)
    with mock.patch.object(DatabaseStore, "get", side_effect=DOWN):
        response = client.get("/whoami/")
    assert response.status_code == 503
    assert "sessionid" not in response.cookies
    assert len(ours(caplog)) == 1
    # Django's handler has logged the error (with its traceback) before any
    # response middleware runs: only a view's failures avoid that log line.


def test_the_views_own_database_error_is_not_a_session_failure(user, settings):
    settings.SESSION_ENGINE = "django_sessiontokens.backends.db"
    client, _ = signed_in(user)
    assert client.get("/own-query-fails/").status_code == 500


def test_the_user_query_failing_is_a_503(user, settings, caplog):
    """The session loaded, then the user it names could not be read."""
    settings.SESSION_ENGINE = "django_sessiontokens.backends.db"
    client, cookie = signed_in(user)
    caplog.set_level(logging.DEBUG)
    with mock.patch(
        "django.contrib.auth.backends.ModelBackend.get_user", side_effect=DOWN
    ):
        assert_503(client.get("/whoami/"), caplog, cookie)


@pytest.mark.django_db(transaction=True)
async def test_async_view_gets_the_503_too(user, settings, caplog, async_client):
    settings.SESSION_ENGINE = "django_sessiontokens.backends.db"
    signed = await async_client.get(f"/sign-in/?username={user.username}")
    assert signed.status_code == 200
    cookie = async_client.cookies["sessionid"].value
    caplog.set_level(logging.DEBUG)
    with mock.patch.object(DatabaseStore, "get", side_effect=DOWN):
        assert_503(await async_client.get("/awhoami/"), caplog, cookie)


def test_no_cookie_no_session_path(settings, caplog):
    settings.SESSION_ENGINE = "django_sessiontokens.backends.db"
    with mock.patch.object(DatabaseStore, "get", side_effect=DOWN):
        assert Client().get("/plain/").status_code == 200
        assert Client().get("/whoami/").json()["user"] is None
