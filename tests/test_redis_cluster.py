"""The redis engine on a local three-master Redis Cluster started on free
ports for this module (``SESSIONTOKENS_REDIS_CLIENT`` -> ``RedisCluster``)."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from redis.cluster import RedisCluster, key_slot

from django_sessiontokens import services
from django_sessiontokens.backends.redis import SessionStore
from django_sessiontokens.core import tokens
from django_sessiontokens.core.policy import cutoffs
from tests.redis_servers import LocalCluster, require_binaries

pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.django_db]

_cluster: dict = {}


def cluster_client():
    """What ``SESSIONTOKENS_REDIS_CLIENT`` names in these tests."""
    return RedisCluster(host="127.0.0.1", port=_cluster["port"])


@pytest.fixture(scope="module")
def local_cluster(tmp_path_factory):
    require_binaries("redis-server", "redis-cli")
    cluster = LocalCluster(tmp_path_factory.mktemp("cluster")).start()
    _cluster["port"] = cluster.port
    try:
        yield cluster
    finally:
        _cluster.clear()
        cluster.stop()


@pytest.fixture
def rc(local_cluster, settings):
    settings.SESSION_ENGINE = "django_sessiontokens.backends.redis"
    settings.SESSIONTOKENS_REDIS_CLIENT = "tests.test_redis_cluster.cluster_client"
    client = RedisCluster(host="127.0.0.1", port=local_cluster.port)
    client.flushall(target_nodes=RedisCluster.PRIMARIES)
    try:
        yield client
    finally:
        client.flushall(target_nodes=RedisCluster.PRIMARIES)
        client.close()


def sign_in(user):
    c = Client()
    assert c.get(f"/sign-in/?username={user.username}").status_code == 200
    return c


def keys(rc, pattern="sessiontokens:*"):
    return sorted(k.decode() for k in rc.scan_iter(match=pattern))


def test_sessions_of_one_user_share_a_slot_and_are_listed(rc, user, other_user):
    clients = [sign_in(user) for _ in range(3)]
    sign_in(other_user)
    for c in clients:
        assert c.get("/whoami/").json()["user"] == user.username
    listed = services.list_user_sessions(user)
    cookies = {c.cookies["sessionid"].value.split(".")[0] for c in clients}
    assert {info.public_id for info in listed} == cookies
    mine = [k for k in keys(rc) if tokens.routing_tag(user.pk) in k]
    assert len(mine) == 4  # three sessions and their user's index
    assert len({key_slot(k.encode()) for k in mine}) == 1
    all_slots = {key_slot(k.encode()) for k in keys(rc, "sessiontokens:*:s:*")}
    assert len(all_slots) == 2  # two users, two slots
    total, page = SessionStore.get_store().search(cutoffs(timezone.now()), limit=2)
    assert total == 4
    assert [r.public_id for r in page] == [
        r.public_id for r in sorted(page, key=lambda r: r.last_activity, reverse=True)
    ]
    assert len(page) == 2


def test_writes_and_logout(rc, user):
    c = sign_in(user)
    assert c.get("/set/?key=a&value=b").status_code == 200
    assert c.get("/get/?key=a").json()["value"] == "b"
    c.post("/logout/")
    assert c.get("/whoami/").json()["user"] is None
    assert keys(rc, "sessiontokens:*:s:*") == []
    assert services.list_user_sessions(user) == []


def test_ending_a_users_sessions_but_one(rc, user):
    keep, *others = [sign_in(user) for _ in range(3)]
    keep_id = keep.cookies["sessionid"].value.split(".")[0]
    ended = services.end_user_sessions(user, except_=keep_id, reason="revoked")
    assert len(ended) == 2
    assert keep.get("/whoami/").json()["user"] == user.username
    for c in others:
        assert c.get("/whoami/").json()["user"] is None
    assert [i.public_id for i in services.list_user_sessions(user)] == [keep_id]
    assert SessionStore.get_store().search(cutoffs(timezone.now()))[0] == 1


def test_periodic_rotation_with_grace(rc, user, settings):
    settings.SESSIONTOKENS_ROTATE_INTERVAL = 60
    c = sign_in(user)
    old = c.cookies["sessionid"].value
    with time_machine.travel(timezone.now() + timedelta(seconds=90), tick=False):
        response = c.get("/whoami/")
        new = response.cookies["sessionid"].value
        assert new != old
        assert new.split(".")[0] == old.split(".")[0]  # same public id
        in_flight = Client()
        in_flight.cookies["sessionid"] = old
        assert in_flight.get("/whoami/").json()["user"] == user.username
    assert c.get("/whoami/").json()["user"] == user.username


def test_purge_on_the_cluster(rc, user):
    c = sign_in(user)
    later = timezone.now() + timedelta(days=2)
    assert sum(services.purge_expired(now=later)) == 1
    assert c.get("/whoami/").json()["user"] is None
    assert keys(rc) == []


def store_level(rc):
    from django_sessiontokens.stores.redis import RedisStore

    return RedisStore()


def test_tombstones_and_replace_on_the_cluster(rc, user):
    from tests.test_redis_store import make

    store = store_level(rc)
    old = make(None)
    store.create(old)
    assert store.mark_moving(old.public_id, old.secret_hash)
    assert store.get(old.public_id) is None and store.peek(old.public_id).moving
    new = make(str(user.pk))
    assert store.replace(old.public_id, new) is True  # BaseStore's, not atomic
    assert store.peek(old.public_id) is None
    assert [r.public_id for r in store.for_user(str(user.pk))] == [new.public_id]
    # Ended between mark and replace: nothing is inserted.
    assert store.mark_moving(new.public_id, new.secret_hash)
    store.delete([new.public_id])
    newer = make(str(user.pk))
    assert store.replace(new.public_id, newer) is False
    assert store.peek(newer.public_id) is None
    assert keys(rc, "sessiontokens:*:s:*") == []
    for name in ("expiry", "activity", "auth", "anon"):
        assert rc.zcard(f"sessiontokens:{{all}}:{name}") == 0, name


def test_a_lowered_limit_is_purged_by_range_on_the_cluster(rc, user, settings):
    from django_sessiontokens.stores.redis import RedisStore
    from tests.test_redis_store import make

    store = store_level(rc)
    now = timezone.now()
    idle = make(str(user.pk), last_activity=now - timedelta(seconds=300))
    anon = make(None, last_activity=now - timedelta(seconds=300))
    keep = make(str(user.pk))
    for record in (idle, anon, keep):
        store.create(record)
    # Another process (that never saw it) writes it: the owner is found.
    RedisStore().update(keep.public_id, {"ip": "192.0.2.77"})
    settings.SESSIONTOKENS_IDLE_TIMEOUT = 120
    settings.SESSION_COOKIE_AGE = 120
    cut = cutoffs(timezone.now())
    assert store.count_expired(cut) == 2
    assert store.search(cut)[0] == 1
    assert store.search(cut, state="expired")[0] == 1
    removed = {r.public_id for b in store.purge_expired(cut, batch_size=10) for r in b}
    assert removed == {idle.public_id, anon.public_id}
    assert [r.public_id for r in store.all()] == [keep.public_id]
    assert rc.zcard("sessiontokens:{all}:anon") == 0
    assert rc.zcard("sessiontokens:{all}:activity") == 1


def test_remembered_sessions_on_the_cluster(rc, user, settings):
    """The follow-up pipelines keep remembered sessions in their own sets;
    the remembered bounds purge them, the ordinary ones leave them alone."""
    from tests.test_redis_store import make

    store = store_level(rc)
    now = timezone.now()
    idle = timedelta(hours=2)
    kept = make(str(user.pk), last_activity=now - idle, remembered=True)
    ordinary = make(str(user.pk), last_activity=now - idle)
    for record in (kept, ordinary):
        store.create(record)
    assert rc.zcard("sessiontokens:{all}:ractivity") == 1
    assert rc.zcard("sessiontokens:{all}:rauth") == 1
    assert rc.zcard("sessiontokens:{all}:activity") == 1
    settings.SESSIONTOKENS_IDLE_TIMEOUT = 3600
    settings.SESSIONTOKENS_REMEMBERED_IDLE_TIMEOUT = None
    cut = cutoffs(timezone.now())
    assert [r.public_id for r in store.search(cut)[1]] == [kept.public_id]
    removed = {r.public_id for b in store.purge_expired(cut, batch_size=10) for r in b}
    assert removed == {ordinary.public_id}
    settings.SESSIONTOKENS_REMEMBERED_IDLE_TIMEOUT = 3600
    cut = cutoffs(timezone.now())
    assert store.count_expired(cut) == 1
    assert sum(store.purge_expired_quietly(cut, batch_size=10)) == 1
    assert rc.zcard("sessiontokens:{all}:ractivity") == 0
    assert keys(rc, "sessiontokens:*:s:*") == []
