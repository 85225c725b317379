"""Strict mode: cookies the server never issued (or no longer honours) are
an empty anonymous session, never a 500, never a write, and malformed ones
cost no storage lookup."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from django_sessiontokens.core import tokens

pytestmark = pytest.mark.django_db

GARBAGE = {
    "empty": "",
    "huge": "A" * 8192,
    # What a WSGI server hands Django for UTF-8 bytes in a cookie.
    "non_ascii": ("ключ" * 20).encode().decode("latin-1"),
    "spaces": " " * 68,
    "truncated": tokens.new_token().value[:-5],
    "padded": tokens.new_token().value + "==",
    "nul": "\x00" * 68,
    "sql": "' OR 1=1 --" + "a" * 57,
    "django_key": "0123456789abcdef0123456789abcdef",
}


def _session_queries(ctx):
    return [
        q["sql"] for q in ctx.captured_queries if "sessiontokens_session" in q["sql"]
    ]


@pytest.mark.parametrize("name", sorted(GARBAGE))
def test_malformed_cookie_is_anonymous_without_any_query(engine, store, name):
    client = Client()
    client.cookies["sessionid"] = GARBAGE[name]
    before = store.count()
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/whoami/")
    assert response.status_code == 200
    assert response.json()["user"] is None
    assert _session_queries(ctx) == []
    assert store.count() == before


def test_forged_secret_for_a_real_public_id(engine, store, user, caplog):
    client = Client()
    client.force_login(user)
    real = client.cookies["sessionid"].value
    record = store.get(real[:24])
    forged = real[:25] + tokens.new_secret()
    client.cookies["sessionid"] = forged
    with caplog.at_level("WARNING", logger="django.security.sessiontokens"):
        response = client.get("/whoami/")
    assert response.status_code == 200
    assert response.json()["user"] is None
    # The cookie is dropped, the real session is untouched.
    assert response.cookies["sessionid"].value == ""
    assert store.get(real[:24]) == record
    assert "wrong secret" in caplog.text
    assert forged[25:] not in caplog.text
    assert real[25:] not in caplog.text


def test_unknown_token_is_not_adopted(engine, store):
    client = Client()
    foreign = tokens.new_token().value
    client.cookies["sessionid"] = foreign
    response = client.get("/set/?key=a&value=b")
    assert response.status_code == 200
    issued = response.cookies["sessionid"].value
    assert issued != foreign
    assert store.get(foreign[:24]) is None
    assert store.get(issued[:24]) is not None


def test_ended_session_cookie_is_anonymous(engine, user):
    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"].value
    client.post("/logout/")
    replay = Client()
    replay.cookies["sessionid"] = cookie
    assert replay.get("/whoami/").json()["user"] is None


def test_data_without_a_session_write_costs_nothing(engine, store):
    client = Client()
    response = client.get("/plain/")
    assert response.status_code == 200
    assert "sessionid" not in response.cookies
    assert store.count() == 0
