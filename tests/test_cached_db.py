"""cached_db: the database decides, Redis serves reads, no revoked session
comes back from the cache, and Redis being down loses nothing."""

import logging
import os
import signal
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_sessiontokens.core.policy import cutoffs
from django_sessiontokens.exceptions import UpdateError
from django_sessiontokens.stores.cached_db import CachedDatabaseStore
from django_sessiontokens.stores.db import DatabaseStore
from tests.redis_servers import RedisServer, require_binaries, serve_sessions_from
from tests.test_redis_store import make

pytestmark = [pytest.mark.redis, pytest.mark.django_db]


def session_queries(queries):
    return [q["sql"] for q in queries if "sessiontokens_session" in q["sql"]]


class RacingDatabase(DatabaseStore):
    """Runs ``between`` right after a read, as a concurrent request would."""

    between = None

    def get(self, public_id):
        record = super().get(public_id)
        if self.between is not None:
            action, self.between = self.between, None
            action()
        return record


@pytest.fixture
def cstore(redis_client, settings):
    settings.SESSION_ENGINE = "django_sessiontokens.backends.cached_db"
    return CachedDatabaseStore(RacingDatabase())


@pytest.fixture
def record(cstore):
    record = make(None, minutes=60)
    cstore.db.create(record)  # in the database only: the cache is cold
    return record


def test_a_miss_fills_the_cache_and_the_next_read_costs_no_sql(
    cstore, record, redis_client, settings
):
    settings.SESSIONTOKENS_CACHE_TIMEOUT = 120
    assert cstore.get(record.public_id) == record
    assert 110 < redis_client.ttl(cstore.key(record.public_id)) <= 120
    with CaptureQueriesContext(connection) as ctx:
        assert cstore.get(record.public_id) == record
    assert session_queries(ctx.captured_queries) == []


def test_cache_ttl_is_capped_by_the_time_left(cstore, redis_client, settings, user):
    settings.SESSIONTOKENS_CACHE_TIMEOUT = 3600
    record = make(user.pk, minutes=2)
    cstore.create(record)
    assert redis_client.ttl(cstore.key(record.public_id)) <= 120


def test_an_ended_session_cannot_be_refilled_by_a_reader_that_read_before(
    cstore, record
):
    # The reader misses the cache and reads the row; before it fills the
    # cache, another request ends the session.
    cstore.db.between = lambda: cstore.delete([record.public_id])
    assert cstore.get(record.public_id) == record  # what that reader saw
    assert cstore.db.get(record.public_id) is None
    assert cstore.get(record.public_id) is None


def test_ending_a_cached_session_hides_it_at_once(cstore, record):
    cstore.get(record.public_id)
    removed = cstore.delete([record.public_id])
    assert [r.public_id for r in removed] == [record.public_id]
    with CaptureQueriesContext(connection) as ctx:
        assert cstore.get(record.public_id) is None
    assert session_queries(ctx.captured_queries) == []  # the marker answered
    with pytest.raises(UpdateError):
        cstore.update(record.public_id, {"data": "ghost"})
    assert cstore.get(record.public_id) is None


def test_a_write_during_a_slow_read_does_not_leave_stale_data(cstore, record):
    cstore.db.between = lambda: cstore.update(record.public_id, {"data": "new"})
    assert cstore.get(record.public_id).data == record.data  # the slow reader
    assert cstore.get(record.public_id).data == "new"


def test_updates_refresh_a_cached_copy(cstore, record):
    cstore.get(record.public_id)
    later = record.last_activity + timedelta(seconds=5)
    cstore.update(record.public_id, {"data": "x", "last_activity": later})
    with CaptureQueriesContext(connection) as ctx:
        cached = cstore.get(record.public_id)
    assert session_queries(ctx.captured_queries) == []
    assert (cached.data, cached.last_activity) == ("x", later)


def test_a_lost_rotation_race_drops_the_cached_copy(cstore, record):
    cstore.get(record.public_id)
    cstore.db.rotate(record.public_id, record.secret_hash, {"secret_hash": "won"})
    assert not cstore.rotate(
        record.public_id, record.secret_hash, {"secret_hash": "lost"}
    )
    assert cstore.get(record.public_id).secret_hash == "won"
    assert cstore.rotate(record.public_id, "won", {"secret_hash": "third"})
    assert cstore.get(record.public_id).secret_hash == "third"


