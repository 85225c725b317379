"""The Redis store's new interface (peek, moving tombstones, atomic replace)
and today's limits on every path, found by score ranges."""

from datetime import timedelta
from importlib import resources

import pytest
from django.utils import timezone

from django_sessiontokens.core import tokens
from django_sessiontokens.core.policy import cutoffs
from django_sessiontokens.exceptions import CreateError, UpdateError
from django_sessiontokens.stores import base
from django_sessiontokens.stores.redis import keys
from django_sessiontokens.types import MOVING
from tests.test_redis_store import make

pytestmark = pytest.mark.redis


@pytest.fixture
def rstore(redis_client, settings):
    from django_sessiontokens.stores.redis import RedisStore

    settings.SESSION_ENGINE = "django_sessiontokens.backends.redis"
    return RedisStore()


def members(redis_client, key):
    return {m.decode() for m in redis_client.zrange(key, 0, -1)}


def test_every_script_is_a_lua_file_naming_no_key_itself():
    from django_sessiontokens.stores.redis import scripts

    lua = resources.files("django_sessiontokens.stores.redis") / "lua"
    names = sorted(p.name for p in lua.iterdir() if p.name.endswith(".lua"))
    assert names == sorted(f"{n}.lua" for n in (*scripts.NAMES, "lib"))
    for name in names:
        source = (lua / name).read_text()
        # Keys come in KEYS only: no prefix argument, no tag built in Lua.
        assert "':{'" not in source and "':u:'" not in source, name
        assert "prefix" not in source, name


def test_peek_returns_tombstones_get_does_not(rstore, redis_client):
    record = make("3")
    rstore.create(record)
    assert rstore.mark_moving(record.public_id, "not-the-hash") is False
    assert rstore.mark_moving(record.public_id, record.secret_hash) is True
    assert rstore.get(record.public_id) is None
    moving = rstore.peek(record.public_id)
    assert moving.moving and moving.secret_hash == MOVING + record.secret_hash
    # Again: it is no longer the live hash.
    assert rstore.mark_moving(record.public_id, record.secret_hash) is False
    assert rstore.mark_moving(record.public_id, moving.secret_hash) is False
    # The tombstone keeps its index membership; callers filter.
    assert [r.public_id for r in rstore.for_user("3")] == [record.public_id]
    ttl = redis_client.pttl(rstore.key(record.public_id))
    assert 59 * 60_000 < ttl <= 60 * 60_000  # TTL kept
    assert rstore.mark_moving(tokens.new_token().public_id, "x") is False


def test_replace_is_atomic_and_keeps_every_index(rstore, redis_client):
    old = make(None)
    rstore.create(old)
    assert rstore.mark_moving(old.public_id, old.secret_hash)
    new = make("8")
    assert rstore.replace(old.public_id, new) is True
    assert rstore.peek(old.public_id) is None
    assert rstore.get(new.public_id) == new
    assert [r.public_id for r in rstore.for_user("8")] == [new.public_id]
    assert members(redis_client, rstore.expiry_key()) == {f"{new.public_id} 8"}
    assert members(redis_client, rstore.activity_key()) == {new.public_id}
    assert members(redis_client, rstore.auth_key()) == {new.public_id}
    assert members(redis_client, rstore.anon_key()) == set()
    # The old one is gone (ended meanwhile): nothing is inserted.
    newer = make("8")
    assert rstore.replace(old.public_id, newer) is False
    assert rstore.peek(newer.public_id) is None
    assert [r.public_id for r in rstore.for_user("8")] == [new.public_id]
    # The new public id is taken: CreateError, the old one is kept.
    other = make("9")
    rstore.create(other)
    with pytest.raises(CreateError):
        rstore.replace(other.public_id, new)
    assert rstore.peek(other.public_id) == other


def test_an_ending_between_mark_and_replace_wins(rstore):
    record = make("4")
    rstore.create(record)
    assert rstore.mark_moving(record.public_id, record.secret_hash)
    [ended] = rstore.delete([record.public_id])  # the tombstone is ended
    assert ended.moving
    assert rstore.replace(record.public_id, make("4")) is False
    assert rstore.for_user("4") == []
    assert rstore.count() == 0


