"""A frozen Redis (SIGSTOP): the socket timeout bounds the wait, a write is
never sent twice (it may still run when Redis resumes, but once), and a
request gets a 503."""

import os
import signal
import time

import pytest
import redis

from django_sessiontokens.exceptions import StoreUnavailable
from tests.conftest import sign_in, signed_in_as
from tests.redis_servers import RedisServer, require_binaries, serve_sessions_from

pytestmark = [pytest.mark.redis, pytest.mark.django_db]
TIMEOUT = 0.5


@pytest.fixture
def server(tmp_path, settings):
    require_binaries("redis-server")
    server = RedisServer(workdir=tmp_path).start()
    serve_sessions_from(settings, server, "redis", timeout=TIMEOUT)
    try:
        yield server
    finally:
        if server.process is not None:
            os.kill(server.process.pid, signal.SIGCONT)
        server.stop()


def evalsha_calls(server):
    client = redis.Redis(port=server.port)
    try:
        stats = client.info("commandstats")
    finally:
        client.close()
    return stats.get("cmdstat_evalsha", {}).get("calls", 0)


def test_a_write_to_a_frozen_redis_waits_one_timeout_and_is_sent_once(
    server, user, store_of_redis
):
    client = sign_in(user)
    record = store_of_redis.get(client.cookies["sessionid"].value[:24])
    before = evalsha_calls(server)
    os.kill(server.process.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            store_of_redis.update(record.public_id, {"data": '{"n":1}'})
        waited = time.monotonic() - started
    finally:
        os.kill(server.process.pid, signal.SIGCONT)
    assert waited < TIMEOUT * 1.8, waited  # one timeout, not two
    assert evalsha_calls(server) - before <= 1  # buffered once, never resent
    # Redis answers again; the write ran once or not at all, never in part.
    assert store_of_redis.get(record.public_id).data in ('{"n":1}', record.data)
    assert signed_in_as(sign_in(user)) == user.username


@pytest.fixture
def store_of_redis(server):
    from django_sessiontokens.backends.redis import SessionStore

    return SessionStore.get_store()
