"""The Redis store on the real local Redis: layout, atomic writes, index."""

from datetime import timedelta

import pytest
from django.utils import timezone
from redis.cluster import key_slot

from django_sessiontokens.core import tokens
from django_sessiontokens.core.policy import cutoffs
from django_sessiontokens.exceptions import CreateError, UpdateError
from django_sessiontokens.stores.base import SessionRecord
from django_sessiontokens.stores.redis import RedisStore

pytestmark = pytest.mark.redis


@pytest.fixture
def rstore(redis_client, settings):
    settings.SESSION_ENGINE = "django_sessiontokens.backends.redis"
    return RedisStore()


def make(user_id=None, *, minutes=60, now=None, **extra):
    now = now or timezone.now()
    token = tokens.new_token(user_id)
    values = {
        "public_id": token.public_id,
        "secret_hash": token.secret_hash,
        "created_at": now,
        "last_activity": now,
        "expires_at": now + timedelta(minutes=minutes),
        "data": '{"k": "v"}',
        "user_id": None if user_id is None else str(user_id),
        "authenticated_at": now if user_id is not None else None,
        "ip": "192.0.2.1",
        "user_agent": "Mozilla/5.0",
    }
    values.update(extra)
    return SessionRecord(**values)


def key_of(redis_client, pattern):
    keys = [k.decode() for k in redis_client.keys(pattern)]
    assert len(keys) == 1, keys
    return keys[0]


def test_record_round_trips_exactly(rstore):
    record = make("7", rotated_at=timezone.now(), retired_hashes="a b")
    rstore.create(record)
    assert rstore.get(record.public_id) == record
    anonymous = make(None, ip=None, user_agent="")
    rstore.create(anonymous)
    assert rstore.get(anonymous.public_id) == anonymous
    assert rstore.get(tokens.new_token().public_id) is None


def test_keys_share_the_sessions_hash_tag_and_ttl_follows_expiry(rstore, redis_client):
    record = make("42", minutes=30)
    rstore.create(record)
    tag = record.public_id[: tokens.TAG_LENGTH]
    session_key = key_of(redis_client, "sessiontokens:*:s:*")
    index_key = key_of(redis_client, "sessiontokens:*:u:*")
    assert session_key == f"sessiontokens:{{{tag}}}:s:{record.public_id}"
    assert index_key == f"sessiontokens:{{{tag}}}:u:42"
    assert key_slot(session_key.encode()) == key_slot(index_key.encode())
    assert 29 * 60 < redis_client.ttl(session_key) <= 30 * 60
    assert redis_client.ttl(index_key) >= 29 * 60


def test_create_refuses_an_existing_public_id(rstore):
    record = make("1")
    rstore.create(record)
    with pytest.raises(CreateError):
        rstore.create(record.replace(data="other"))
    assert rstore.get(record.public_id).data == record.data


def test_update_changes_fields_and_ttl_but_never_recreates(rstore, redis_client):
    record = make("1", minutes=5)
    rstore.create(record)
    later = record.last_activity + timedelta(seconds=30)
    rstore.update(
        record.public_id,
        {
            "data": "new",
            "last_activity": later,
            "expires_at": later + timedelta(hours=1),
        },
    )
    stored = rstore.get(record.public_id)
    assert (stored.data, stored.last_activity) == ("new", later)
    assert redis_client.ttl(rstore.key(record.public_id)) > 50 * 60
    rstore.delete([record.public_id])
    with pytest.raises(UpdateError):
        rstore.update(record.public_id, {"data": "ghost"})
    assert rstore.get(record.public_id) is None
    assert redis_client.keys("sessiontokens:*:s:*") == []
    with pytest.raises(ValueError, match="secret_hash"):
        rstore.update(record.public_id, {"secret_hash": "x"})


def test_update_moves_the_session_out_of_the_index_when_signed_out(rstore):
    record = make("5")
    rstore.create(record)
    assert [r.public_id for r in rstore.for_user("5")] == [record.public_id]
    rstore.update(record.public_id, {"user_id": None, "authenticated_at": None})
    assert rstore.for_user("5") == []
    assert rstore.search(cutoffs(timezone.now()), state="all") == (0, [])


def test_rotate_is_compare_and_set(rstore):
    record = make("1")
    rstore.create(record)
    changes = {"secret_hash": "new-hash", "retired_hashes": record.secret_hash}
    assert rstore.rotate(record.public_id, "not-the-hash", changes) is False
    assert rstore.get(record.public_id).secret_hash == record.secret_hash
    assert rstore.rotate(record.public_id, record.secret_hash, changes) is True
    assert rstore.get(record.public_id).secret_hash == "new-hash"
    assert rstore.rotate(record.public_id, record.secret_hash, changes) is False
    assert rstore.rotate(tokens.new_token().public_id, "x", changes) is False


