"""Storage round trips per request, counted exactly.

Every message a redis-py connection sends is one round trip (a pipeline or a
script is one message). Django's own cache engine is measured the same way,
as the comparison the numbers are about.
"""

from contextlib import contextmanager

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from redis.connection import AbstractConnection

from django_sessiontokens import services
from django_sessiontokens.models import SessionEvent
from django_sessiontokens.stores.redis import scripts

pytestmark = [pytest.mark.redis, pytest.mark.django_db]


@contextmanager
def redis_round_trips():
    sent = []
    original = AbstractConnection.send_packed_command

    def counting(self, command, check_health=True):
        sent.append(command)
        return original(self, command, check_health)

    AbstractConnection.send_packed_command = counting
    try:
        yield sent
    finally:
        AbstractConnection.send_packed_command = original


def text_of(command):
    return b"".join(command) if isinstance(command, (list, tuple)) else command


def session_sql(queries):
    return [q["sql"] for q in queries if "sessiontokens_session" in q["sql"]]


def signed_in(user):
    c = Client()
    assert c.get(f"/sign-in/?username={user.username}").status_code == 200
    assert c.get("/whoami/").json()["user"] == user.username  # warm up
    # Warm up the scripts too: the first write after Redis lost them (a
    # restart, SCRIPT FLUSH) costs one more round trip, an EVAL.
    assert c.get("/set/?key=warm&value=up").status_code == 200
    return c


def stored(redis_client):
    return {
        key: redis_client.get(key) for key in redis_client.keys("sessiontokens:*:s:*")
    }


def test_redis_engine_read_is_one_round_trip_and_no_write(settings, redis_client, user):
    settings.SESSION_ENGINE = "django_sessiontokens.backends.redis"
    c = signed_in(user)
    before = stored(redis_client)
    with redis_round_trips() as sent:
        response = c.get("/whoami/")
    assert response.json()["user"] == user.username
    assert len(sent) == 1, sent
    assert b"\r\nGET\r\n" in text_of(sent[0])
    assert stored(redis_client) == before
    assert "sessionid" not in response.cookies


def test_redis_engine_write_is_two_round_trips(settings, redis_client, user):
    settings.SESSION_ENGINE = "django_sessiontokens.backends.redis"
    c = signed_in(user)
    with redis_round_trips() as sent:
        assert c.get("/set/?key=a&value=b").status_code == 200
    assert len(sent) == 2, sent
    assert b"\r\nGET\r\n" in text_of(sent[0])
    assert b"EVALSHA" in text_of(sent[1])  # update: one atomic script
    assert c.get("/get/?key=a").json()["value"] == "b"


def test_redis_data_write_inside_touch_interval_leaves_the_indexes_alone(
    settings, redis_client, user
):
    settings.SESSION_ENGINE = "django_sessiontokens.backends.redis"
    c = signed_in(user)

    def indexes():
        return {
            key: redis_client.zrange(key, 0, -1, withscores=True)
            for key in redis_client.keys("sessiontokens:*")
            if redis_client.type(key) == b"zset"
        }

    before, sessions = indexes(), stored(redis_client)
    with redis_round_trips() as sent:
        assert c.get("/set/?key=a&value=b").status_code == 200
    assert len(sent) == 2, sent
    assert indexes() == before
    [(key, value)] = stored(redis_client).items()
    fields, data = value.split(b"\n", 1)
    assert fields == sessions[key].split(b"\n", 1)[0]  # last activity kept
    assert b'"a":"b"' in data


def test_cached_db_warm_read_costs_no_session_sql(settings, redis_client, user):
    settings.SESSION_ENGINE = "django_sessiontokens.backends.cached_db"
    c = signed_in(user)
    with CaptureQueriesContext(connection) as ctx, redis_round_trips() as sent:
        assert c.get("/whoami/").json()["user"] == user.username
    assert session_sql(ctx.captured_queries) == []
    assert len(sent) == 1


