"""The remembered flag in every store (db, redis, cached_db): stored, read
back, changed by an update, and decided by the remembered bounds in counts,
listings (in one activity order with the other sessions) and the purge;
Redis records stored before the flag read as not remembered."""

from datetime import timedelta

import pytest
from django.utils import timezone

from django_sessiontokens.core import policy
from tests.factories import UserFactory
from tests.test_redis_store import make

pytestmark = pytest.mark.django_db(transaction=True)

SECOND = timedelta(seconds=1)


@pytest.fixture
def limits(settings):
    settings.SESSIONTOKENS_IDLE_TIMEOUT = 3600
    settings.SESSIONTOKENS_ABSOLUTE_TIMEOUT = 86400
    settings.SESSIONTOKENS_REMEMBERED_IDLE_TIMEOUT = None
    settings.SESSIONTOKENS_REMEMBERED_ABSOLUTE_TIMEOUT = 30 * 86400


def population(user_ids, now):
    """Ordinary and remembered sessions, interleaved in activity order, each
    kind idle from 0 to 5 hours and signed in from 0 to 5 days ago."""
    records = []
    for n in range(12):
        remembered = n % 2 == 1
        records.append(
            make(
                user_ids[n % len(user_ids)],
                now=now,
                last_activity=now - n * timedelta(minutes=25) - n * SECOND,
                authenticated_at=now - (n // 3) * timedelta(days=1) - n * SECOND,
                created_at=now - timedelta(days=6),
                expires_at=now + timedelta(days=31),
                remembered=remembered,
            )
        )
    return records


def test_stored_read_back_and_updated(engine, store, limits):
    user = UserFactory()
    kept = make(str(user.pk), remembered=True)
    store.create(kept)
    assert store.get(kept.public_id).remembered is True
    assert [r.remembered for r in store.for_user(str(user.pk))] == [True]
    store.update(kept.public_id, {"remembered": False})
    assert store.get(kept.public_id).remembered is False


@pytest.mark.parametrize(
    "lowered",
    [
        {},
        {"SESSIONTOKENS_REMEMBERED_IDLE_TIMEOUT": 2 * 3600},
        {"SESSIONTOKENS_REMEMBERED_ABSOLUTE_TIMEOUT": 2 * 86400},
        {"SESSIONTOKENS_IDLE_TIMEOUT": 1800, "SESSIONTOKENS_ABSOLUTE_TIMEOUT": None},
    ],
    ids=["defaults", "remembered-idle", "remembered-absolute", "ordinary"],
)
def test_counts_listings_and_purge_follow_each_kinds_bounds(
    engine, store, limits, settings, lowered
):
    users = [str(UserFactory().pk), str(UserFactory().pk)]
    now = timezone.now()
    records = population(users, now)
    for record in records:
        store.create(record)
    for name, value in lowered.items():
        setattr(settings, name, value)
    cut = policy.cutoffs(now)
    expired = [r for r in records if cut.expired(r)]
    alive = [r for r in records if not cut.expired(r)]
    assert expired and alive
    assert {r.remembered for r in alive} == {True, False}
    assert store.count_expired(cut) == len(expired)
    order = sorted(records, key=lambda r: r.last_activity, reverse=True)
    for state, wanted in (
        ("all", order),
        ("active", [r for r in order if not cut.expired(r)]),
        ("expired", [r for r in order if cut.expired(r)]),
    ):
        total, page = store.search(cut, state=state, limit=100)
        assert total == len(wanted), state
        found, expected = [r.public_id for r in page], [r.public_id for r in wanted]
        if state == "expired" and store.name == "redis":
            # Redis lists those awaiting the purge above the idle cutoffs
            # first (the store's documented order), then the others.
            found, expected = sorted(found), sorted(expected)
        assert found == expected, state
        if state != "expired":
            total, page = store.search(cut, state=state, offset=1, limit=3)
            assert [r.public_id for r in page] == expected[1:4]
    removed = {r.public_id for b in store.purge_expired(cut, batch_size=2) for r in b}
    assert removed == {r.public_id for r in expired}
    assert {r.public_id for r in store.all()} == {r.public_id for r in alive}
    assert store.count_expired(cut) == 0


def test_redis_keeps_each_kind_in_its_own_sets(redis_client, settings, limits):
    from django_sessiontokens.stores.redis import RedisStore, codec, keys

    settings.SESSION_ENGINE = "django_sessiontokens.backends.redis"
    store = RedisStore()
    kept, ordinary = make("1", remembered=True), make("2")
    for record in (kept, ordinary):
        store.create(record)

    def members(name):
        key = keys.all_set(store.prefix(), name)
        return {m.decode() for m in redis_client.zrange(key, 0, -1)}

    assert members("ractivity") == members("rauth") == {kept.public_id}
    assert members("activity") == members("auth") == {ordinary.public_id}
    store.update(kept.public_id, {"remembered": False})
    assert members("ractivity") == members("rauth") == set()
    assert members("activity") == {kept.public_id, ordinary.public_id}
    # A record stored before the flag existed (one field fewer).
    fields, _, data = codec.pack_record(ordinary).partition("\n")
    old = codec.SEP.join(fields.split(codec.SEP)[:13]) + "\n" + data
    assert codec.unpack(old).remembered is False
    assert codec.unpack(codec.pack_record(kept)).remembered is True
