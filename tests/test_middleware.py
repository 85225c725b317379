from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.conftest import aforce_login

pytestmark = pytest.mark.django_db


def _writes(ctx):
    return [
        q["sql"]
        for q in ctx.captured_queries
        if "sessiontokens_session" in q["sql"]
        and q["sql"].lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE"))
    ]


def test_cookie_follows_django_settings(engine, user, settings):
    settings.SESSION_COOKIE_NAME = "sid"
    settings.SESSION_COOKIE_DOMAIN = "example.com"
    settings.SESSION_COOKIE_PATH = "/app/"
    settings.SESSION_COOKIE_SECURE = True
    settings.SESSION_COOKIE_HTTPONLY = True
    settings.SESSION_COOKIE_SAMESITE = "Strict"
    client = Client()
    response = client.get("/set/")
    morsel = response.cookies["sid"]
    assert morsel["domain"] == "example.com"
    assert morsel["path"] == "/app/"
    assert morsel["secure"] is True
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "Strict"
    assert "sessionid" not in response.cookies


def test_cookie_responses_are_not_cacheable(engine):
    response = Client().get("/set/")
    assert "sessionid" in response.cookies
    assert "no-store" in response["Cache-Control"]
    assert "Cookie" in response["Vary"]


def test_max_age_matches_server_side_expiry(engine, user, settings, store, clock):
    settings.SESSIONTOKENS_IDLE_TIMEOUT = 900
    settings.SESSIONTOKENS_TOUCH_INTERVAL = 60
    client = Client()
    response = client.post(
        "/login/", {"username": user.username, "password": "pw-correct-horse"}
    )
    assert int(response.cookies["sessionid"]["max-age"]) == 900
    public_id = client.cookies["sessionid"].value[:24]
    before = store.get(public_id)
    clock.shift(timedelta(seconds=30))
    # Inside the touch interval a data change moves neither last activity
    # nor the expiry, so the cookie (and its Max-Age) need not be sent again.
    response = client.get("/set/?key=a&value=1")
    assert "sessionid" not in response.cookies
    after = store.get(public_id)
    assert after.data != before.data
    assert (after.last_activity, after.expires_at) == (
        before.last_activity,
        before.expires_at,
    )
    clock.shift(timedelta(seconds=31))
    response = client.get("/set/?key=a&value=2")
    assert int(response.cookies["sessionid"]["max-age"]) == 900
    assert store.get(public_id).expires_at == timezone.now() + timedelta(seconds=900)


def test_a_second_save_in_the_request_keeps_the_cookie_due(
    engine, user, settings, store, clock
):
    settings.SESSIONTOKENS_TOUCH_INTERVAL = 60
    client = Client()
    client.post("/login/", {"username": user.username, "password": "pw-correct-horse"})
    clock.shift(timedelta(seconds=61))
    # The view's own save moves the expiry; the middleware's save after it
    # changes only data, and the cookie must still carry the new Max-Age.
    response = client.get("/set-and-save/")
    assert int(response.cookies["sessionid"]["max-age"]) > 0
    record = store.get(client.cookies["sessionid"].value[:24])
    assert record.last_activity == timezone.now()
    assert '"second":"2"' in record.data


def test_set_expiry_sends_the_cookie_again(engine, user, settings):
    client = Client()
    client.post("/login/", {"username": user.username, "password": "pw-correct-horse"})
    response = client.get("/expire-at-browser-close/")
    assert response.cookies["sessionid"]["max-age"] == ""


def test_save_every_request_always_sends_the_cookie(engine, user, settings):
    settings.SESSION_SAVE_EVERY_REQUEST = True
    client = Client()
    client.post("/login/", {"username": user.username, "password": "pw-correct-horse"})
    response = client.get("/set/?key=a&value=1")
    assert response.cookies["sessionid"]["max-age"]


