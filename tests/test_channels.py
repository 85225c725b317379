"""Channels websockets through ``django_sessiontokens.channels``, served by
a real uvicorn in subprocesses (two servers per engine: the session is ended
in the other process as well as in the socket's own), with a real websocket
client, on every engine.

Each test opens several sockets and ends their sessions by every path at
once, then measures how long each socket took to be closed with code 4401.
"""

import asyncio
import json
import time

import pytest

pytest.importorskip("channels")
websockets = pytest.importorskip("websockets")

from websockets.asyncio.client import connect  # noqa: E402
from websockets.exceptions import ConnectionClosed  # noqa: E402

from django_sessiontokens.channels import (  # noqa: E402
    CLOSE_CODE,
    CLOSE_REASON,
)
from django_sessiontokens.defaults import DEFAULTS  # noqa: E402
from tests.asgi_server import AsgiServer, Browser, prepare_database, server_env  # noqa: E402
from tests.conftest import ENGINES, REDIS_ENGINES, _require  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

USERS = ["out", "revoked", "pwchange", "expiring", "evicted", "active", "carol"]
COST_USERS = [f"cost{n}" for n in range(5)]
#: The documented bound: the check interval plus a store read and the close.
NEW = "N3w-pw!x"
DEFAULT_CHECK_INTERVAL = DEFAULTS["CHANNELS_CHECK_INTERVAL"]
BOUND = DEFAULT_CHECK_INTERVAL + 1.5


@pytest.fixture(scope="module")
def site_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("asgi") / "site.sqlite3"
    prepare_database(path, [f"{e}-{u}" for e in ENGINES for u in USERS] + COST_USERS)
    return path


@pytest.fixture(scope="module", params=ENGINES)
def servers(request, site_db):
    """Two uvicorn processes serving the same site with one engine (for all
    the tests of that engine: the servers start once per engine)."""
    name = request.param
    if name in REDIS_ENGINES:
        _redis_flushed()
    Browser.prefix = name
    started = [AsgiServer(server_env(site_db, name)).start() for _ in range(2)]
    try:
        for server in started:
            server.wait()
        yield started
    finally:
        for server in started:
            server.stop()
        if name in REDIS_ENGINES:
            _redis_flushed()


def _redis_flushed():
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2)
    try:
        client.flushdb()
    except redis.exceptions.RedisError as exc:
        _require(f"Redis at {settings.REDIS_URL} does not answer: {exc}")
    finally:
        client.close()


async def _open(server, browser):
    ws = await connect(
        server.ws_url, additional_headers={"Cookie": browser.cookie_header}
    )
    hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
    return ws, hello


async def _closed_after(ws, started, *, ping=False):
    """Seconds from ``started`` until the server closed ``ws`` (4401)."""
    try:
        while True:
            if ping:
                await ws.send("ping")
            await asyncio.wait_for(ws.recv(), 15)
            if ping:
                await asyncio.sleep(0.2)
    except ConnectionClosed as closed:
        assert closed.rcvd is not None, "the server did not close the socket"
        assert closed.rcvd.code == CLOSE_CODE
        assert closed.rcvd.reason == CLOSE_REASON
        return time.monotonic() - started


def _run(coro):
    return asyncio.run(coro)


def test_sockets_close_when_their_session_ends(servers):
    a, b = servers

    async def scenario():
        browsers = {name: Browser(a).sign_in(name) for name in USERS[:4]}
        sockets = {}
        for name, browser in browsers.items():
            ws, hello = await _open(a, browser)
            assert hello == {"user": browser.username, "public_id": browser.public_id}
            sockets[name] = ws
        # A socket with no session, or a forged one, is anonymous.
        ws, hello = await _open(a, Browser(a))
        assert hello["user"] is None
        await ws.close()

        ended = {}
        # Logout in the socket's own process (woken by session_ended).
        status, _ = browsers["out"].csrf_post("/logout/")
        assert status in (200, 302)
        ended["out"] = time.monotonic()
        # Revocation from another device, in the other process.
        other = Browser(b).sign_in("revoked")
        status, _ = other.csrf_post(
            f"/sessions/api/{browsers['revoked'].public_id}/", method="DELETE"
        )
        assert status == 200
        ended["revoked"] = time.monotonic()
        # A password change elsewhere ends every other session.
        changer = Browser(b).sign_in("pwchange")
        status, _ = changer.csrf_post(
            "/password/",
            {
                "old_password": "pw",
                "new_password1": "N3w-pw!x",
                "new_password2": "N3w-pw!x",
            },
        )
        assert status == 302
        ended["pwchange"] = time.monotonic()
        # Expiry: the session ends two seconds after its last activity.
        status, _ = browsers["expiring"].request("GET", "/expire-in/?seconds=2")
        assert status == 200
        ended["expiring"] = time.monotonic() + 2

        took = await asyncio.gather(
            *(_closed_after(sockets[name], ended[name]) for name in ended)
        )
        return dict(zip(ended, took))

    took = _run(scenario())
    print("closed after (s):", {k: round(v, 2) for k, v in took.items()})
    assert all(value < BOUND for value in took.values()), took
    assert took["out"] < 2.0  # same process: woken at once


