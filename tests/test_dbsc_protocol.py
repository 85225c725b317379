"""DBSC, the protocol end to end with a stand-in Chromium 150
(``tests/dbsc_browser.py``), on every engine, with an injected clock."""

import json

import pytest
from django.core.management import call_command

from django_sessiontokens import services, signals
from django_sessiontokens.stores import registry
from tests.conftest import capture_signal
from tests.dbsc_browser import DbscBrowser, new_key, sign

pytestmark = pytest.mark.django_db(transaction=True)

REGISTER = "/sessions/dbsc/register/"
REFRESH = "/sessions/dbsc/refresh/"
COOKIE = "__Host-sessiontokens-bound"


@pytest.fixture
def dbsc(settings, engine, clock):
    settings.SESSIONTOKENS_DBSC = True
    settings.SESSIONTOKENS_DBSC_ORIGIN = "https://testserver"
    return engine


def signed_in_browser(user, **kwargs):
    browser = DbscBrowser(**kwargs)
    response = browser.get(f"/sign-in/?username={user.username}")
    assert response.status_code == 200
    return browser


def whoami(browser, path="/bound/"):
    return browser.get(path).json()


def binding_of(browser):
    public_id = browser.jar["sessionid"][0].split(".")[0]
    return registry.binding_store().get(public_id)


def refresh_raw(browser, sess, proof=None, **headers):
    sent = {"Sec-Secure-Session-Id": sess.id, **headers}
    if proof is not None:
        sent["Secure-Session-Response"] = proof
    return browser.send("POST", REFRESH, sent)


# Registration ---------------------------------------------------------------
@pytest.mark.parametrize("alg", ["ES256", "RS256"])
def test_sign_in_offers_registration_and_the_device_registers(dbsc, user, alg):
    with capture_signal(signals.session_bound) as bound:
        browser = signed_in_browser(user, alg=alg)
    [offer] = browser.registration_headers
    assert offer.startswith('(ES256 RS256);path="/sessions/dbsc/register/";challenge="')
    response = browser.registration
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-store" in response["Cache-Control"]
    cfg = json.loads(response.content)
    assert cfg["refresh_url"] == REFRESH
    assert cfg["scope"]["origin"] == "https://testserver"
    assert cfg["scope"]["include_site"] is False
    excluded = [rule["path"] for rule in cfg["scope"]["scope_specification"]]
    assert {"/static/", REGISTER, REFRESH} <= set(excluded)
    assert all(
        r["type"] == "exclude" and r["domain"] == "testserver"
        for r in cfg["scope"]["scope_specification"]
    )
    [cred] = cfg["credentials"]
    assert cred["name"] == COOKIE
    # The attributes are byte for byte those of the Set-Cookie line.
    sent = response.cookies[COOKIE].OutputString().split("; ")[1:]
    assert cred["attributes"] == "; ".join(
        p for p in sent if not p.lower().startswith(("expires=", "max-age="))
    )
    assert cred["attributes"] == "HttpOnly; Path=/; SameSite=Lax; Secure"
    assert response.cookies[COOKIE]["max-age"] == 600
    assert f';id="{cfg["session_identifier"]}"' in response["Secure-Session-Challenge"]
    sess = browser.session
    assert sess.cached_challenge  # the next refresh is one request
    assert [(c["public_id"], c["algorithm"]) for c in bound] == [
        (browser.jar["sessionid"][0].split(".")[0], alg)
    ]
    assert whoami(browser) == {"user": user.username, "bound": True}
    binding = binding_of(browser)
    assert binding.state == "bound" and binding.algorithm == alg
    # Stored as a hash, never the value, and never in the session data.
    assert browser.jar[COOKIE][0] not in json.dumps(binding.__dict__, default=str)
    record = services.get_store().get(binding.public_id)
    assert "dbsc" not in record.data and binding.dbsc_id not in record.data


def test_a_browser_without_dbsc_keeps_working(dbsc, user):
    browser = signed_in_browser(user, supports_dbsc=False)
    assert binding_of(browser).state == "pending"
    for _ in range(3):
        assert whoami(browser) == {"user": user.username, "bound": False}


def test_the_next_page_offers_again_after_a_redirect(dbsc, user):
    browser = DbscBrowser(supports_dbsc=False)
    response = browser.get(f"/sign-in-then-redirect/?username={user.username}")
    assert response.status_code == 302
    first = response["Secure-Session-Registration"]
    page = browser.get("/whoami/")
    second = page["Secure-Session-Registration"]
    assert first != second  # a fresh challenge; both stay honoured
    assert "Secure-Session-Registration" not in browser.get("/whoami/")
    real = DbscBrowser()
    real.jar = dict(browser.jar)
    real._process("/whoami/", page)
    assert real.registration.status_code == 200
    assert whoami(real)["bound"] is True


