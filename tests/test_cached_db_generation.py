"""cached_db's cache generation: checked at most once per
``SESSIONTOKENS_CACHE_CHECK_INTERVAL`` (clock injected here), moved on when
Redis restarted or missed a change; copies of an older generation are never
used; a write over a stale copy is refused (``StaleCopy``)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from django_sessiontokens import checks
from django_sessiontokens.exceptions import StaleCopy
from django_sessiontokens.models import CacheEpoch
from django_sessiontokens.stores.cached_db import CachedDatabaseStore
from django_sessiontokens.stores.redis import codec
from tests.test_redis_store import make

pytestmark = [pytest.mark.redis, pytest.mark.django_db]


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def epoch_queries(queries):
    return [q["sql"] for q in queries if "sessiontokens_cache_epoch" in q["sql"]]


def session_queries(queries):
    return [q["sql"] for q in queries if "sessiontokens_session" in q["sql"]]


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def cstore(redis_client, settings, clock):
    settings.SESSION_ENGINE = "django_sessiontokens.backends.cached_db"
    return CachedDatabaseStore(clock=clock)


def test_the_generation_is_checked_once_per_interval(cstore, clock, settings):
    settings.SESSIONTOKENS_CACHE_CHECK_INTERVAL = 2
    record = make(None)
    cstore.db.create(record)
    with CaptureQueriesContext(connection) as ctx:
        assert cstore.get(record.public_id) == record  # checks, misses, fills
    assert len(epoch_queries(ctx.captured_queries)) >= 1
    for step in (0.5, 1.0, 1.9):
        clock.now = 1000.0 + step
        with CaptureQueriesContext(connection) as ctx:
            assert cstore.get(record.public_id) == record
        assert ctx.captured_queries == []  # warm: no SQL at all
    clock.now = 1002.0
    with CaptureQueriesContext(connection) as ctx:
        assert cstore.get(record.public_id) == record
    assert len(epoch_queries(ctx.captured_queries)) == 1  # the check, no more
    assert session_queries(ctx.captured_queries) == []


def test_a_restarted_redis_moves_the_generation_on(cstore, clock, redis_client):
    record = make(None)
    cstore.db.create(record)
    assert cstore.get(record.public_id) == record
    first = cstore.epoch.value
    row = CacheEpoch.objects.get(pk=1)
    assert row.redis_run_id == redis_client.info("server")["run_id"]
    # As if Redis had restarted since: another run id was recorded.
    CacheEpoch.objects.filter(pk=1).update(redis_run_id="before-the-restart")
    old_key = cstore.key(record.public_id)
    clock.now += 10
    assert cstore.key(record.public_id) != old_key
    moved = cstore.epoch.value
    assert moved != first
    other = CachedDatabaseStore(clock=clock)  # another process: no second move
    assert other.epoch.current() == moved
    assert CacheEpoch.objects.get(pk=1).value == moved


def test_copies_of_an_older_generation_are_never_used(cstore, clock, redis_client):
    record = make(None, data='{"n": 1}')
    cstore.create(record)
    stale_key = cstore.key(record.public_id)
    cstore.db.update(record.public_id, {"data": '{"n": 4}'})  # Redis missed it
    other = CachedDatabaseStore(clock=clock)
    other.epoch.move_on()  # what the process that missed it does
    assert redis_client.get(stale_key) is not None  # still there, unused
    assert cstore.get(record.public_id).data == '{"n": 1}'  # within the interval
    clock.now += 10
    assert cstore.get(record.public_id).data == '{"n": 4}'
    assert cstore.key(record.public_id) != stale_key


def test_a_write_over_a_stale_copy_is_refused_and_the_copy_dropped(cstore):
    record = make(None, data='{"n": 1}')
    cstore.create(record)
    for n in (2, 3, 4):  # acknowledged writes the copy never saw
        cstore.db.update(record.public_id, {"data": f'{{"n": {n}}}'})
    copy = cstore.get(record.public_id)
    assert copy.data == '{"n": 1}'
    with pytest.raises(StaleCopy):
        cstore.update(record.public_id, {"data": '{"n": 2}'})
    assert cstore.db.get(record.public_id).data == '{"n": 4}'
    fresh = cstore.get(record.public_id)
    assert fresh.data == '{"n": 4}'
    cstore.update(record.public_id, {"data": '{"n": 5}'})
    assert cstore.get(record.public_id).data == '{"n": 5}'  # refreshed copy
    cstore.update(record.public_id, {"data": '{"n": 6}'})  # version followed
    assert cstore.db.get(record.public_id).data == '{"n": 6}'


def test_the_copy_version_follows_database_writes(cstore, redis_client):
    record = make(None)
    cstore.create(record)
    cstore.update(record.public_id, {"data": "a"})
    cstore.update(record.public_id, {"data": "b"})
    raw = redis_client.get(cstore.key(record.public_id))
    assert codec.unpack(raw).version == cstore.db.get(record.public_id).version


def test_moving_tombstones_are_never_served_from_the_cache(cstore):
    record = make(None)
    cstore.create(record)
    assert cstore.get(record.public_id) == record
    assert cstore.mark_moving(record.public_id, record.secret_hash)
    assert cstore.get(record.public_id) is None
    assert cstore.peek(record.public_id).moving
    new = make(None)
    assert cstore.replace(record.public_id, new) is True
    assert cstore.get(new.public_id) == new
    assert cstore.peek(record.public_id) is None
    # Ended between mark and replace: nothing comes back.
    assert cstore.mark_moving(new.public_id, new.secret_hash)
    cstore.delete([new.public_id])
    assert cstore.replace(new.public_id, make(None)) is False
    assert cstore.count() == 0


@pytest.mark.parametrize(
    "value, ok",
    [
        (2, True),
        (0, True),
        (60, True),
        (timedelta(seconds=1), True),
        (-1, False),
        (61, False),
        ("2", False),
        (None, False),
    ],
)
def test_check_interval_setting_is_checked(settings, value, ok):
    settings.SESSIONTOKENS_CACHE_CHECK_INTERVAL = value
    errors = checks.check_cache_check_interval()
    assert (errors == []) is ok
    if not ok:
        assert errors[0].id == "sessiontokens.E023" and errors[0].hint
