"""The DBSC headers (``core.dbsc_headers``) and the challenge and cookie
rules (``core.dbsc``), pure."""

from datetime import timedelta

import pytest
from django.utils import timezone

from django_sessiontokens.core import dbsc
from django_sessiontokens.core import dbsc_headers as headers
from tests.dbsc_browser import sf_list


@pytest.mark.parametrize("value", ["abc_DEF-123", '"abc_DEF-123"', ' "abc_DEF-123" '])
def test_session_id_bare_or_quoted(value):
    assert headers.session_id(value) == "abc_DEF-123"


@pytest.mark.parametrize(
    "value", [None, "", '""', "a b", "x" * 65, '"abc', "abc\\", "é", "x" * 5000]
)
def test_bad_session_ids(value):
    assert headers.session_id(value) is None


def test_proof_bare_or_quoted():
    assert headers.proof("a.b.c", 100) == "a.b.c"
    assert headers.proof('"a.b.c"', 100) == "a.b.c"
    assert headers.proof("x" * 200, 100) is None
    assert headers.proof('""', 100) is None


def test_skipped():
    found = headers.skipped('server_error;session_identifier="abc"')
    assert found == headers.Skipped("server_error", "abc")
    assert headers.skipped("quota_exceeded") == headers.Skipped("quota_exceeded", None)
    for bad in [None, "", ";x", "1bad", "ok;BAD=1", "x" * 2000]:
        assert headers.skipped(bad) is None


def test_registration_and_challenge_are_what_chromium_parses():
    value = headers.registration("/sessions/dbsc/register/", "c_1-x")
    assert value == '(ES256 RS256);path="/sessions/dbsc/register/";challenge="c_1-x"'
    [(member, params)] = sf_list(value)
    assert [a for a, _ in member] == ["ES256", "RS256"]
    assert params == {"path": "/sessions/dbsc/register/", "challenge": "c_1-x"}
    [(member, params)] = sf_list(headers.challenge_header("c2", "id1"))
    assert (member, params) == ("c2", {"id": "id1"})
    with pytest.raises(ValueError, match="sf-string"):
        headers.registration('/a"b', "c")


def _bound(now):
    pending = dbsc.offer("pid", now, reoffer=False)
    return dbsc.registered(
        pending,
        "current",
        now,
        algorithm="ES256",
        jwk="{}",
        cookie_value="v1",
        cookie_age=600,
    )


def test_challenges_are_single_use_and_two_are_live():
    now = timezone.now()
    binding = _bound(now)
    first = binding.challenge
    assert dbsc.challenge_used(binding, first, now, 1200) == "current"
    assert dbsc.challenge_used(binding, "other", now, 1200) is None
    assert dbsc.challenge_used(binding, None, now, 1200) is None
    newer = dbsc.with_new_challenge(binding, now)
    assert dbsc.challenge_used(newer, first, now, 1200) == "previous"
    spent = dbsc.refreshed(newer, "previous", now, cookie_value="v2", cookie_age=600)
    assert dbsc.challenge_used(spent, first, now, 1200) is None
    assert dbsc.challenge_used(spent, newer.challenge, now, 1200) == "previous"
    later = now + timedelta(seconds=1201)
    assert dbsc.challenge_used(spent, spent.challenge, later, 1200) is None


def test_bound_cookie_states_and_overlap():
    now = timezone.now()
    binding = _bound(now)
    assert dbsc.cookie_state(binding, "v1", now) == "valid"
    assert dbsc.cookie_state(binding, None, now) == "missing"
    assert dbsc.cookie_state(binding, "v0", now) == "wrong"
    assert dbsc.cookie_state(binding, "v1" * 100, now) == "wrong"
    assert dbsc.cookie_state(binding, "v1", now + timedelta(seconds=604)) == "valid"
    assert dbsc.cookie_state(binding, "v1", now + timedelta(seconds=606)) == "wrong"
    # A value that no random challenge or hash can contain by chance.
    value = "bound-cookie-value!"
    renewed = dbsc.refreshed(
        binding, "current", now, cookie_value=value, cookie_age=600
    )
    assert dbsc.cookie_state(renewed, value, now) == "valid"
    assert dbsc.cookie_state(renewed, "v1", now + timedelta(seconds=29)) == "valid"
    assert dbsc.cookie_state(renewed, "v1", now + timedelta(seconds=31)) == "wrong"
    assert value not in repr(renewed.__dict__)  # only its hash is kept


def test_looks_stolen_only_after_the_settle_time():
    now = timezone.now()
    binding = _bound(now)
    soon, later = now + timedelta(seconds=10), now + timedelta(seconds=60)
    assert not dbsc.looks_stolen(binding, "missing", False, soon)
    assert dbsc.looks_stolen(binding, "missing", False, later)
    assert not dbsc.looks_stolen(binding, "missing", True, later)
    assert not dbsc.looks_stolen(binding, "wrong", False, later)
    expired = now + timedelta(seconds=700)  # the device's cookie ran out too
    assert not dbsc.looks_stolen(binding, "missing", False, expired)


def test_requests_already_on_their_way_at_registration_are_served():
    now = timezone.now()
    binding = _bound(now)
    assert dbsc.just_registered(binding, "missing", now + timedelta(seconds=5))
    assert not dbsc.just_registered(binding, "missing", now + timedelta(seconds=6))
    assert not dbsc.just_registered(binding, "wrong", now)
    later = now + timedelta(seconds=1)
    renewed = dbsc.refreshed(
        binding, "current", later, cookie_value="v2", cookie_age=600
    )
    assert not dbsc.just_registered(renewed, "missing", later)
