"""Real threads against a real server, on every engine.

Each test starts Django's ``LiveServerThread`` (what pytest-django's
``live_server`` runs) after the ``engine`` fixture has chosen the engine: the
server loads the middleware, and so the engine, once when it starts, and
``live_server`` starts once per test session.

SQLite in memory: Django hands the test's one connection to every server
thread, and a connection's transaction state (``in_atomic_block``, savepoint
names) is per connection, so two requests inside ``atomic()`` at once corrupt
each other ("no such savepoint"). No deployment shares a connection between
threads, so in that one configuration the server answers the parallel
connections one request at a time. The true races run on PostgreSQL
(``DATABASE_URL``), on a SQLite file (``SQLITE_TEST_NAME``) and, for session
storage, on Redis.
"""

import http.client
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from http.cookies import SimpleCookie

import pytest
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.servers.basehttp import ThreadedWSGIServer
from django.db import connections
from django.test.testcases import LiveServerThread
from django.utils import timezone

from django_sessiontokens.core import tokens

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
PARALLEL = 50
AGENT = "concurrency-test/1.0"


class _Server(ThreadedWSGIServer):
    request_queue_size = 128  # PARALLEL connections arrive at once


class _Thread(LiveServerThread):
    server_class = _Server


def _one_at_a_time(app):
    """Static files handler that serves one request at a time."""
    handler = StaticFilesHandler(app)
    lock = threading.Lock()

    def serialized(environ, start_response):
        with lock:
            return list(handler(environ, start_response))

    return serialized


@pytest.fixture
def server(engine, transactional_db):
    shared = {
        conn.alias: conn
        for conn in connections.all()
        if conn.vendor == "sqlite" and conn.is_in_memory_db()
    }
    for conn in shared.values():
        conn.inc_thread_sharing()
    wrap = _one_at_a_time if shared else StaticFilesHandler
    thread = _Thread("127.0.0.1", wrap, shared or None, port=0)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    yield thread.port
    thread.terminate()
    for conn in shared.values():
        conn.dec_thread_sharing()


def call(port, path, cookie=None):
    """``(status, json body or None, new cookie value or None)``."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"User-Agent": AGENT}
    if cookie:
        headers["Cookie"] = f"sessionid={cookie}"
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        jar = SimpleCookie()
        for header in response.headers.get_all("Set-Cookie") or []:
            jar.load(header)
        new = jar["sessionid"].value if "sessionid" in jar else None
        is_json = response.headers.get("Content-Type") == "application/json"
        return response.status, json.loads(body) if is_json else None, new
    finally:
        conn.close()


def in_parallel(function, count=PARALLEL):
    barrier = threading.Barrier(count)

    def run(_):
        barrier.wait()
        return function()

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def live_sessions(store, user):
    now = timezone.now()
    return [r for r in store.for_user(str(user.pk)) if r.expires_at > now]


def age_rotation(store, public_id, seconds):
    """Move the last rotation into the past (the server runs in other
    threads, so the clock cannot be frozen)."""
    record = store.get(public_id)
    rotated_at = (record.rotated_at or record.created_at) - timedelta(seconds=seconds)
    assert store.rotate(public_id, record.secret_hash, {"rotated_at": rotated_at})


def test_parallel_requests_across_a_rotation_keep_the_user_signed_in(
    server, engine, store, user, settings
):
    settings.SESSIONTOKENS_ROTATE_INTERVAL = 600
    settings.SESSIONTOKENS_ROTATION_GRACE = 30
    status, _, cookie = call(server, f"/sign-in/?username={user.username}")
    assert status == 200
    assert cookie
    public_id = cookie[:24]
    age_rotation(store, public_id, 601)  # rotation is due

    results = in_parallel(lambda: call(server, "/whoami/", cookie))

    assert [status for status, _, _ in results] == [200] * PARALLEL
    assert [body["user"] for _, body, _ in results] == [user.username] * PARALLEL
    # Every response carries the one new token: winner and followers alike.
    new_cookies = {new for _, _, new in results}
    assert len(new_cookies) == 1
    [new] = new_cookies
    assert new and new != cookie
    assert new[:24] == public_id
    [record] = live_sessions(store, user)
    assert record.public_id == public_id
    assert tokens.verify(new[25:], record.secret_hash)
    assert call(server, "/whoami/", new)[1]["user"] == user.username

    # Within grace the old token still maps to the new one...
    assert call(server, "/whoami/", cookie)[1]["user"] == user.username
    # ...after it, the old token is theft and ends the session.
    age_rotation(store, public_id, 31)
    assert call(server, "/whoami/", cookie)[1]["user"] is None
    assert call(server, "/whoami/", new)[1]["user"] is None
    assert live_sessions(store, user) == []


@pytest.mark.parametrize("policy", ["evict_oldest", "refuse"])
def test_parallel_logins_beyond_the_limit_leave_exactly_the_limit(
    server, engine, store, user, settings, policy
):
    settings.SESSIONTOKENS_MAX_SESSIONS_PER_USER = 3
    settings.SESSIONTOKENS_LIMIT_POLICY = policy
    logins = 20

    results = in_parallel(
        lambda: call(server, f"/sign-in/?username={user.username}"), logins
    )

    statuses = sorted(status for status, _, _ in results)
    assert len(live_sessions(store, user)) == 3
    if policy == "refuse":
        assert statuses == [200] * 3 + [403] * (logins - 3)
        signed_in = [new for status, _, new in results if status == 200]
        for cookie in signed_in:
            assert call(server, "/whoami/", cookie)[1]["user"] == user.username
    else:
        # A session evicted while its own login was still finishing gets
        # Django's SessionInterrupted (400); nothing else goes wrong.
        assert set(statuses) <= {200, 400}
        assert statuses.count(200) >= 3
        survivors = {r.public_id for r in live_sessions(store, user)}
        answered = {new[:24] for status, _, new in results if status == 200 and new}
        assert survivors <= answered