def test_registration_refuses_bad_or_missing_proofs(dbsc, user):
    browser = signed_in_browser(user, supports_dbsc=False)
    challenge = binding_of(browser).challenge
    key = new_key("ES256")
    cases = {
        None: 400,
        "not-a-jws": 400,
        sign(key, "ES256", challenge, with_jwk=True, header_alg="none"): 400,
        sign(key, "ES256", challenge, with_jwk=False): 400,  # no jwk
        sign(key, "ES256", "never-issued", with_jwk=True): 403,
        "x" * 9000: 400,
    }
    for proof, status in cases.items():
        headers = {} if proof is None else {"Secure-Session-Response": proof}
        assert browser.send("POST", REGISTER, headers).status_code == status, proof
    assert binding_of(browser).state == "pending"
    # The old origin trial's header name is not read.
    old = {"Sec-Session-Response": sign(key, "ES256", challenge, with_jwk=True)}
    assert browser.send("POST", REGISTER, old).status_code == 400
    assert browser.send("GET", REGISTER).status_code == 405
    # Without a signed-in session there is nothing to bind.
    stranger = DbscBrowser()
    proof = sign(key, "ES256", challenge, with_jwk=True)
    assert (
        stranger.send("POST", REGISTER, {"Secure-Session-Response": proof}).status_code
        == 403
    )


# Refresh -------------------------------------------------------------------
def test_deferred_refresh_when_the_bound_cookie_expired(dbsc, user, clock):
    browser = signed_in_browser(user)
    first = browser.jar[COOKIE][0]
    clock.shift(601)
    assert COOKIE not in browser.live_cookies()
    assert whoami(browser) == {"user": user.username, "bound": True}
    assert browser.outcomes == ["refreshed"]
    # One request: the challenge came with the previous answer.
    assert [e[2] for e in browser.log if e[1] == REFRESH] == [200]
    assert browser.jar[COOKIE][0] != first


def test_proactive_refresh_under_two_minutes_left(dbsc, user, clock):
    browser = signed_in_browser(user)
    clock.shift(500)
    assert whoami(browser)["bound"] is True
    assert browser.outcomes == ["refreshed"]
    clock.shift(300)  # past the first cookie's lifetime: the new one works
    assert whoami(browser)["bound"] is True
    for _ in range(5):  # several lifetimes while pages keep loading
        clock.shift(590)
        assert whoami(browser) == {"user": user.username, "bound": True}
    assert browser.outcomes == ["refreshed"] * 6


def test_no_proof_gets_403_and_a_challenge_then_the_proof_gets_200(dbsc, user):
    browser = signed_in_browser(user)
    sess = browser.session
    response = refresh_raw(browser, sess)
    assert response.status_code == 403
    challenge = response["Secure-Session-Challenge"]
    assert challenge.endswith(f';id="{sess.id}"')
    value = challenge.split(";")[0].strip('"')
    ok = refresh_raw(browser, sess, sign(sess.key, sess.alg, value))
    assert ok.status_code == 200
    assert json.loads(ok.content)["session_identifier"] == sess.id
    assert COOKIE in ok.cookies and ok["Secure-Session-Challenge"]


def test_a_replayed_proof_gets_a_fresh_challenge_not_an_alarm(dbsc, user):
    browser = signed_in_browser(user)
    sess = browser.session
    proof = sign(sess.key, sess.alg, sess.cached_challenge)
    with capture_signal(signals.session_anomaly) as anomalies:
        assert refresh_raw(browser, sess, proof).status_code == 200
        again = refresh_raw(browser, sess, proof)
    assert again.status_code == 403 and again["Secure-Session-Challenge"]
    assert anomalies == []
    assert whoami(browser)["bound"] is True


def test_the_previous_challenge_is_honoured_once(dbsc, user):
    browser = signed_in_browser(user)
    sess = browser.session
    cached = sess.cached_challenge
    assert refresh_raw(browser, sess).status_code == 403  # a newer challenge
    proof = sign(sess.key, sess.alg, cached)
    assert refresh_raw(browser, sess, proof).status_code == 200
    assert refresh_raw(browser, sess, proof).status_code == 403


def test_concurrent_refreshes_one_wins_the_other_is_asked_again(dbsc, user):
    browser = signed_in_browser(user)
    sess = browser.session
    proof = sign(sess.key, sess.alg, sess.cached_challenge)
    store = registry.binding_store()
    original = store.save
    raced = []

    def racing_save(binding, *, expected):
        if not raced:  # another refresh with the same proof lands first
            raced.append(None)
            raced[0] = refresh_raw(browser, sess, proof).status_code
        return original(binding, expected=expected)

    store.save = racing_save
    try:
        with capture_signal(signals.session_anomaly) as anomalies:
            loser = refresh_raw(browser, sess, proof)
    finally:
        del store.save
    assert raced == [200]
    assert loser.status_code == 403 and loser["Secure-Session-Challenge"]
    assert anomalies == []
    assert browser.refresh(sess) == "refreshed"
    assert whoami(browser)["bound"] is True