def test_writes_find_the_owner_the_store_did_not_know(rstore, redis_client):
    from django_sessiontokens.stores.redis import RedisStore

    record = make("5")
    rstore.create(record)
    fresh = RedisStore()  # another process: never saw the session
    later = record.last_activity + timedelta(minutes=1)
    fresh.update(
        record.public_id,
        {"last_activity": later, "expires_at": later + timedelta(hours=2)},
    )
    index = rstore.index_base(record.public_id[:8]) + "5"
    assert redis_client.zscore(index, record.public_id) is not None
    assert 119 * 60 < redis_client.ttl(index) <= 121 * 60
    # Signing out through an update moves it from the signed-in sets.
    RedisStore().update(record.public_id, {"user_id": None, "authenticated_at": None})
    assert redis_client.zcard(index) == 0
    assert members(redis_client, rstore.anon_key()) == {record.public_id}
    assert members(redis_client, rstore.activity_key()) == set()
    assert members(redis_client, rstore.auth_key()) == set()
    assert members(redis_client, rstore.expiry_key()) == {record.public_id}
    other = make("6")
    rstore.create(other)
    assert [r.public_id for r in RedisStore().delete([other.public_id])] == [
        other.public_id
    ]
    assert rstore.for_user("6") == []
    assert redis_client.keys("*:u:*") == []
    with pytest.raises(UpdateError):
        RedisStore().update(other.public_id, {"data": "x", "ip": "192.0.2.9"})


def lowered(settings, **limits):
    for name, value in limits.items():
        if name == "ANONYMOUS_TIMEOUT":  # anonymous sessions: Django's setting
            settings.SESSION_COOKIE_AGE = value
        else:
            setattr(settings, f"SESSIONTOKENS_{name}", value)
    return cutoffs(timezone.now())


@pytest.mark.parametrize(
    "limit, record_of",
    [
        # idle: signed in, inactive for 300 s
        (
            {"IDLE_TIMEOUT": 120},
            lambda now: make("1", last_activity=now - timedelta(seconds=300)),
        ),
        # absolute: signed in 2 hours ago, active now
        (
            {"ABSOLUTE_TIMEOUT": 3600},
            lambda now: make("1", authenticated_at=now - timedelta(hours=2)),
        ),
        # absolute, never authenticated: created 2 hours ago
        (
            {"ABSOLUTE_TIMEOUT": 3600},
            lambda now: make(
                "1", authenticated_at=None, created_at=now - timedelta(hours=2)
            ),
        ),
        # anonymous: inactive for 300 s
        (
            {"ANONYMOUS_TIMEOUT": 120},
            lambda now: make(None, last_activity=now - timedelta(seconds=300)),
        ),
    ],
    ids=["idle", "absolute", "absolute-created", "anonymous"],
)
def test_a_lowered_limit_applies_to_every_path(
    rstore, redis_client, settings, limit, record_of
):
    now = timezone.now()
    victim = record_of(now)
    alive = [make("1"), make(None), make("2")]
    for record in [victim, *alive]:
        rstore.create(record)
    before = cutoffs(now)
    assert rstore.count_expired(before) == 0
    signed_in = sum(1 for r in [victim, *alive] if r.user_id)
    assert rstore.search(before)[0] == signed_in
    cut = lowered(settings, **limit)
    assert cut.expired(victim) and not any(cut.expired(r) for r in alive)
    assert rstore.count_expired(cut) == 1
    dry = [
        r.public_id
        for b in rstore.purge_expired(cut, batch_size=2, dry_run=True)
        for r in b
    ]
    assert dry == [victim.public_id]
    if victim.user_id:
        total, page = rstore.search(cut)
        assert total == signed_in - 1
        assert victim.public_id not in {r.public_id for r in page}
        assert [r.public_id for r in rstore.search(cut, state="expired")[1]] == [
            victim.public_id
        ]
    removed = [r.public_id for b in rstore.purge_expired(cut, batch_size=2) for r in b]
    assert removed == [victim.public_id]
    assert rstore.peek(victim.public_id) is None
    assert rstore.count() == 3
    for key in keys.all_sets(rstore.prefix()):
        assert victim.public_id not in {
            m.split(" ")[0] for m in members(redis_client, key)
        }
    assert list(rstore.purge_expired_quietly(cut, batch_size=2)) == []


