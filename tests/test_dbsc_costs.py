"""What DBSC costs, counted exactly: nothing while it is off (no query and
no Redis command more than without it, on any request); for a bound request
on, one read of the binding: no round trip more on Redis (one MGET of the
session and its binding instead of a GET), one SQL query more on the
database engines."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.dbsc_browser import DbscBrowser
from tests.test_round_trips import redis_round_trips, text_of

pytestmark = pytest.mark.django_db(transaction=True)

BINDING_TABLE = "sessiontokens_device_binding"


def measured(browser, method, path):
    with CaptureQueriesContext(connection) as ctx, redis_round_trips() as sent:
        response = browser.send(method, path)
    queries = [q["sql"] for q in ctx.captured_queries]
    return response, queries, [text_of(c) for c in sent]


def journey(user):
    """Every kind of request: anonymous page, sign-in, read, write, rotation,
    sign-out."""
    return [
        ("GET", "/plain/"),
        ("GET", f"/sign-in/?username={user.username}"),
        ("GET", "/whoami/"),
        ("GET", "/set/?key=a&value=b"),
        ("GET", "/whoami/"),
        ("GET", "/sessions/"),
        ("GET", "/sessions/api/"),
        ("GET", "/rotate/"),
        ("GET", "/whoami/"),
        ("POST", "/logout/"),
        ("GET", "/whoami/"),
    ]


def costs(user):
    # Once to load the Lua scripts (Redis may have forgotten them) and warm up.
    warm = DbscBrowser()
    for method, path in journey(user):
        warm.send(method, path)
    browser = DbscBrowser()
    found = []
    for method, path in journey(user):
        _, queries, sent = measured(browser, method, path)
        assert not any(BINDING_TABLE in q for q in queries), (path, queries)
        assert not any(b":b:" in c for c in sent), (path, sent)
        found.append((path, len(queries), len(sent)))
    return found


#: (SQL queries, Redis round trips) of a read and of a write, with DBSC
#: off: what they cost without DBSC (``tests/test_round_trips.py``).
HOT_PATH = {
    "db": [(2, 0), (2, 0)],
    "redis": [(1, 1), (0, 2)],
    "cached_db": [(1, 1), (1, 2)],
}


def test_off_costs_nothing_more(engine, settings, user, monkeypatch):
    """Every DBSC read or write goes through ``registry.binding_store``:
    off, nothing asks for it, on any request of the journey."""
    from django_sessiontokens.stores import registry

    def trap():
        raise AssertionError("binding store used while DBSC is off")

    monkeypatch.setattr(registry, "binding_store", trap)
    settings.SESSIONTOKENS_DBSC = False
    name = engine.__name__.rsplit(".", 1)[1]
    found = [(path, q, r) for path, q, r in costs(user)]
    hot = [(q, r) for path, q, r in found[2:4]]
    assert hot == HOT_PATH[name], found


def test_a_bound_request_costs_one_read_of_the_binding(engine, settings, user, clock):
    settings.SESSIONTOKENS_DBSC = True
    settings.SESSIONTOKENS_DBSC_ORIGIN = "https://testserver"
    name = engine.__name__.rsplit(".", 1)[1]
    bound = DbscBrowser()
    bound.get(f"/sign-in/?username={user.username}")
    assert bound.get("/whoami/").json()["user"] == user.username
    settings.SESSIONTOKENS_DBSC = False
    plain = DbscBrowser()
    plain.get(f"/sign-in/?username={user.username}")
    plain.get("/whoami/")
    _, plain_queries, plain_sent = measured(plain, "GET", "/whoami/")
    settings.SESSIONTOKENS_DBSC = True
    response, queries, sent = measured(bound, "GET", "/whoami/")
    assert response.json()["user"] == user.username
    extra_sql = [q for q in queries if BINDING_TABLE in q]
    extra_redis = [c for c in sent if b":b:" in c]
    if name == "redis":
        # Piggy-backed: one MGET of the session and its binding.
        assert (len(queries), len(sent)) == (len(plain_queries), len(plain_sent))
        assert len(extra_redis) == 1 and b"\r\nMGET\r\n" in extra_redis[0]
    elif name == "db":
        # Piggy-backed: the session's SELECT joins its binding.
        assert (len(queries), len(sent)) == (len(plain_queries), len(plain_sent))
        assert len(extra_sql) == 1 and "LEFT JOIN" in extra_sql[0]
    else:
        # cached_db: the session from Redis, its binding from the database.
        assert (len(queries), len(sent)) == (len(plain_queries) + 1, len(plain_sent))
        assert len(extra_sql) == 1 and extra_sql[0].startswith("SELECT")
    # Nothing is written for a bound read.
    assert not any(q.startswith(("UPDATE", "INSERT", "DELETE")) for q in queries)


def test_a_refresh_reads_the_session_and_the_binding_and_writes_once(
    engine, settings, user, clock
):
    settings.SESSIONTOKENS_DBSC = True
    settings.SESSIONTOKENS_DBSC_ORIGIN = "https://testserver"
    name = engine.__name__.rsplit(".", 1)[1]
    device = DbscBrowser()
    device.get(f"/sign-in/?username={user.username}")
    sess = device.session
    from tests.dbsc_browser import sign

    proof = sign(sess.key, sess.alg, sess.cached_challenge)
    headers = {"Sec-Secure-Session-Id": sess.id, "Secure-Session-Response": proof}
    with CaptureQueriesContext(connection) as ctx, redis_round_trips() as sent:
        response = device.send("POST", "/sessions/dbsc/refresh/", headers)
    assert response.status_code == 200
    binding_sql = [q["sql"] for q in ctx.captured_queries if BINDING_TABLE in q["sql"]]
    binding_redis = [text_of(c) for c in sent if b":b:" in text_of(c)]
    if name == "redis":
        assert binding_sql == []
        assert len(binding_redis) == 2  # GET, then the compare-and-set script
        assert b"EVALSHA" in binding_redis[1] or b"EVAL" in binding_redis[1]
    else:
        assert [q.split()[0] for q in binding_sql] == ["SELECT", "UPDATE"]
        assert binding_redis == []