def test_browser_close_cookie(engine, settings):
    settings.SESSION_EXPIRE_AT_BROWSER_CLOSE = True
    response = Client().get("/set/")
    assert response.cookies["sessionid"]["max-age"] == ""


def test_records_ip_and_user_agent(engine, user, store):
    client = Client(REMOTE_ADDR="203.0.113.7", HTTP_USER_AGENT="Mozilla/5.0 Test")
    client.post("/login/", {"username": user.username, "password": "pw-correct-horse"})
    record = store.get(client.cookies["sessionid"].value[:24])
    assert record.ip == "203.0.113.7"
    assert record.user_agent == "Mozilla/5.0 Test"
    assert record.user_id == str(user.pk)


@pytest.mark.parametrize(
    ("mode", "address", "stored"),
    [
        ("full", "203.0.113.7", "203.0.113.7"),
        ("truncated", "203.0.113.7", "203.0.113.0"),
        ("truncated", "2001:db8:abcd:12:34::1", "2001:db8:abcd::"),
        ("none", "203.0.113.7", None),
    ],
)
def test_ip_privacy_modes(engine, store, settings, mode, address, stored):
    settings.SESSIONTOKENS_RECORD_IP = mode
    response = Client(REMOTE_ADDR=address).get("/set/")
    assert store.get(response.cookies["sessionid"].value[:24]).ip == stored


def test_user_agent_is_capped_or_off(engine, store, settings):
    settings.SESSIONTOKENS_USER_AGENT_MAX_LENGTH = 10
    response = Client(HTTP_USER_AGENT="x" * 5000).get("/set/")
    assert store.get(response.cookies["sessionid"].value[:24]).user_agent == "x" * 10
    settings.SESSIONTOKENS_USER_AGENT_MAX_LENGTH = 0
    response = Client(HTTP_USER_AGENT="Secret Browser").get("/set/")
    assert store.get(response.cookies["sessionid"].value[:24]).user_agent == ""


def test_control_characters_in_the_user_agent_are_stored_as_spaces(engine, user, store):
    client = Client(HTTP_USER_AGENT="Agent\nwith\x1fcontrols\r\x00end")
    client.post("/login/", {"username": user.username, "password": "pw-correct-horse"})
    assert client.get("/whoami/").json()["user"] == user.username
    record = store.get(client.cookies["sessionid"].value[:24])
    assert record.user_agent == "Agent with controls  end"
    assert record.user_id == str(user.pk)


def test_store_keeps_a_record_whose_fields_hold_separators(engine, store):
    from django_sessiontokens.core import tokens
    from django_sessiontokens.stores.base import SessionRecord

    now = timezone.now().replace(microsecond=0)
    token = tokens.new_token(None)
    record = SessionRecord(
        public_id=token.public_id,
        secret_hash=token.secret_hash,
        created_at=now,
        last_activity=now,
        expires_at=now + timedelta(hours=1),
        data='{"line":"one\\ntwo"}\n\x1f',
        user_agent="bad\nagent\x1f",
    )
    store.create(record)
    found = store.get(token.public_id)
    assert found.data == record.data  # data is kept byte for byte
    assert found.user_agent in ("bad\nagent\x1f", "bad agent ")
    assert (found.created_at, found.expires_at) == (now, now + timedelta(hours=1))


def test_spoofed_forwarded_for_is_ignored_without_trusted_proxies(engine, store):
    client = Client(REMOTE_ADDR="198.51.100.1", HTTP_X_FORWARDED_FOR="1.2.3.4")
    response = client.get("/set/")
    assert store.get(response.cookies["sessionid"].value[:24]).ip == "198.51.100.1"


def test_trusted_proxy_hop(engine, store, settings):
    settings.SESSIONTOKENS_TRUSTED_PROXIES = 1
    client = Client(
        REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.9"
    )
    response = client.get("/set/")
    assert store.get(response.cookies["sessionid"].value[:24]).ip == "198.51.100.9"


