"""DBSC with a stand-in Chromium 150, on every engine: enforcement of the
bound cookie (a stolen session cookie, scope, ``Secure-Session-Skipped``)
and the binding through the session's lifecycle."""

import json

import pytest
from django.core.management import call_command

from django_sessiontokens import services, signals
from django_sessiontokens.stores import registry
from tests.conftest import capture_signal
from tests.dbsc_browser import DbscBrowser, new_key, sign
from tests.dbsc_support import (
    COOKIE,
    binding_of,
    dbsc,
    refresh_raw,
    signed_in_browser,
    whoami,
)

pytestmark = pytest.mark.django_db(transaction=True)
__all__ = ["dbsc"]  # the fixture


# Enforcement ---------------------------------------------------------------
def test_a_stolen_session_cookie_is_signed_out_and_its_refresh_refused(
    dbsc, user, clock, settings
):
    device = signed_in_browser(user)
    clock.shift(6)  # past the registration overlap
    thief = DbscBrowser(supports_dbsc=False, ip="198.51.100.9")
    thief.copy_session_cookie_from(device)
    sess = device.session
    assert whoami(thief) == {"user": None, "bound": False}
    assert thief.get("/whoami/").json()["user"] is None  # pages and XHR alike
    assert thief.get("/awhoami/").json()["user"] is None  # async views too
    assert thief.jar["sessionid"] == device.jar["sessionid"]  # left alone
    # Its refresh: a challenge it cannot sign; a proof by its own key is refused.
    assert refresh_raw(thief, sess).status_code == 403
    assert (
        json.loads(
            refresh_raw(thief, sess, sign(new_key("ES256"), "ES256", "x")).content
        )["continue"]
        is False
    )
    # A write starts an anonymous session of its own.
    assert thief.post("/set/?key=a&value=b").status_code == 200
    assert thief.jar["sessionid"] != device.jar["sessionid"]
    # The real device carries on, its session untouched.
    assert whoami(device) == {"user": user.username, "bound": True}
    assert device.get("/get/?key=a").json()["value"] is None
    # After the settle time, a request without the bound cookie is theft.
    thief.copy_session_cookie_from(device)
    clock.shift(60)
    with capture_signal(signals.session_anomaly) as anomalies:
        assert whoami(thief)["user"] is None
    assert [(a["kind"], a["action"]) for a in anomalies] == [
        ("device_binding", "signal")
    ]
    settings.SESSIONTOKENS_DBSC_ON_ANOMALY = "end"
    assert whoami(thief)["user"] is None
    assert device.refresh(sess) == "terminated"
    assert whoami(device)["user"] is None


def test_excluded_paths_need_no_bound_cookie(dbsc, user, clock, settings):
    device = signed_in_browser(user)
    clock.shift(6)  # past the registration overlap
    thief = DbscBrowser(supports_dbsc=False)
    thief.copy_session_cookie_from(device)
    assert thief.get("/static/app.css").json()["user"] == user.username
    settings.SESSIONTOKENS_DBSC_EXCLUDE = ["/whoami/"]
    assert thief.get("/whoami/").json()["user"] == user.username
    assert thief.get("/bound/").json()["user"] is None


def test_secure_session_skipped_follows_the_policy(dbsc, user, clock, settings):
    device = signed_in_browser(user)
    clock.shift(6)  # past the registration overlap
    sess = device.session
    device.jar.pop(COOKIE)
    skipped = {"Secure-Session-Skipped": f'server_error;session_identifier="{sess.id}"'}
    assert device.send("GET", "/bound/", skipped).json()["user"] is None
    settings.SESSIONTOKENS_DBSC_ON_SKIPPED = "allow"
    assert device.send("GET", "/bound/", skipped).json() == {
        "user": user.username,
        "bound": False,
    }
    wrong = {"Secure-Session-Skipped": 'server_error;session_identifier="other"'}
    assert device.send("GET", "/bound/", wrong).json()["user"] is None
    for garbage in ["", ";;", "x" * 2000, "1bad"]:
        assert (
            device.send(
                "GET", "/bound/", {"Secure-Session-Skipped": garbage}
            ).status_code
            == 200
        )


def test_a_wrong_bound_cookie_is_signed_out(dbsc, user):
    device = signed_in_browser(user)
    device.jar[COOKIE] = ("forged", None)
    assert whoami(device)["user"] is None
    device.jar[COOKIE] = ("x" * 500, None)
    assert whoami(device)["user"] is None


def test_the_previous_bound_cookie_overlaps_briefly(dbsc, user, clock):
    device = signed_in_browser(user)
    old = device.jar[COOKIE]
    assert device.refresh(device.session) == "refreshed"
    late = DbscBrowser()
    late.jar = {**device.jar, COOKIE: old}
    assert whoami(late)["bound"] is True
    clock.shift(31)
    assert whoami(late)["user"] is None
    assert whoami(device)["bound"] is True


def test_writes_racing_the_registration_keep_the_binding(dbsc, user):
    device = signed_in_browser(user)
    for i in range(3):
        assert device.get(f"/set/?key=k{i}&value=v").status_code == 200
    assert binding_of(device).state == "bound"
    assert whoami(device)["bound"] is True


