"""No raw token anywhere: every Redis key (all types), every row of every
table and every log line are searched for the cookies handed out."""

import logging
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.utils import timezone

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def dump_redis(client):
    out = []
    for key in client.scan_iter(count=1000):
        kind = client.type(key).decode()
        if kind == "string":
            value = client.get(key)
        elif kind == "hash":
            value = client.hgetall(key)
        elif kind == "zset":
            value = client.zrange(key, 0, -1, withscores=True)
        elif kind == "set":
            value = client.smembers(key)
        elif kind == "list":
            value = client.lrange(key, 0, -1)
        else:
            value = kind
        out.append(f"{key!r} {value!r}")
    return out


def dump_tables():
    out = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            out.extend(f"{table} {row!r}" for row in cursor.fetchall())
    return out


def test_no_cookie_or_secret_is_stored_or_logged(
    engine, redis_client, caplog, settings
):
    settings.SESSIONTOKENS_ROTATE_INTERVAL = 60
    caplog.set_level(logging.DEBUG)
    cookies = []
    clients = []
    for _ in range(3):
        user = UserFactory()
        c = Client()
        c.post("/login/", {"username": user.username, "password": "pw-correct-horse"})
        c.get("/set/?key=a&value=b")
        c.get("/whoami/")
        cookies.append(c.cookies["sessionid"].value)
        clients.append(c)
    anonymous = Client()
    anonymous.get("/set/?key=a&value=b")
    cookies.append(anonymous.cookies["sessionid"].value)
    with time_machine.travel(timezone.now() + timedelta(seconds=90), tick=False):
        rotated = clients[0].get("/whoami/").cookies["sessionid"].value
    cookies.append(rotated)
    assert len(set(cookies)) == 5
    redis_dump = dump_redis(redis_client)
    rows = dump_tables()
    if engine.SessionStore.store_name != "db":
        assert redis_dump, "the Redis engines store something in Redis"
    if engine.SessionStore.store_name != "redis":
        assert any("sessiontokens_session" in row for row in rows)
    haystack = "\n".join(
        [
            *redis_dump,
            *rows,
            caplog.text,
            *(repr(r.__dict__) for r in caplog.records),
        ]
    )
    for cookie in cookies:
        public_id, secret = cookie.split(".")
        assert public_id in haystack  # what is stored is found
        assert cookie not in haystack
        assert secret not in haystack


def test_no_bound_cookie_is_stored_or_logged(engine, redis_client, caplog, settings):
    """DBSC: the bound cookies handed out (registration and refresh) are not
    stored or logged either; only their hashes are."""
    from tests.dbsc_browser import DbscBrowser

    settings.SESSIONTOKENS_DBSC = True
    settings.SESSIONTOKENS_DBSC_ORIGIN = "https://testserver"
    caplog.set_level(logging.DEBUG)
    device = DbscBrowser()
    device.get(f"/sign-in/?username={UserFactory().username}")
    name = "__Host-sessiontokens-bound"
    values = [device.jar[name][0]]
    assert device.refresh(device.session) == "refreshed"
    values.append(device.jar[name][0])
    thief = DbscBrowser(supports_dbsc=False)
    thief.jar = {name: (values[0] + "x", None), "sessionid": device.jar["sessionid"]}
    thief.get("/whoami/")
    haystack = "\n".join(
        [*dump_redis(redis_client), *dump_tables(), caplog.text]
        + [repr(r.__dict__) for r in caplog.records]
    )
    assert "bound" in haystack  # the binding is stored
    for value in values:
        assert len(value) >= 40 and value not in haystack
