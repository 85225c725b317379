"""IP and user-agent change policy: ignore, signal, rotate or end."""

from datetime import timedelta

import pytest
from django.core import checks
from django.test import Client

from django_sessiontokens import signals
from tests.conftest import capture_signal

# Real commits, so on_commit signals fire as in production.
pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "pw-correct-horse"
HOME = "198.51.100.7"
CAFE = "203.0.113.9"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
CURL = "curl/8.5.0"


@pytest.fixture
def announced():
    with capture_signal(signals.session_anomaly) as calls:
        yield calls


def signed_in(user, ip=HOME, agent=FIREFOX):
    client = Client(REMOTE_ADDR=ip, HTTP_USER_AGENT=agent)
    response = client.post("/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def whoami(client, **extra):
    return client.get("/whoami/", **extra).json()["user"]


def summary(calls):
    return [(c["kind"], c["old"], c["new"], c["action"]) for c in calls]


def test_default_is_signal_with_old_and_new_values(engine, user, store, announced):
    client = signed_in(user)
    cookie = client.cookies["sessionid"].value
    assert whoami(client, REMOTE_ADDR=CAFE) == user.username
    assert summary(announced) == [("ip", HOME, CAFE, "signal")]
    assert announced[0]["public_id"] == cookie[:24]
    assert announced[0]["user_id"] == str(user.pk)
    assert announced[0]["request"].META["REMOTE_ADDR"] == CAFE
    # Recorded now: the next request from there is not an anomaly again.
    assert store.get(cookie[:24]).ip == CAFE
    assert whoami(client, REMOTE_ADDR=CAFE) == user.username
    assert len(announced) == 1
    assert client.cookies["sessionid"].value == cookie


def test_user_agent_change_is_signalled(engine, user, announced):
    client = signed_in(user)
    assert whoami(client, HTTP_USER_AGENT=CURL) == user.username
    assert summary(announced) == [("user_agent", FIREFOX, CURL, "signal")]


def test_ignore(engine, user, settings, announced):
    settings.SESSIONTOKENS_ON_IP_CHANGE = "ignore"
    settings.SESSIONTOKENS_ON_UA_CHANGE = "ignore"
    client = signed_in(user)
    assert whoami(client, REMOTE_ADDR=CAFE, HTTP_USER_AGENT=CURL) == user.username
    assert announced == []


def test_rotate_issues_a_new_token_and_kills_the_old(
    engine, user, store, settings, announced
):
    settings.SESSIONTOKENS_ON_IP_CHANGE = "rotate"
    client = signed_in(user)
    old = client.cookies["sessionid"].value
    with capture_signal(signals.session_rotated) as rotated:
        response = client.get("/whoami/", REMOTE_ADDR=CAFE)
    new = response.cookies["sessionid"].value
    assert response.json()["user"] == user.username
    assert new[:24] != old[:24]
    assert store.get(old[:24]) is None
    assert store.get(new[:24]).ip == CAFE
    replay = Client(REMOTE_ADDR=HOME)
    replay.cookies["sessionid"] = old
    assert whoami(replay) is None
    assert whoami(client, REMOTE_ADDR=CAFE) == user.username
    assert summary(announced) == [("ip", HOME, CAFE, "rotate")]
    assert [r["reason"] for r in rotated] == ["binding"]


def test_end_signs_out_and_ends_the_session(engine, user, store, settings, announced):
    settings.SESSIONTOKENS_ON_UA_CHANGE = "end"
    client = signed_in(user)
    cookie = client.cookies["sessionid"].value
    with capture_signal(signals.session_ended) as ended:
        assert whoami(client, HTTP_USER_AGENT=CURL) is None
    assert store.get(cookie[:24]) is None
    assert [e["reason"] for e in ended] == ["binding"]
    assert summary(announced) == [("user_agent", FIREFOX, CURL, "end")]
    # The legitimate browser is signed out too: the session is gone.
    assert whoami(client) is None


def test_strongest_action_wins_and_both_are_signalled(
    engine, user, store, settings, announced
):
    settings.SESSIONTOKENS_ON_IP_CHANGE = "end"
    settings.SESSIONTOKENS_ON_UA_CHANGE = "rotate"
    client = signed_in(user)
    cookie = client.cookies["sessionid"].value
    assert whoami(client, REMOTE_ADDR=CAFE, HTTP_USER_AGENT=CURL) is None
    assert store.get(cookie[:24]) is None
    assert sorted(summary(announced)) == [
        ("ip", HOME, CAFE, "end"),
        ("user_agent", FIREFOX, CURL, "rotate"),
    ]


def test_truncated_addresses_compare_networks(engine, user, settings, announced):
    settings.SESSIONTOKENS_RECORD_IP = "truncated"
    settings.SESSIONTOKENS_ON_IP_CHANGE = "end"
    client = signed_in(user, ip="198.51.100.7")
    assert whoami(client, REMOTE_ADDR="198.51.100.200") == user.username
    assert announced == []
    assert whoami(client, REMOTE_ADDR="198.51.101.7") is None
    assert summary(announced) == [("ip", "198.51.100.0", "198.51.101.0", "end")]


def test_nothing_recorded_means_nothing_compared(engine, user, settings, announced):
    settings.SESSIONTOKENS_RECORD_IP = "none"
    settings.SESSIONTOKENS_USER_AGENT_MAX_LENGTH = 0
    settings.SESSIONTOKENS_ON_IP_CHANGE = "end"
    settings.SESSIONTOKENS_ON_UA_CHANGE = "end"
    client = signed_in(user)
    assert whoami(client, REMOTE_ADDR=CAFE, HTTP_USER_AGENT=CURL) == user.username
    assert announced == []


def test_anonymous_sessions_are_not_checked(engine, settings, announced):
    settings.SESSIONTOKENS_ON_IP_CHANGE = "end"
    client = Client(REMOTE_ADDR=HOME)
    client.get("/set/?key=cart&value=4")
    assert client.get("/get/?key=cart", REMOTE_ADDR=CAFE).json()["value"] == "4"
    assert announced == []


def test_spoofed_forwarded_for_from_an_untrusted_client_is_ignored(
    engine, user, settings, announced
):
    settings.SESSIONTOKENS_ON_IP_CHANGE = "end"
    client = signed_in(user)
    # No trusted proxies: the header is the client's word, not evidence.
    assert whoami(client, HTTP_X_FORWARDED_FOR=CAFE) == user.username
    assert announced == []


def test_trusted_proxy_hop_is_used_and_spoofed_entries_are_not(
    engine, user, settings, announced
):
    settings.SESSIONTOKENS_TRUSTED_PROXIES = 1
    proxy = "10.0.0.2"
    client = signed_in(user, ip=proxy)
    client.get("/whoami/", HTTP_X_FORWARDED_FOR=HOME)  # recorded: HOME
    announced.clear()
    # The client prepends a forged entry; the proxy appends what it saw.
    forged = f"{CAFE}, {HOME}"
    assert whoami(client, HTTP_X_FORWARDED_FOR=forged) == user.username
    assert announced == []
    assert whoami(client, HTTP_X_FORWARDED_FOR=f"{HOME}, {CAFE}") == user.username
    assert summary(announced) == [("ip", HOME, CAFE, "signal")]


@pytest.mark.parametrize("name", ["ON_IP_CHANGE", "ON_UA_CHANGE"])
def test_unknown_action_is_a_check_error(settings, name):
    setattr(settings, f"SESSIONTOKENS_{name}", "block")
    messages = [m for m in checks.run_checks() if m.id.startswith("sessiontokens.")]
    assert [m.id for m in messages] == ["sessiontokens.E009"]
    assert "'rotate'" in messages[0].hint


def test_binding_rotation_during_a_lost_rotation_race(
    engine, user, store, settings, time_machine
):
    """A request loses the periodic-rotation race, follows the winner, and
    finds the winner's address recorded: the binding policy still applies."""
    settings.SESSIONTOKENS_ROTATE_INTERVAL = 600
    client = signed_in(user)
    cookie = client.cookies["sessionid"].value
    time_machine.move_to(timedelta(minutes=11))
    first, second = engine.SessionStore(cookie), engine.SessionStore(cookie)
    first.context.ip, second.context.ip = CAFE, HOME
    assert first.get("_auth_user_id") == second.get("_auth_user_id") == str(user.pk)
    assert first.touch() is True  # rotates and records CAFE
    assert store.get(cookie[:24]).ip == CAFE
    settings.SESSIONTOKENS_ON_IP_CHANGE = "rotate"
    assert second.touch() is True
    assert second.session_key[:24] != cookie[:24]
    assert store.get(cookie[:24]) is None
    assert store.get(second.session_key[:24]).ip == HOME
    replay = Client(REMOTE_ADDR=HOME, HTTP_USER_AGENT=FIREFOX)
    replay.cookies["sessionid"] = second.session_key
    assert whoami(replay) == user.username