def test_delete_returns_what_existed_and_cleans_every_key(rstore, redis_client):
    mine = [make("1") for _ in range(3)]
    other = make("2")
    anonymous = make(None)
    for record in [*mine, other, anonymous]:
        rstore.create(record)
    ids = [
        mine[0].public_id,
        mine[1].public_id,
        anonymous.public_id,
        "unknownunknownunknown123",
    ]
    removed = rstore.delete(ids)
    assert sorted(r.public_id for r in removed) == sorted(ids[:3])
    assert all(r.data == "" for r in removed)
    assert {r.user_id for r in removed} == {"1", None}
    assert [r.public_id for r in rstore.for_user("1")] == [mine[2].public_id]
    members = {m.decode() for m in redis_client.zrange(rstore.activity_key(), 0, -1)}
    assert members == {mine[2].public_id, other.public_id}
    assert rstore.count() == 2


def test_for_user_reads_fallback_tags_and_prunes_dead_members(
    rstore, redis_client, settings
):
    settings.SECRET_KEY = "old-key-for-this-test"
    before_rotation = make("9")
    rstore.create(before_rotation)
    settings.SECRET_KEY = "new-key-for-this-test"
    settings.SECRET_KEY_FALLBACKS = ["old-key-for-this-test"]
    after_rotation = make("9", last_activity=timezone.now() + timedelta(seconds=1))
    rstore.create(after_rotation)
    assert before_rotation.public_id[:8] != after_rotation.public_id[:8]
    listed = [r.public_id for r in rstore.for_user("9")]
    assert listed == [after_rotation.public_id, before_rotation.public_id]
    # A key that vanished (TTL) leaves a dead member: reading prunes it.
    redis_client.delete(rstore.key(before_rotation.public_id))
    assert [r.public_id for r in rstore.for_user("9")] == [after_rotation.public_id]
    old_index = rstore.index_base(before_rotation.public_id[:8]) + "9"
    assert redis_client.zcard(old_index) == 0


def test_search_filters_pages_and_prunes(rstore, redis_client):
    now = timezone.now()
    records = [
        make(str(i % 2), now=now - timedelta(minutes=i), ip=f"192.0.2.{i}")
        for i in range(6)
    ]
    # Expires in a minute: still in Redis, but expired at the "now" searched.
    expired = make("0", minutes=1, last_activity=now - timedelta(hours=1))
    for record in [*records, expired, make(None)]:
        rstore.create(record)
    now += timedelta(minutes=5)
    total, page = rstore.search(cutoffs(now), limit=2, offset=1)
    assert total == 6
    assert [r.public_id for r in page] == [r.public_id for r in records[1:3]]
    assert rstore.search(cutoffs(now), state="expired")[0] == 1
    assert rstore.search(cutoffs(now), state="all")[0] == 7
    assert rstore.search(cutoffs(now), user_ids=["1"])[0] == 3
    assert rstore.search(cutoffs(now), user_ids=[])[0] == 0
    total, page = rstore.search(cutoffs(now), ip="192.0.2.4")
    assert [r.public_id for r in page] == [records[4].public_id]
    redis_client.delete(rstore.key(records[0].public_id))
    assert rstore.search(cutoffs(now))[0] == 5
    assert redis_client.zcard(rstore.activity_key()) == 6


def test_purge_removes_expired_sessions_in_batches(rstore, redis_client):
    now = timezone.now()
    short = [make("3", minutes=1) for _ in range(5)] + [make(None, minutes=1)]
    long = [make("3", minutes=120), make(None, minutes=120)]
    for record in [*short, *long]:
        rstore.create(record)
    later = now + timedelta(minutes=10)
    dry = list(rstore.purge_expired(cutoffs(later), batch_size=4, dry_run=True))
    assert sum(len(b) for b in dry) == 6
    assert rstore.count() == 8
    assert rstore.count_expired(cutoffs(later)) == 6
    batches = list(rstore.purge_expired(cutoffs(later), batch_size=4))
    assert all(len(batch) <= 4 for batch in batches)
    removed = sorted(r.public_id for batch in batches for r in batch)
    assert removed == sorted(r.public_id for r in short)
    assert rstore.count() == 2
    assert [r.public_id for r in rstore.for_user("3")] == [long[0].public_id]
    index = rstore.index_base(long[0].public_id[:8]) + "3"
    assert redis_client.zcard(index) == 1
    assert redis_client.zcard(rstore.activity_key()) == 1
    assert list(rstore.purge_expired(cutoffs(later), batch_size=4)) == []


