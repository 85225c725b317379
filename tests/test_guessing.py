"""Guessing detection: invalid tokens per client address in a sliding window."""

from datetime import datetime, timedelta, timezone

import pytest
from django.core import checks
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from django_sessiontokens import signals
from django_sessiontokens.services import guessing
from tests.conftest import capture_signal

pytestmark = pytest.mark.django_db
ATTACKER = "192.0.2.66"
NEIGHBOUR = "192.0.2.67"
# A multiple of every window used here, so buckets start on it.
T0 = datetime.fromtimestamp(1_800_000_000, tz=timezone.utc)


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(T0, tick=False)
    return time_machine


@pytest.fixture
def detecting(settings):
    settings.SESSIONTOKENS_INVALID_TOKEN_LIMIT = 3
    settings.SESSIONTOKENS_INVALID_TOKEN_WINDOW = 60
    return settings


def probe(cookie, ip=ATTACKER):
    client = Client(REMOTE_ADDR=ip)
    client.cookies["sessionid"] = cookie
    return client.get("/whoami/")


def unknown_token(n=0):
    return f"{'x' * 20}{n:04d}.{'y' * 43}"


def test_off_by_default(engine, settings):
    with capture_signal(signals.session_guessing_detected) as detected:
        for n in range(30):
            assert probe(unknown_token(n)).status_code == 200
    assert detected == []
    assert guessing.count(ATTACKER) == 0


def test_malformed_unknown_and_forged_count(engine, user, detecting, clock):
    client = Client()
    client.force_login(user)
    real = client.cookies["sessionid"].value
    forged = real[:25] + ("A" if real[25] != "A" else "B") + real[26:]
    probe("garbage")
    probe(unknown_token())
    probe(forged)
    assert guessing.count(ATTACKER) == 3
    assert guessing.count(NEIGHBOUR) == 0


def test_expired_tokens_do_not_count(engine, user, detecting, clock, settings):
    settings.SESSIONTOKENS_IDLE_TIMEOUT = 600
    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"].value
    clock.shift(timedelta(minutes=11))
    for _ in range(5):
        assert probe(cookie).json()["user"] is None
    assert guessing.count(ATTACKER) == 0


def test_over_the_limit_signals_once_and_blocks_for_the_window(
    engine, user, detecting, clock
):
    detecting.SESSIONTOKENS_INVALID_TOKEN_BLOCK = True
    with capture_signal(signals.session_guessing_detected) as detected:
        for n in range(3):
            assert probe(unknown_token(n)).status_code == 200
        assert detected == []
        assert probe(unknown_token(3)).status_code == 200  # the 4th is counted
        blocked = probe(unknown_token(4))
        assert blocked.status_code == 429
        assert blocked["Retry-After"] == "60"
        assert probe(unknown_token(5)).status_code == 429
    assert len(detected) == 1
    assert detected[0]["ip"] == ATTACKER
    assert detected[0]["count"] == 4
    assert detected[0]["request"].META["REMOTE_ADDR"] == ATTACKER
    # Other addresses, and requests without a session cookie, still pass.
    assert probe(unknown_token(6), ip=NEIGHBOUR).status_code == 200
    assert Client(REMOTE_ADDR=ATTACKER).get("/whoami/").status_code == 200
    # Even a valid session from the blocked address waits out the window.
    client = Client(REMOTE_ADDR=ATTACKER)
    client.force_login(user)
    assert client.get("/whoami/").status_code == 429
    clock.shift(timedelta(seconds=61))
    assert client.get("/whoami/").json()["user"] == user.username


def test_without_block_only_signals(engine, detecting, clock):
    with capture_signal(signals.session_guessing_detected) as detected:
        for n in range(10):
            assert probe(unknown_token(n)).status_code == 200
    assert len(detected) == 1  # once per window
    clock.shift(timedelta(seconds=130))  # both buckets gone
    with capture_signal(signals.session_guessing_detected) as detected:
        for n in range(4):
            probe(unknown_token(n))
    assert len(detected) == 1


def test_window_slides_across_bucket_boundaries(engine, detecting, clock):
    detecting.SESSIONTOKENS_INVALID_TOKEN_LIMIT = 4
    clock.shift(timedelta(seconds=50))
    for n in range(4):
        probe(unknown_token(n))
    clock.shift(timedelta(seconds=20))  # 10 s into the next bucket
    # 4 from the previous minute, 5/6 of which still overlap the window.
    assert guessing.count(ATTACKER) == 3
    with capture_signal(signals.session_guessing_detected) as detected:
        probe(unknown_token(4))
        assert detected == []
        probe(unknown_token(5))  # 2 + 3 > 4
    assert len(detected) == 1


def test_malformed_cookies_still_cost_no_query(detecting):
    with CaptureQueriesContext(connection) as queries:
        for _ in range(5):
            assert probe("not-a-token").status_code == 200
    assert len(queries) == 0
    assert guessing.count(ATTACKER) == 5


def test_invalid_token_limit_check(settings):
    settings.SESSIONTOKENS_INVALID_TOKEN_LIMIT = 0
    assert _ids() == ["sessiontokens.E015"]
    settings.SESSIONTOKENS_INVALID_TOKEN_LIMIT = 20
    settings.SESSIONTOKENS_INVALID_TOKEN_WINDOW = -1
    assert _ids() == ["sessiontokens.E004"]


def _ids():
    return [m.id for m in checks.run_checks() if m.id.startswith("sessiontokens.")]
