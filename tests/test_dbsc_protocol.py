"""DBSC, the protocol end to end with a stand-in Chromium 150
(``tests/dbsc_browser.py``), on every engine, with an injected clock:
registration and refresh."""

import json

import pytest

from django_sessiontokens import services, signals
from django_sessiontokens.stores import registry
from tests.conftest import capture_signal
from tests.dbsc_browser import DbscBrowser, new_key, sign
from tests.dbsc_support import (
    COOKIE,
    REFRESH,
    REGISTER,
    binding_of,
    dbsc,
    refresh_raw,
    signed_in_browser,
    whoami,
)

pytestmark = pytest.mark.django_db(transaction=True)
__all__ = ["dbsc"]  # the fixture


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