def test_quiet_purge_counts_by_range(rstore, settings):
    now = timezone.now()
    idle = [make("1", last_activity=now - timedelta(seconds=300)) for _ in range(5)]
    anon = [make(None, last_activity=now - timedelta(seconds=300)) for _ in range(4)]
    keep = [make("2"), make(None)]
    for record in [*idle, *anon, *keep]:
        rstore.create(record)
    cut = lowered(settings, IDLE_TIMEOUT=120, ANONYMOUS_TIMEOUT=120)
    assert sum(rstore.purge_expired_quietly(cut, batch_size=3)) == 9
    assert {r.public_id for r in rstore.all()} == {r.public_id for r in keep}


def test_purge_keeps_a_session_touched_after_it_was_found(rstore, settings):
    """The delete script decides again: a member of an expired range whose
    record is alive (as when a write raced the purge) is kept."""
    now = timezone.now()
    record = make("1", last_activity=now - timedelta(seconds=300))
    rstore.create(record)
    cut = lowered(settings, IDLE_TIMEOUT=120)
    bounds = rstore._bounds(cut)
    rstore.update(record.public_id, {"last_activity": now})  # the race
    removed, live, count = rstore._delete(
        rstore.client(), {record.public_id: "1"}, bounds
    )
    assert (removed, count) == ([], 0)
    assert [r.public_id for r in live] == [record.public_id]
    assert rstore.get(record.public_id) is not None


def test_search_pages_cost_in_proportion_to_the_page(rstore, settings, monkeypatch):
    from tests.test_round_trips import redis_round_trips

    now = timezone.now()
    records = [
        make(str(i % 7), last_activity=now - timedelta(seconds=i)) for i in range(1200)
    ]
    # Some expired by the absolute limit, interleaved: skipped and subtracted.
    for i in range(0, 1200, 100):
        records[i] = records[i].replace(authenticated_at=now - timedelta(days=2))
    for record in records:
        rstore.create(record)
    cut = cutoffs(now)
    fetched = []
    real = rstore._light

    def counting(client, public_ids):
        fetched.extend(public_ids)
        return real(client, public_ids)

    monkeypatch.setattr(rstore, "_light", counting)
    with redis_round_trips() as sent:
        total, page = rstore.search(cut, offset=10, limit=20)
    assert total == 1188
    expected = [r for r in records if not cut.expired(r)][10:30]
    assert [r.public_id for r in page] == [r.public_id for r in expected]
    assert len(fetched) <= 200 + 12  # one chunk, plus the 12 awaiting purge
    assert len(sent) <= 6
    fetched.clear()
    total, page = rstore.search(cut, state="expired", limit=5)
    assert total == 12 and len(page) == 5
    assert rstore.search(cut, state="all")[0] == 1200
    monkeypatch.setattr(base, "SEARCH_COUNT_LIMIT", 100)
    from django_sessiontokens.stores.redis import search

    monkeypatch.setattr(search, "SEARCH_COUNT_LIMIT", 100)
    assert rstore.search(cut)[0] == 101  # "more than 100"
    assert rstore.search(cut, state="all")[0] == 101
    total, page = rstore.search(cut, ip="192.0.2.1", limit=3)
    assert (total, len(page)) == (101, 3)
    assert rstore.search(cut, ip="192.0.2.99") == (0, [])


def test_create_many_is_pipelined_and_skips_taken_ids(rstore, redis_client):
    from tests.test_round_trips import redis_round_trips

    taken = make("1")
    rstore.create(taken)
    records = [make(str(i % 3)) for i in range(30)] + [taken.replace(data="x")]
    with redis_round_trips() as sent:
        created = rstore.create_many(records)
    assert created == [r.public_id for r in records[:30]]
    assert len(sent) <= 3
    assert rstore.get(taken.public_id).data == taken.data
    assert rstore.count() == 31
    assert len(rstore.for_user("0")) == 10
    assert redis_client.zcard(rstore.auth_key()) == 31