def test_eviction_and_a_new_sign_in_close_sockets(servers):
    a, b = servers

    async def scenario():
        oldest = Browser(a).sign_in("evicted")
        ws, hello = await _open(a, oldest)
        assert hello["user"] == oldest.username
        for _ in range(3):  # MAX_SESSIONS_PER_USER = 3 on these servers
            Browser(b).sign_in("evicted")
        started = time.monotonic()
        first = await _closed_after(ws, started)
        # Signing in again on the same browser gives a new public id: the
        # socket opened before belongs to a session that no longer exists.
        browser = Browser(a).sign_in("carol")
        ws, _ = await _open(a, browser)
        browser.sign_in("carol")
        second = await _closed_after(ws, time.monotonic())
        return first, second

    first, second = _run(scenario())
    assert first < BOUND and second < 2.0


def test_an_active_socket_touches_its_session_and_keeps_it_alive(servers):
    a, _ = servers

    async def scenario():
        browser = Browser(a).sign_in("active")
        # Idle limit 3 s; the socket's frames keep the session alive.
        assert browser.request("GET", "/expire-in/?seconds=3")[0] == 200
        ws, _ = await _open(a, browser)
        before = json.loads(browser.request("GET", "/sessions/api/")[1])
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            await ws.send("ping")
            assert await asyncio.wait_for(ws.recv(), 5) == "ping"
            await asyncio.sleep(0.25)
        await ws.close()
        after = json.loads(browser.request("GET", "/sessions/api/")[1])
        return before, after

    before, after = _run(scenario())
    # Still signed in after 5 s of an idle limit of 3 s, and last activity
    # moved (written by the socket's checks, once per touch interval).
    assert after["sessions"], after
    assert (
        after["sessions"][0]["last_activity"] > before["sessions"][0]["last_activity"]
    )


def test_an_ended_cookie_opens_an_anonymous_socket(servers):
    a, _ = servers

    async def scenario():
        browser = Browser(a).sign_in("carol")
        cookie = dict(browser.cookies)
        browser.csrf_post("/logout/")
        browser.cookies = cookie
        ws, hello = await _open(a, browser)
        await ws.close()
        return hello

    assert _run(scenario()) == {"user": None, "public_id": None}


def _commands(client):
    stats = client.info("commandstats")
    return sum(v["calls"] for k, v in stats.items() if k != "cmdstat_info")


def test_the_cost_of_open_sockets_in_store_reads(site_db, tmp_path):
    """Open idle sockets on the redis engine, alone on a throwaway
    redis-server: every Redis command they cause is counted."""
    import redis

    from tests.redis_servers import RedisServer, require_binaries

    require_binaries("redis-server")
    store = RedisServer(workdir=tmp_path).start()
    server = None
    try:
        env = server_env(site_db, "redis", SESSIONTOKENS_TEST_REDIS_URL=store.url)
        server = AsgiServer(env).start().wait()
        client = redis.Redis(port=store.port)
        window = 9.0

        async def scenario():
            Browser.prefix = ""
            browsers = [Browser(server).sign_in(name) for name in COST_USERS]
            sockets = [(await _open(server, b))[0] for b in browsers]
            await asyncio.sleep(0.5)
            before = _commands(client)
            await asyncio.sleep(window)
            after = _commands(client)
            for ws in sockets:
                await ws.close()
            return after - before

        commands = _run(scenario())
        client.close()
    finally:
        if server is not None:
            server.stop()
        store.stop()
    per_socket_minute = commands / len(COST_USERS) / (window / 60)
    print(f"redis commands per idle socket per minute: {per_socket_minute:.1f}")
    expected = 60 / DEFAULT_CHECK_INTERVAL
    assert expected * 0.5 <= per_socket_minute <= expected * 1.5
