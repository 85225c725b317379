"""Redis engine with Redis unreachable: a clear 503, the cookie kept, one log
line, and service back by itself when Redis answers again."""

import logging

import pytest
from django.test import Client

from django_sessiontokens.exceptions import StoreUnavailable
from django_sessiontokens.stores.redis import RedisStore
from tests.conftest import aforce_login
from tests.redis_servers import RedisServer, require_binaries, serve_sessions_from

pytestmark = [pytest.mark.redis, pytest.mark.django_db]


@pytest.fixture
def server(tmp_path, settings):
    """The redis engine on a redis-server of this test's own."""
    require_binaries("redis-server")
    server = RedisServer(workdir=tmp_path).start()
    serve_sessions_from(settings, server, "redis", timeout=0.5)
    try:
        yield server
    finally:
        server.stop()


def stop_keeping_data(server):
    """Stop after a snapshot, so a restart finds the sessions again (as a
    Redis with persistence or a replica would)."""
    import redis

    client = redis.Redis(port=server.port)
    client.save()
    client.close()
    server.stop()


def ours(caplog):
    return [r for r in caplog.records if r.name.startswith("django_sessiontokens")]


def assert_unavailable(response, caplog, server, cookie):
    assert response.status_code == 503
    assert b"Session storage is not answering" in response.content
    assert "sessionid" not in response.cookies  # neither deleted nor re-set
    assert response["Retry-After"]
    records = ours(caplog)
    assert len(records) == 1, [r.getMessage() for r in records]
    record = records[0]
    assert record.levelno == logging.ERROR
    assert record.exc_info is None
    assert (record.alias, record.address) == ("redis", f"127.0.0.1:{server.port}")
    assert cookie not in caplog.text
    assert cookie.split(".")[1] not in caplog.text
    assert not [r for r in caplog.records if r.name == "django.request"]
    caplog.clear()


def test_503_keeps_the_cookie_and_service_resumes(server, user, caplog):
    c = Client()
    assert c.get(f"/sign-in/?username={user.username}").status_code == 200
    cookie = c.cookies["sessionid"].value
    assert c.get("/whoami/").json()["user"] == user.username
    stop_keeping_data(server)
    caplog.set_level(logging.DEBUG)
    assert_unavailable(c.get("/whoami/"), caplog, server, cookie)
    assert_unavailable(c.get("/set/?key=a&value=b"), caplog, server, cookie)
    assert c.cookies["sessionid"].value == cookie
    server.start()
    response = c.get("/whoami/")
    assert response.status_code == 200
    assert response.json()["user"] == user.username  # nobody was signed out
    assert c.get("/set/?key=a&value=b").status_code == 200
    assert c.get("/get/?key=a").json()["value"] == "b"
    assert ours(caplog) == []


@pytest.mark.django_db(transaction=True)
async def test_async_view_gets_the_503_too(server, user, caplog, async_client):
    await aforce_login(async_client, user)
    cookie = async_client.cookies["sessionid"].value
    assert (await async_client.get("/awhoami/")).json()["user"] == user.username
    server.stop()
    caplog.set_level(logging.DEBUG)
    assert_unavailable(await async_client.get("/awhoami/"), caplog, server, cookie)


def test_anonymous_requests_without_a_cookie_are_unaffected(server, caplog):
    server.stop()
    c = Client()
    assert c.get("/plain/").status_code == 200
    assert c.get("/whoami/").json()["user"] is None  # no cookie: nothing to load


class TouchesTheSessionEarly:
    """A middleware that reads the session before the view runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.session.get("anything")
        return self.get_response(request)


def test_a_failure_outside_the_view_is_a_503_too(server, user, settings, caplog):
    c = Client(raise_request_exception=False)
    c.get(f"/sign-in/?username={user.username}")
    cookie = c.cookies["sessionid"].value
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE,
        "tests.test_redis_unavailable.TouchesTheSessionEarly",
    ]
    server.stop()
    caplog.set_level(logging.DEBUG)
    response = c.get("/whoami/")
    assert response.status_code == 503
    assert "sessionid" not in response.cookies
    assert len(ours(caplog)) == 1
    assert cookie.split(".")[1] not in caplog.text


def test_the_store_raises_store_unavailable_with_where(server, settings):
    server.stop()
    with pytest.raises(StoreUnavailable) as info:
        RedisStore().get("abcdefghabcdefghabcdefgh")
    assert info.value.alias == "redis"
    assert info.value.address == f"127.0.0.1:{server.port}"


def test_a_client_factory_that_cannot_connect(settings, redis_client):
    settings.SESSIONTOKENS_REDIS_CLIENT = "tests.test_redis_unavailable.dead_cluster"
    with pytest.raises(StoreUnavailable) as info:
        RedisStore().get("abcdefghabcdefghabcdefgh")
    assert info.value.alias == "tests.test_redis_unavailable.dead_cluster"


def dead_cluster():
    from redis.cluster import RedisCluster

    from tests.redis_servers import free_port

    return RedisCluster(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.2)