def test_a_proof_signed_by_another_key_is_refused(dbsc, user, settings):
    browser = signed_in_browser(user)
    sess = browser.session
    other = sign(new_key(sess.alg), sess.alg, sess.cached_challenge)
    with capture_signal(signals.session_anomaly) as anomalies:
        response = refresh_raw(browser, sess, other)
    assert response.status_code == 200
    assert json.loads(response.content) == {
        "session_identifier": sess.id,
        "continue": False,
    }
    assert [(a["kind"], a["action"]) for a in anomalies] == [
        ("device_binding", "signal")
    ]
    # The binding is not weakened: the real key still refreshes.
    assert binding_of(browser).state == "bound"
    assert browser.refresh(sess) == "refreshed"
    settings.SESSIONTOKENS_DBSC_ON_ANOMALY = "end"
    other = sign(new_key(sess.alg), sess.alg, sess.cached_challenge)
    with capture_signal(signals.session_ended) as ended:
        refresh_raw(browser, sess, other)
    assert [e["reason"] for e in ended] == ["device_binding"]
    assert whoami(browser)["user"] is None


def test_alg_none_and_malformed_proofs_are_clear_4xx(dbsc, user):
    browser = signed_in_browser(user)
    sess = browser.session
    none = sign(sess.key, sess.alg, sess.cached_challenge, header_alg="none")
    for proof in [none, "a.b.c", "....", "é" * 10, "x" * 9000]:
        assert refresh_raw(browser, sess, proof).status_code == 400
    for sid in ["", "bad id", "x" * 100, '"unterminated']:
        assert (
            browser.send("POST", REFRESH, {"Sec-Secure-Session-Id": sid}).status_code
            == 400
        )
    assert binding_of(browser).state == "bound"
    assert browser.refresh(sess) == "refreshed"


def test_quoted_and_unquoted_headers_are_accepted(dbsc, user):
    browser = signed_in_browser(user)
    sess = browser.session
    assert browser.refresh(sess, quoted_id=True) == "refreshed"
    quoted = '"' + sign(sess.key, sess.alg, sess.cached_challenge) + '"'
    assert refresh_raw(browser, sess, quoted).status_code == 200


def test_old_sec_session_names_are_ignored(dbsc, user):
    browser = signed_in_browser(user)
    sess = browser.session
    response = browser.send(
        "POST",
        REFRESH,
        {
            "Sec-Session-Id": sess.id,
            "Sec-Session-Response": sign(sess.key, sess.alg, sess.cached_challenge),
        },
    )
    assert response.status_code == 400
    signed = browser.get(f"/sign-in/?username={user.username}")
    assert "Sec-Session-Registration" not in signed
    assert "Secure-Session-Registration" in signed


def test_refresh_for_another_session_is_over(dbsc, user, other_user):
    browser = signed_in_browser(user)
    intruder = signed_in_browser(other_user)
    sess = browser.session
    # The intruder's own session cookie with the victim's DBSC id.
    response = refresh_raw(
        intruder, sess, sign(sess.key, sess.alg, sess.cached_challenge)
    )
    assert json.loads(response.content) == {
        "session_identifier": sess.id,
        "continue": False,
    }
    assert browser.refresh(sess) == "refreshed"


# Enforcement ---------------------------------------------------------------
def test_a_stolen_session_cookie_is_signed_out_and_its_refresh_refused(
    dbsc, user, clock, settings
):
    device = signed_in_browser(user)
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


def test_excluded_paths_need_no_bound_cookie(dbsc, user, settings):
    device = signed_in_browser(user)
    thief = DbscBrowser(supports_dbsc=False)
    thief.copy_session_cookie_from(device)
    assert thief.get("/static/app.css").json()["user"] == user.username
    settings.SESSIONTOKENS_DBSC_EXCLUDE = ["/whoami/"]
    assert thief.get("/whoami/").json()["user"] == user.username
    assert thief.get("/bound/").json()["user"] is None


def test_secure_session_skipped_follows_the_policy(dbsc, user, settings):
    device = signed_in_browser(user)
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
    assert device.post("/logout/").status_code in (200, 302)
    assert binding_of(device) is None if "sessionid" in device.jar else True
    # Chromium keeps its DBSC session after Clear-Site-Data and refreshes.
    assert device.refresh(sess) == "terminated"
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


def test_a_websocket_needs_the_bound_cookie_too(dbsc, user):
    from django_sessiontokens import channels

    device = signed_in_browser(user)

    def scope(cookies):
        header = "; ".join(f"{k}={v}" for k, v in cookies.items()).encode()
        return {"type": "websocket", "path": "/ws/", "headers": [(b"cookie", header)]}

    _, signed_in = channels._load(scope(device.live_cookies()))
    assert signed_in.is_authenticated
    stolen = {"sessionid": device.jar["sessionid"][0]}
    _, thief = channels._load(scope(stolen))
    assert not thief.is_authenticated
