from datetime import datetime, timedelta, timezone

import pytest

from django_sessiontokens.core import policy

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
SIGNED_IN = policy.Limits(idle=3600, absolute=86400)


def end(**kwargs):
    defaults = {
        "limits": SIGNED_IN,
        "last_activity": T0,
        "authenticated_at": T0,
        "created_at": T0,
    }
    return policy.expires_at(**{**defaults, **kwargs})


def test_idle_limit_counts_from_last_activity():
    assert end(last_activity=T0 + timedelta(hours=2)) == T0 + timedelta(hours=3)


def test_absolute_limit_is_never_extended_by_activity():
    late = T0 + timedelta(hours=23, minutes=30)
    assert end(last_activity=late) == T0 + timedelta(hours=24)


def test_absolute_counts_from_authentication_not_creation():
    auth = T0 + timedelta(hours=5)
    assert end(
        authenticated_at=auth, last_activity=auth + timedelta(hours=23)
    ) == auth + timedelta(hours=24)


def test_anonymous_sessions_follow_cookie_age():
    limits = policy.limits(
        authenticated=False, idle=60, absolute=120, anonymous=1209600
    )
    assert limits == policy.Limits(idle=1209600, absolute=None)
    assert end(limits=limits, authenticated_at=None) == T0 + timedelta(seconds=1209600)


def test_remembered_sessions_have_limits_of_their_own():
    args = dict(idle=3600, absolute=86400, anonymous=1209600)
    kept = policy.limits(
        authenticated=True,
        remembered=True,
        remembered_idle=None,
        remembered_absolute=30 * 86400,
        **args,
    )
    assert kept == policy.Limits(idle=None, absolute=30 * 86400)
    assert policy.limits(authenticated=True, remembered=False, **args) == SIGNED_IN
    # An anonymous session is never remembered.
    assert policy.limits(
        authenticated=False, remembered=True, remembered_idle=5, **args
    ) == policy.Limits(idle=1209600, absolute=None)
    late = T0 + timedelta(days=20)
    assert end(limits=kept, last_activity=late) == T0 + timedelta(days=30)


def test_cutoffs_bounds_by_kind():
    cutoffs = policy.Cutoffs(
        now=T0,
        idle=T0 - timedelta(hours=1),
        absolute=T0 - timedelta(days=1),
        anonymous=None,
        remembered_idle=None,
        remembered_absolute=T0 - timedelta(days=30),
    )
    assert cutoffs.bounds(False) == (cutoffs.idle, cutoffs.absolute)
    assert cutoffs.bounds(True) == (None, cutoffs.remembered_absolute)


@pytest.mark.parametrize(
    ("custom", "expected"),
    [
        (300, T0 + timedelta(seconds=300)),
        (7200, T0 + timedelta(hours=1)),  # never longer than the idle limit
        (0, T0 + timedelta(hours=1)),  # browser close: server limits unchanged
        ((T0 + timedelta(minutes=10)).isoformat(), T0 + timedelta(minutes=10)),
        ((T0 + timedelta(days=30)).isoformat(), T0 + timedelta(hours=1)),
        ("not a date", T0 + timedelta(hours=1)),
    ],
)
def test_set_expiry_only_shortens(custom, expected):
    assert end(custom=custom) == expected


def test_no_limits_at_all_is_still_finite():
    assert end(limits=policy.Limits(None, None)) > T0 + timedelta(days=365)


def test_is_expired_is_inclusive():
    assert policy.is_expired(T0, T0)
    assert not policy.is_expired(T0 - timedelta(microseconds=1), T0)


def test_needs_touch():
    assert not policy.needs_touch(T0 + timedelta(seconds=59), T0, 60)
    assert policy.needs_touch(T0 + timedelta(seconds=60), T0, 60)


def test_needs_rotation_and_grace():
    assert not policy.needs_rotation(T0 + timedelta(days=9), T0, None)
    assert policy.needs_rotation(T0 + timedelta(seconds=900), T0, 900)
    assert policy.in_grace(T0 + timedelta(seconds=29), T0, 30)
    assert not policy.in_grace(T0 + timedelta(seconds=30), T0, 30)
    assert not policy.in_grace(T0, None, 30)


def test_remaining_never_negative():
    assert policy.remaining(T0, T0 + timedelta(seconds=90.7)) == 90
    assert policy.remaining(T0 + timedelta(hours=1), T0) == 0