def test_purge_prunes_index_members_whose_key_expired(rstore, redis_client):
    record = make("4", minutes=1)
    rstore.create(record)
    redis_client.delete(rstore.key(record.public_id))  # as the TTL would
    list(
        rstore.purge_expired(
            cutoffs(timezone.now() + timedelta(minutes=5)), batch_size=10
        )
    )
    index = rstore.index_base(record.public_id[:8]) + "4"
    assert redis_client.zcard(index) == 0
    assert redis_client.zcard(rstore.activity_key()) == 0


def test_client_setting_wins_over_the_cache_alias(rstore, settings, redis_client):
    import redis as redis_py

    calls = []

    def make_client():
        calls.append(1)
        return redis_py.Redis.from_url(settings.REDIS_URL)

    settings.SESSIONTOKENS_REDIS_CACHE = "no-such-alias"
    settings.SESSIONTOKENS_REDIS_CLIENT = make_client
    record = make("1")
    rstore.create(record)
    assert rstore.get(record.public_id) == record
    assert calls == [1]  # built once, then reused
    settings.SESSIONTOKENS_REDIS_CLIENT = "tests.test_redis_store.url_client"
    assert rstore.get(record.public_id) == record


def url_client():
    import redis as redis_py
    from django.conf import settings

    return redis_py.Redis.from_url(settings.REDIS_URL, decode_responses=True)


def test_key_prefix_setting(rstore, settings, redis_client):
    settings.SESSIONTOKENS_REDIS_KEY_PREFIX = "site-b"
    record = make("1")
    rstore.create(record)
    assert redis_client.keys("sessiontokens:*") == []
    assert len(redis_client.keys("site-b:*:s:*")) == 1
    assert rstore.for_user("1")[0].public_id == record.public_id


def test_data_only_update_keeps_fields_and_ttl(rstore, redis_client):
    record = make(1)
    rstore.create(record)
    key = rstore.key(record.public_id)
    redis_client.pexpire(key, 1_234_567)
    rstore.update(record.public_id, {"data": '{"k": "new"}'})
    found = rstore.get(record.public_id)
    assert found.data == '{"k": "new"}'
    assert found.replace(data=record.data) == record
    assert 1_200_000 < redis_client.pttl(key) <= 1_234_567  # kept, not reset
    redis_client.delete(key)
    with pytest.raises(UpdateError):  # never recreates
        rstore.update(record.public_id, {"data": "{}"})
    assert not redis_client.exists(key)


def test_a_broken_pooled_connection_falls_back_to_the_clients_retry(
    rstore, monkeypatch
):
    from redis.connection import Connection
    from redis.exceptions import ConnectionError as RedisConnectionError

    record = make(1)
    rstore.create(record)
    real = Connection.read_response
    failures = []

    def flaky(self, *args, **kwargs):
        if not failures:
            failures.append(self)
            raise RedisConnectionError("reset")  # the first reply is lost
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Connection, "read_response", flaky)
    assert rstore.get(record.public_id) == record
    assert len(failures) == 1


def test_an_instrumented_client_keeps_its_execute_command(rstore, monkeypatch):
    from redis import Redis

    record = make(1)
    rstore.create(record)
    seen = []
    original = Redis.execute_command

    def traced(self, *args, **options):
        seen.append(args[0])
        return original(self, *args, **options)

    monkeypatch.setattr(Redis, "execute_command", traced)
    assert rstore.get(record.public_id) == record
    rstore.update(record.public_id, {"data": "{}"})
    assert seen == ["GET", "EVALSHA"]


def test_scripts_are_loaded_again_after_script_flush(rstore, redis_client):
    from tests.test_round_trips import redis_round_trips, text_of

    record = make(1)
    rstore.create(record)
    assert rstore.get(record.public_id) == record  # the thread's connection is up
    redis_client.script_flush()
    with redis_round_trips() as sent:
        rstore.update(record.public_id, {"data": '{"after": "flush"}'})
    assert [text_of(command).split(b"\r\n")[2] for command in sent] == [
        b"EVALSHA",
        b"EVAL",
    ]
    assert rstore.get(record.public_id).data == '{"after": "flush"}'
    with redis_round_trips() as sent:
        rstore.update(record.public_id, {"data": "{}"})
    assert len(sent) == 1  # cached again by the EVAL