# Lifecycle -----------------------------------------------------------------
def test_privilege_rotation_keeps_the_key(dbsc, user):
    device = signed_in_browser(user)
    before = binding_of(device)
    assert device.get("/rotate/").status_code == 200
    after = binding_of(device)
    assert after.public_id != before.public_id
    assert (after.dbsc_id, after.jwk, after.state) == (
        before.dbsc_id,
        before.jwk,
        "bound",
    )
    assert registry.binding_store().get(before.public_id) is None
    assert whoami(device)["bound"] is True
    assert device.refresh(device.session) == "refreshed"


def test_periodic_rotation_keeps_the_key(dbsc, user, settings, clock):
    settings.SESSIONTOKENS_ROTATE_INTERVAL = 300
    device = signed_in_browser(user)
    before = device.jar["sessionid"][0]
    clock.shift(500)
    assert whoami(device) == {"user": user.username, "bound": True}
    assert device.jar["sessionid"][0] != before
    assert device.outcomes == ["refreshed"]


def test_signing_in_again_registers_again(dbsc, user):
    device = signed_in_browser(user)
    old = device.session
    old_binding = binding_of(device)
    device.get(f"/sign-in/?username={user.username}")
    assert len(device.sessions) == 2  # the browser still holds the old one
    assert registry.binding_store().get(old_binding.public_id) is None
    assert device.refresh(old) == "terminated"
    assert whoami(device)["bound"] is True


@pytest.mark.parametrize("clear_site_data", [False, True])
def test_logout_ends_the_binding(dbsc, user, settings, clear_site_data):
    settings.SESSIONTOKENS_CLEAR_SITE_DATA_ON_LOGOUT = clear_site_data
    device = signed_in_browser(user)
    sess = device.session
    response = device.post("/logout/")
    assert response.status_code in (200, 302)
    # The sign-out expires the bound cookie with the session cookie (and
    # Clear-Site-Data, when on, every cookie): the browser keeps its DBSC
    # session, so its next page waits for a refresh, which ends it.
    assert response.cookies[COOKIE]["max-age"] == 0
    assert COOKIE not in device.live_cookies()
    assert device.sessions == {sess.id: sess}
    device.get("/whoami/")
    assert device.outcomes[-1] == "terminated"
    assert device.sessions == {}


@pytest.mark.parametrize("how", ["user", "admin", "command", "password", "deactivated"])
def test_revocation_ends_the_binding(dbsc, user, how):
    device = signed_in_browser(user)
    sess = device.session
    public_id = binding_of(device).public_id
    if how == "user":
        other = signed_in_browser(user)
        assert other.post("/sessions/end-others/").status_code in (200, 302)
    elif how == "admin":
        services.end_user_sessions(user, actor="admin")
    elif how == "command":
        call_command("endsessions", "--user", user.username, "--no-input", verbosity=0)
    elif how == "password":
        user.set_password("another-password-1")
        user.save()
    else:
        user.is_active = False
        user.save()
    assert registry.binding_store().get(public_id) is None
    assert device.refresh(sess) == "terminated"
    assert whoami(device)["user"] is None


def test_expiry_ends_the_binding(dbsc, user, settings, clock):
    settings.SESSIONTOKENS_IDLE_TIMEOUT = 900
    device = signed_in_browser(user)
    sess = device.session
    public_id = binding_of(device).public_id
    clock.shift(1000)
    assert device.refresh(sess) == "terminated"
    assert whoami(device)["user"] is None
    list(services.purge_expired())
    store = registry.binding_store()
    if dbsc.__name__.endswith(".redis"):
        # Redis drops the session by its TTL; the binding has one too.
        assert 0 < redis_ttl(store.key(public_id)) <= 86400 + 60
    else:
        assert store.get(public_id) is None


def redis_ttl(key):
    from django_redis import get_redis_connection

    return get_redis_connection("redis").ttl(key)


def test_a_rotation_at_the_refresh_itself_keeps_the_binding(dbsc, user, settings):
    """``SESSIONTOKENS_ON_IP_CHANGE = "rotate"`` and the refresh comes from a
    new address: the session gets a new public id in that very request."""
    settings.SESSIONTOKENS_ON_IP_CHANGE = "rotate"
    device = signed_in_browser(user)
    before = binding_of(device).public_id
    device.client.defaults["REMOTE_ADDR"] = "198.51.100.20"
    assert device.refresh(device.session) == "refreshed"
    after = binding_of(device)
    assert after.public_id != before and after.state == "bound"
    assert whoami(device) == {"user": user.username, "bound": True}


def test_a_websocket_needs_the_bound_cookie_too(dbsc, user, clock):
    from django_sessiontokens import channels

    device = signed_in_browser(user)
    clock.shift(6)  # past the registration overlap

    def scope(cookies):
        header = "; ".join(f"{k}={v}" for k, v in cookies.items()).encode()
        return {"type": "websocket", "path": "/ws/", "headers": [(b"cookie", header)]}

    _, signed_in = channels._load(scope(device.live_cookies()))
    assert signed_in.is_authenticated
    stolen = {"sessionid": device.jar["sessionid"][0]}
    _, thief = channels._load(scope(stolen))
    assert not thief.is_authenticated


def test_requests_sent_before_the_registration_answer_are_served(dbsc, user, clock):
    device = signed_in_browser(user)
    early = DbscBrowser(supports_dbsc=False)
    early.jar = {"sessionid": device.jar["sessionid"]}  # no bound cookie yet
    assert whoami(early) == {"user": user.username, "bound": False}
    clock.shift(6)
    assert whoami(early)["user"] is None
