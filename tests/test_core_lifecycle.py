"""``core.lifecycle`` and ``core.policy``'s "alive" rules on their own: no
``SessionBase``, no store, no request."""

import random
from datetime import datetime, timedelta, timezone

import pytest

from django_sessiontokens.core import lifecycle, policy, tokens
from django_sessiontokens.core.lifecycle import AfterRotation, Verdict
from django_sessiontokens.types import MOVING, SessionRecord

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def limits(settings):
    settings.SESSIONTOKENS_IDLE_TIMEOUT = 3600
    settings.SESSIONTOKENS_ABSOLUTE_TIMEOUT = 86400
    settings.SESSIONTOKENS_ROTATE_INTERVAL = 900
    settings.SESSION_COOKIE_AGE = 1800
    settings.SESSIONTOKENS_REMEMBERED_IDLE_TIMEOUT = None
    settings.SESSIONTOKENS_REMEMBERED_ABSOLUTE_TIMEOUT = 30 * 86400


def record_for(token, *, user_id="1", now=T0, remembered=False, **fields):
    record = lifecycle.new_record(
        token,
        user_id=user_id,
        data="{}",
        custom=None,
        now=now,
        authenticated_at=None,
        ip="203.0.113.1",
        user_agent="UA",
        remembered=remembered,
    )
    return record.replace(**fields)


def test_new_record_expires_at_the_first_limit():
    record = record_for(tokens.new_token("1"))
    assert record.expires_at == T0 + timedelta(hours=1)
    anonymous = record_for(tokens.new_token(), user_id=None)
    assert anonymous.authenticated_at is None
    assert anonymous.expires_at == T0 + timedelta(seconds=1800)


def test_classify_each_verdict():
    token = tokens.new_token("1")
    record = record_for(token)
    assert lifecycle.classify(None, record, T0, grace=30).verdict is Verdict.MALFORMED
    assert lifecycle.classify(token, None, T0, grace=30).verdict is Verdict.UNKNOWN
    assert lifecycle.classify(token, record, T0, grace=30).verdict is Verdict.LIVE
    forged = tokens.with_new_secret(token)
    assert lifecycle.classify(forged, record, T0, grace=30).verdict is Verdict.FORGED
    late = T0 + timedelta(hours=2)
    assert lifecycle.classify(token, record, late, grace=30).verdict is Verdict.EXPIRED
    moving = record.replace(secret_hash=MOVING + record.secret_hash)
    assert lifecycle.classify(token, moving, T0, grace=30).verdict is Verdict.MOVING
    assert lifecycle.classify(forged, moving, T0, grace=30).verdict is Verdict.FORGED


def test_classify_grace_then_reuse():
    token = tokens.new_token("1")
    record = record_for(token)
    later = T0 + timedelta(minutes=20)
    new, changes = lifecycle.periodic_rotation(record, token, later, 900)
    rotated = record.replace(**changes)
    assert lifecycle.classify(new, rotated, later, grace=30).verdict is Verdict.LIVE
    found = lifecycle.classify(token, rotated, later + timedelta(seconds=10), grace=30)
    assert found.verdict is Verdict.GRACE and found.current.value == new.value
    after = later + timedelta(seconds=31)
    assert lifecycle.classify(token, rotated, after, grace=30).verdict is Verdict.REUSE


def test_periodic_rotation_only_when_due():
    token = tokens.new_token("1")
    record = record_for(token)
    assert lifecycle.periodic_rotation(record, token, T0, 900) is None
    assert (
        lifecycle.periodic_rotation(record, token, T0 + timedelta(days=1), None) is None
    )


def test_touch_at_most_once_per_interval():
    record = record_for(tokens.new_token("1"))
    same = dict(interval=60, custom=None, ip="203.0.113.1", user_agent="UA")
    assert lifecycle.touch_changes(record, T0 + timedelta(seconds=59), **same) == {}
    changes = lifecycle.touch_changes(record, T0 + timedelta(seconds=60), **same)
    assert changes["last_activity"] == T0 + timedelta(seconds=60)
    assert changes["expires_at"] == T0 + timedelta(seconds=3660)
    moved = lifecycle.touch_changes(record, T0, **{**same, "ip": "198.51.100.1"})
    assert moved["ip"] == "198.51.100.1"


def test_save_changes_include_the_expiry_only_when_it_moves():
    record = record_for(tokens.new_token("1"))
    args = dict(
        user_id="1",
        authenticated_now=False,
        data='{"a":1}',
        custom=None,
        interval=60,
        ip="203.0.113.1",
        user_agent="UA",
    )
    quiet = lifecycle.save_changes(record, T0 + timedelta(seconds=5), **args)
    assert quiet == {"data": '{"a":1}'}
    shortened = lifecycle.save_changes(record, T0, **{**args, "custom": 60})
    assert shortened["expires_at"] == T0 + timedelta(seconds=60)