def test_threads_share_connections_through_the_free_list(rstore):
    import threading

    from django_sessiontokens.stores.redis.connection import free_list

    record = make(1)
    rstore.create(record)
    lender = free_list(rstore.client().connection_pool)
    assert rstore.get(record.public_id) == record
    [mine] = lender.free  # lent for the command, then given back
    seen = []

    def other_thread():
        seen.append((rstore.get(record.public_id), list(lender.free)))

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join()
    [(found, free)] = seen
    assert found == record
    assert free == [mine]  # a new thread reused the connection
    # Two commands at once: the second borrower gets a connection of its own.
    first = lender.take()
    second = lender.take()
    assert first is mine and second is not mine
    lender.give(second)
    lender.give(first)
    assert list(lender.free) == [second, first]  # LIFO: first is lent next
    assert lender.take() is first
    lender.give(first)


def test_the_free_list_is_bounded_and_closes_what_it_drops(rstore, monkeypatch):
    from django_sessiontokens.stores.redis import connection

    pool = rstore.client().connection_pool
    lender = connection.FreeList(pool, size=2)
    conns = [lender.take() for _ in range(3)]
    for conn in conns:
        conn.connect()
        lender.give(conn)
    assert list(lender.free) == conns[:2]
    assert conns[2]._sock is None  # closed, not kept
    lender.close()
    assert not lender.free and all(c._sock is None for c in conns)


def test_a_connection_killed_by_the_server_is_replaced(rstore, redis_client):
    from django_sessiontokens.stores.redis.connection import free_list

    record = make(1)
    rstore.create(record)
    assert rstore.get(record.public_id) == record
    lender = free_list(rstore.client().connection_pool)
    # Kill the store's own connections only (the server is shared).
    ids = []
    for conn in lender.free:
        conn.send_command("CLIENT", "ID")
        ids.append(conn.read_response())
    assert ids
    for client_id in ids:
        assert redis_client.client_kill_filter(_id=client_id) == 1
    assert rstore.get(record.public_id) == record  # retried, no error
    assert rstore.get(record.public_id) == record
    conn = lender.free[-1]
    assert rstore.get(record.public_id) == record
    assert lender.free[-1] is conn


def test_reads_sent_together_survive_a_killed_connection(rstore, redis_client):
    """``call_reads`` (one user's indexes, their records) goes over the
    free list; a connection the server killed is replaced and the reads are
    sent again, through a client pipeline, once."""
    from django_sessiontokens.stores.redis.connection import free_list

    records = [make(42) for _ in range(3)]
    for record in records:
        rstore.create(record)
    expected = sorted(record.public_id for record in records)
    assert sorted(r.public_id for r in rstore.for_user("42")) == expected
    lender = free_list(rstore.client().connection_pool)
    killed, ids = list(lender.free), []
    for conn in killed:
        conn.send_command("CLIENT", "ID")
        ids.append(conn.read_response())
    assert ids
    for client_id in ids:
        assert redis_client.client_kill_filter(_id=client_id) == 1
    assert sorted(r.public_id for r in rstore.for_user("42")) == expected
    assert lender.free and not set(lender.free) & set(killed)  # fresh ones
    assert sorted(r.public_id for r in rstore.for_user("42")) == expected


def test_a_forked_child_never_uses_its_parents_connection(rstore):
    import os

    from django_sessiontokens.stores.redis.connection import free_list

    record = make(1)
    rstore.create(record)
    assert rstore.get(record.public_id) == record
    lender = free_list(rstore.client().connection_pool)
    [parents] = lender.free
    pid = os.fork()
    if pid == 0:  # the child: its own connection, then leave at once
        ok = rstore.get(record.public_id) == record
        ok = ok and list(lender.free) != [parents] and len(lender.free) == 1
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    # The child closed nothing of the parent's: the same connection still works.
    assert rstore.get(record.public_id) == record
    assert list(lender.free) == [parents]


def test_green_threads_use_the_pool(rstore, monkeypatch):
    """With sockets patched (gevent, eventlet), greenlets share a thread, so
    no connection of the free list is used."""
    import socket

    from django_sessiontokens.stores.redis import connection

    record = make(1)
    rstore.create(record)

    class GreenSocket(socket.socket):
        pass

    monkeypatch.setattr(socket, "socket", GreenSocket)
    made = []
    monkeypatch.setattr(connection, "free_list", made.append)
    assert rstore.get(record.public_id) == record
    assert made == []