def test_client_changes_are_written_without_waiting_for_a_touch(engine, user, store):
    client = Client(REMOTE_ADDR="203.0.113.7")
    client.force_login(user)
    client.get("/whoami/")
    public_id = client.cookies["sessionid"].value[:24]
    client.get("/whoami/", REMOTE_ADDR="203.0.113.99")
    assert store.get(public_id).ip == "203.0.113.99"


def test_touch_interval_limits_last_activity_writes(engine, user, store, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    client = Client()
    client.force_login(user)
    client.get("/whoami/")
    public_id = client.cookies["sessionid"].value[:24]
    first = store.get(public_id).last_activity
    time_machine.shift(timedelta(seconds=30))
    response = client.get("/whoami/")
    assert store.get(public_id).last_activity == first
    assert "sessionid" not in response.cookies  # nothing written, nothing re-sent
    time_machine.shift(timedelta(seconds=31))
    response = client.get("/whoami/")
    assert store.get(public_id).last_activity == first + timedelta(seconds=61)
    assert "sessionid" in response.cookies  # Max-Age refreshed with the touch


def test_read_only_request_inside_touch_interval_costs_one_query(user, settings):
    """Invariant 4 on the db engine: one SELECT, no write."""
    client = Client()
    client.force_login(user)
    client.get("/whoami/")
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/whoami/")
    assert response.json()["user"] == user.username
    session_queries = [
        q["sql"] for q in ctx.captured_queries if "sessiontokens_session" in q["sql"]
    ]
    assert len(session_queries) == 1
    assert session_queries[0].lstrip().upper().startswith("SELECT")
    assert len(ctx.captured_queries) == 2  # the session and the user


def test_touch_costs_one_update(user, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    client = Client()
    client.force_login(user)
    time_machine.shift(timedelta(seconds=120))
    with CaptureQueriesContext(connection) as ctx:
        client.get("/whoami/")
    assert len(_writes(ctx)) == 1


def test_bad_cookie_costs_no_query_at_all():
    client = Client()
    client.cookies["sessionid"] = "garbage"
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/whoami/")
    assert response.status_code == 200
    assert ctx.captured_queries == []


def test_session_written_by_a_view_costs_one_write(user):
    client = Client()
    client.force_login(user)
    with CaptureQueriesContext(connection) as ctx:
        client.get("/set/?key=a&value=1")
    assert len(_writes(ctx)) == 1


@pytest.mark.django_db(transaction=True)
async def test_async_views_and_middleware(engine, async_client, user):
    await aforce_login(async_client, user)
    response = await async_client.get("/awhoami/")
    assert response.status_code == 200
    assert response.json()["user"] == user.username


def test_session_ended_by_a_concurrent_request_is_not_recreated(engine, user, store):
    client = Client()
    client.force_login(user)
    public_id = client.cookies["sessionid"].value[:24]
    response = client.get("/end-then-write/")
    assert response.status_code == 400  # Django's SessionInterrupted
    assert store.get(public_id) is None
    assert store.for_user(str(user.pk)) == []


def test_session_ended_during_a_read_only_request_drops_the_cookie(engine, user, store):
    client = Client()
    client.force_login(user)
    client.get("/whoami/")
    assert client.get("/end-then-read/").status_code == 200
    assert store.for_user(str(user.pk)) == []
    response = client.get("/whoami/")
    assert response.json()["user"] is None
    assert response.cookies["sessionid"].value == ""


def test_touch_of_a_session_ended_meanwhile_drops_the_cookie(
    engine, user, store, time_machine
):
    time_machine.move_to(timezone.now(), tick=False)
    client = Client()
    client.force_login(user)
    time_machine.shift(timedelta(seconds=120))  # the read will want a touch
    response = client.get("/end-then-read/")
    assert response.status_code == 200
    assert response.cookies["sessionid"].value == ""
    assert store.for_user(str(user.pk)) == []