def test_purge_marks_removed_sessions_gone(cstore, user):
    record = make(user.pk, minutes=1)
    cstore.create(record)
    later = timezone.now() + timedelta(minutes=5)
    assert sum(len(b) for b in cstore.purge_expired(cutoffs(later), batch_size=10)) == 1
    assert cstore.get(record.public_id) is None


def test_listings_come_from_the_database(cstore, user):
    records = [make(user.pk) for _ in range(3)]
    for record in records:
        cstore.create(record)
    listed = cstore.for_user(str(user.pk))
    assert {r.public_id for r in listed} == {r.public_id for r in records}
    assert cstore.count() == 3
    assert cstore.search(cutoffs(timezone.now()))[0] == 3


# Redis unavailable -------------------------------------------------------
@pytest.fixture
def own_redis(tmp_path, settings):
    """cached_db on a redis-server of this test's own, with short timeouts."""
    require_binaries("redis-server")
    server = RedisServer(workdir=tmp_path).start()
    serve_sessions_from(settings, server, "cached_db", timeout=0.3)
    try:
        yield server
    finally:
        if server.process is not None and server.process.poll() is None:
            os.kill(server.process.pid, signal.SIGCONT)
        server.stop()


def test_redis_down_falls_back_to_the_database_and_recovers(own_redis, caplog, user):
    from django_sessiontokens.backends.cached_db import SessionStore

    store = SessionStore.get_store()
    store._warned_at = 0.0
    c = Client()
    assert c.get(f"/sign-in/?username={user.username}").status_code == 200
    c.get("/set/?key=a&value=1")
    own_redis.stop()
    caplog.set_level(logging.WARNING, logger="django_sessiontokens")
    assert c.get("/whoami/").json()["user"] == user.username
    c.get("/set/?key=a&value=2")  # a write while Redis is down
    assert c.get("/get/?key=a").json()["value"] == "2"
    other = Client()
    other.get(f"/sign-in/?username={user.username}")  # a login while down
    assert other.get("/whoami/").json()["user"] == user.username
    warnings = [r for r in caplog.records if r.name == "django_sessiontokens"]
    assert len(warnings) == 1  # rate-limited
    assert warnings[0].levelno == logging.WARNING
    assert f"127.0.0.1:{own_redis.port}" in warnings[0].getMessage()
    own_redis.start()  # same port, empty: nothing was only in Redis
    assert c.get("/get/?key=a").json()["value"] == "2"
    assert other.get("/whoami/").json()["user"] == user.username
    public_id = other.cookies["sessionid"].value.split(".")[0]
    assert own_redis_has(own_redis, store.key(public_id))  # cached again
    with CaptureQueriesContext(connection) as ctx:
        assert other.get("/whoami/").json()["user"] == user.username
    assert session_queries(ctx.captured_queries) == []


def own_redis_has(server, key):
    import redis

    client = redis.Redis(port=server.port)
    try:
        return bool(client.exists(key))
    finally:
        client.close()


def test_an_end_while_redis_hangs_retires_the_cached_copy(own_redis, user):
    from django_sessiontokens import services
    from django_sessiontokens.backends.cached_db import SessionStore

    store = SessionStore.get_store()
    c = Client()
    c.get(f"/sign-in/?username={user.username}")
    assert c.get("/whoami/").json()["user"] == user.username  # cached now
    public_id = c.cookies["sessionid"].value.split(".")[0]
    stale_key = store.key(public_id)
    assert own_redis_has(own_redis, stale_key)
    os.kill(own_redis.process.pid, signal.SIGSTOP)  # Redis keeps the copy
    try:
        ended = services.end_user_sessions(user, reason="revoked")
        assert [i.public_id for i in ended] == [public_id]
    finally:
        os.kill(own_redis.process.pid, signal.SIGCONT)
    # The stale copy is still in Redis, but the process moved the cache
    # generation on (in the database) when it could not mark it gone: the
    # copy is never used again, here or in any other process.
    assert c.get("/whoami/").json()["user"] is None
    assert store.get(public_id) is None
    assert own_redis_has(own_redis, stale_key)  # still there, never read
