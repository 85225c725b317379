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