def test_cached_db_write_goes_to_the_database(settings, redis_client, user):
    settings.SESSION_ENGINE = "django_sessiontokens.backends.cached_db"
    c = signed_in(user)
    with CaptureQueriesContext(connection) as ctx, redis_round_trips() as sent:
        assert c.get("/set/?key=a&value=b").status_code == 200
    assert len(session_sql(ctx.captured_queries)) == 1  # the UPDATE
    assert len(sent) == 2  # read the copy, refresh it
    with CaptureQueriesContext(connection) as ctx:
        assert c.get("/get/?key=a").json()["value"] == "b"
    assert session_sql(ctx.captured_queries) == []


def test_djangos_cache_engine_costs_one_and_three(settings, redis_client, user):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cache"
    settings.SESSION_CACHE_ALIAS = "redis"
    c = Client()
    c.force_login(user)
    assert c.get("/whoami/").json()["user"] == user.username
    with redis_round_trips() as reads:
        assert c.get("/whoami/").json()["user"] == user.username
    with redis_round_trips() as writes:
        assert c.get("/set/?key=a&value=b").status_code == 200
    assert (len(reads), len(writes)) == (1, 3)


@pytest.mark.parametrize("engine_name", ["db", "redis", "cached_db"])
def test_a_remembered_read_costs_what_any_read_costs(
    settings, redis_client, user, engine_name
):
    """A remembered session's read: one Redis call (redis, warm cached_db)
    or one SQL query (db), and no write, as for any signed-in read."""
    settings.SESSION_ENGINE = f"django_sessiontokens.backends.{engine_name}"
    c = Client()
    query = {"username": user.username, "remember": "1"}
    assert c.get("/sign-in/", query).status_code == 200
    assert c.get("/whoami/").json()["user"] == user.username  # warm up
    with redis_round_trips() as sent, CaptureQueriesContext(connection) as ctx:
        response = c.get("/whoami/")
    assert response.json()["user"] == user.username
    assert "sessionid" not in response.cookies
    sql = session_sql(ctx.captured_queries)
    if engine_name == "db":
        assert (len(sent), len(sql)) == (0, 1)
        assert sql[0].lstrip().upper().startswith("SELECT")
    else:
        assert (len(sent), len(sql)) == (1, 0)


@pytest.mark.parametrize(
    "engine_path",
    [
        "django_sessiontokens.backends.db",
        "django_sessiontokens.backends.redis",
        "django_sessiontokens.backends.cached_db",
    ],
)
def test_ending_a_users_sessions_costs_a_fixed_number_of_round_trips(
    settings, redis_client, user, engine_path
):
    """Ending one user's sessions, their audit rows included: one statement
    on PostgreSQL, an INSERT ... SELECT and a DELETE ... RETURNING on SQLite
    (the rows never travel to Python and back); on Redis the user's indexes
    and one script, then one INSERT of the rows. However many sessions."""
    settings.SESSION_ENGINE = engine_path
    for _ in range(4):
        signed_in(user)
    # As after any earlier ending: Redis knows the script (else one EVAL more).
    redis_client.script_load(scripts.SCRIPTS["delete"].source)
    with redis_round_trips() as sent, CaptureQueriesContext(connection) as queries:
        ended = services.end_user_sessions(user)

    assert len(ended) == 4
    statements = [
        q["sql"].split()[0]
        for q in queries.captured_queries
        if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))
    ]
    if engine_path.endswith(".redis"):
        assert statements == ["INSERT"]
        assert len(sent) == 2, sent
        assert b"ZRANGE" in text_of(sent[0])
        assert b"EVALSHA" in text_of(sent[1])
    else:
        postgresql = connection.vendor == "postgresql"
        assert statements == (["WITH"] if postgresql else ["INSERT", "DELETE"])
        # cached_db: the "gone" markers, one pipelined round trip.
        assert len(sent) == (1 if engine_path.endswith(".cached_db") else 0), sent
    assert SessionEvent.objects.filter(kind="ended", user=user).count() == 4
    assert services.list_user_sessions(user) == []