def test_id_rotation_on_a_privilege_change():
    record = record_for(tokens.new_token(), user_id=None)
    assert lifecycle.id_rotation(record, "7")
    assert not lifecycle.id_rotation(record, None)
    assert not lifecycle.id_rotation(record.replace(user_id="7"), "7")


@pytest.mark.parametrize(
    ("removed", "previous", "signing_in", "outcome"),
    [
        (True, True, False, AfterRotation.CREATE),
        (False, True, False, AfterRotation.ENDED),
        (False, True, True, AfterRotation.CREATE),
        (False, False, False, AfterRotation.CREATE),
    ],
)
def test_a_rotation_creates_only_if_it_removed_the_old_record(
    removed, previous, signing_in, outcome
):
    assert (
        lifecycle.after_rotation(
            old_removed=removed, had_previous=previous, signing_in=signing_in
        )
        is outcome
    )


def test_lowered_limits_apply_to_stored_records(settings):
    record = record_for(tokens.new_token("1"))
    now = T0 + timedelta(seconds=300)
    assert policy.is_alive(record, now)
    settings.SESSIONTOKENS_IDLE_TIMEOUT = 120
    assert not policy.is_alive(record, now)
    assert policy.ends_at(record) == T0 + timedelta(seconds=120)
    settings.SESSIONTOKENS_IDLE_TIMEOUT = 7200  # raised: the stored end holds
    assert policy.ends_at(record) == T0 + timedelta(hours=1)


def test_cutoffs_agree_with_is_alive_on_random_records(settings):
    rng = random.Random(7)
    now = T0 + timedelta(days=2)
    for idle, absolute, r_idle, r_absolute in [
        (3600, 86400, None, 30 * 86400),
        (120, None, 7200, None),
        (None, 200, 600, 86400),
        (None, None, None, None),
    ]:
        settings.SESSIONTOKENS_IDLE_TIMEOUT = idle
        settings.SESSIONTOKENS_ABSOLUTE_TIMEOUT = absolute
        settings.SESSIONTOKENS_REMEMBERED_IDLE_TIMEOUT = r_idle
        settings.SESSIONTOKENS_REMEMBERED_ABSOLUTE_TIMEOUT = r_absolute
        cutoffs = policy.cutoffs(now)
        for _ in range(500):
            created = now - timedelta(seconds=rng.randint(0, 3 * 86400))
            active = created + timedelta(seconds=rng.randint(0, 3 * 86400))
            user = rng.choice([None, "1"])
            authenticated = rng.choice([None, created]) if user else None
            record = SessionRecord(
                public_id="x" * 24,
                secret_hash="h",
                created_at=created,
                last_activity=min(active, now),
                expires_at=now + timedelta(seconds=rng.randint(-3600, 3600)),
                user_id=user,
                authenticated_at=authenticated,
                remembered=bool(user) and rng.random() < 0.5,
            )
            assert cutoffs.expired(record) is not policy.is_alive(record, now)


def test_a_remembered_record_follows_the_remembered_limits(settings):
    token = tokens.new_token("1")
    kept = record_for(token, remembered=True)
    assert kept.remembered
    assert kept.expires_at == T0 + timedelta(days=30)  # no idle limit
    ordinary = record_for(token)
    assert ordinary.expires_at == T0 + timedelta(hours=1)
    later = T0 + timedelta(days=3)
    assert policy.is_alive(kept, later) and not policy.is_alive(ordinary, later)
    settings.SESSIONTOKENS_REMEMBERED_ABSOLUTE_TIMEOUT = 2 * 86400  # lowered
    assert not policy.is_alive(kept, later)
    assert policy.ends_at(kept) == T0 + timedelta(days=2)
    assert policy.is_alive(ordinary, T0 + timedelta(minutes=30))  # unaffected
    settings.SESSIONTOKENS_REMEMBERED_IDLE_TIMEOUT = 600
    assert policy.ends_at(kept) == T0 + timedelta(minutes=10)
    assert policy.cutoffs(later).expired(kept)


def test_only_a_signed_in_record_is_remembered():
    anonymous = record_for(tokens.new_token(), user_id=None, remembered=True)
    assert not anonymous.remembered
    assert anonymous.expires_at == T0 + timedelta(seconds=1800)


def test_save_changes_carry_the_remembered_flag():
    record = record_for(tokens.new_token("1"))
    args = dict(
        user_id="1",
        authenticated_now=False,
        data="{}",
        custom=None,
        interval=60,
        ip="203.0.113.1",
        user_agent="UA",
    )
    kept = lifecycle.save_changes(record, T0, **args, remembered=True)
    assert kept["remembered"] is True
    assert kept["expires_at"] == T0 + timedelta(days=30)
    assert "remembered" not in lifecycle.save_changes(record, T0, **args)
    signed_out = lifecycle.save_changes(
        record.replace(remembered=True), T0, **{**args, "user_id": None}
    )
    assert signed_out["remembered"] is False
