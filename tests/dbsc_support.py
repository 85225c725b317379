"""What the DBSC protocol tests share: the settings fixture and a few
helpers around the stand-in browser (``tests/dbsc_browser.py``)."""

import pytest

from django_sessiontokens.stores import registry
from tests.dbsc_browser import DbscBrowser

REGISTER = "/sessions/dbsc/register/"
REFRESH = "/sessions/dbsc/refresh/"
COOKIE = "__Host-sessiontokens-bound"


@pytest.fixture
def dbsc(settings, engine, clock):
    """DBSC on, on every engine, with the clock standing still."""
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
