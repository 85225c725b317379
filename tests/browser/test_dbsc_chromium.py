"""A real browser binds its session to a device key: Chromium 150 (the build
of ``scripts/get-chromium-150.sh``, with software keys) against the example
project on ``http://localhost`` (a secure context), on every engine.

The DevTools protocol reports what the browser did (creation, refresh and
termination events); the pages show what the server made of it. The bound
cookie lives a few seconds here (``DBSC_COOKIE_AGE``), so that it expires and
is renewed several times while the test loads pages.
"""

from __future__ import annotations

import time

import pytest

from tests.browser.dbsc import DBSC_ARGS, DeviceBoundEvents, chromium_150
from tests.browser.example_server import PASSWORD, ExampleServer, prepare_database

#: About 18 s per engine (the bound cookie must expire several times), under
#: a minute in all: not marked slow, so the matrix runs it too.
pytestmark = pytest.mark.browser

#: The bound cookie's lifetime in the example project here, in seconds.
AGE = 4
LIFETIMES = 3
BOUND = "This session is bound to this device"
BOUND_COOKIE = "__Host-sessiontokens-bound"


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    """Migrated once, with the demo users; each engine's server copies it."""
    return prepare_database(tmp_path_factory.mktemp("example"))


@pytest.fixture
def example(engine, tmp_path, database):
    name = engine.__name__.rsplit(".", 1)[1]
    server = ExampleServer(tmp_path, name, database, DBSC_COOKIE_AGE=str(AGE))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def example_default_age(engine, tmp_path, database):
    """The example project with the bound cookie's default lifetime (600 s)."""
    name = engine.__name__.rsplit(".", 1)[1]
    server = ExampleServer(tmp_path, name, database)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def chromium():
    """A fresh Chromium 150 (a new profile) with DBSC on."""
    executable = chromium_150()
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=executable, args=DBSC_ARGS)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


def new_page(browser):
    context = browser.new_context()
    context.set_default_timeout(15_000)
    page = context.new_page()
    return context, page, DeviceBoundEvents(context, page)


def succeeded(creation):
    return creation["fetchResult"] == "Success"


def cookie(context, name):
    for found in context.cookies():
        if found["name"] == name:
            return found
    return None


def home(page, server):
    page.goto(f"{server.url}/")
    return page.locator("main").inner_text()


def sign_in(page, server):
    page.goto(f"{server.url}/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server.url}/")


def test_chromium_binds_renews_and_ends_the_session(chromium, example):
    context, page, events = new_page(chromium)

    # Sign in: the browser registers a key (the server offered it).
    sign_in(page, example)
    created = events.wait_for("creation", where=succeeded)
    session = created["newSession"]
    assert session["refreshUrl"] == f"{example.url}/sessions/dbsc/refresh/"
    assert [c["name"] for c in session["cookieCravings"]] == [BOUND_COOKIE]
    assert session["inclusionRules"]["origin"] == example.url
    assert cookie(context, BOUND_COOKIE) is not None
    text = home(page, example)
    assert "Hello, Alice" in text and BOUND in text, text
    page.goto(f"{example.url}/sessions/api/")
    listed = page.evaluate("() => JSON.parse(document.body.innerText)")["sessions"]
    assert [s["device_bound"] for s in listed] == [True], listed

    # Several lifetimes of the bound cookie: pages keep loading, signed in
    # and bound; once the cookie has expired the browser renews it before
    # the page goes out (a refresh with a signed challenge).
    values = {cookie(context, BOUND_COOKIE)["value"]}
    for _ in range(LIFETIMES):
        text = home(page, example)
        assert "Hello, Alice" in text and BOUND in text, text
        values.add(cookie(context, BOUND_COOKIE)["value"])
        expires = cookie(context, BOUND_COOKIE)["expires"]
        time.sleep(max(0.0, expires - time.time()) + 0.3)
        assert cookie(context, BOUND_COOKIE) is None  # expired in the browser
        text = home(page, example)
        assert "Hello, Alice" in text and BOUND in text, text
        values.add(cookie(context, BOUND_COOKIE)["value"])
    refreshed = events.of("refresh")
    assert len(refreshed) >= LIFETIMES, events.events
    assert {r["refreshResult"] for r in refreshed} == {"Refreshed"}, refreshed
    assert len(values) >= LIFETIMES + 1, values
    assert events.of("termination") == []

    # A copy of the session cookie in another profile (no key, no bound
    # cookie) is signed out; the real device carries on.
    thief_context, thief_page, thief_events = new_page(chromium)
    thief_context.add_cookies([cookie(context, "sessionid")])
    text = home(thief_page, example)
    assert "Hello, Alice" not in text and "Sign in" in text, text
    thief_events.settle()
    assert thief_events.events == []
    text = home(page, example)
    assert "Hello, Alice" in text and BOUND in text, text

    # Signing out ends the browser's DBSC session: the server says so at
    # the browser's next refresh.
    page.get_by_role("button", name="Sign out alice").click()
    page.wait_for_url(f"{example.url}/")
    ended = events.wait_for("termination")
    assert ended["deletionReason"] == "ServerRequested", events.events
    assert ended["sessionId"] == created["sessionId"]
    text = home(page, example)
    assert "Hello, Alice" not in text and BOUND not in text, text
    # One key registered. Chromium 150 also acts on the offer the sign-in
    # redirect carried when the next page carries one too; whichever of
    # the two registrations comes second is refused (403), never bound.
    creations = events.of("creation")
    assert [c for c in creations if succeeded(c)] == [created], creations
    refused = [c for c in creations if not succeeded(c)]
    assert all(c["failedRequest"]["responseError"] == 403 for c in refused), refused


@pytest.mark.slow  # with the test above, over a minute: CI's full passes run it
def test_signing_out_ends_the_browser_session_at_once(chromium, example_default_age):
    """With the default cookie lifetime the browser does not refresh on its
    own for minutes: the sign-out makes it ask (it expires the bound cookie;
    the refresh that follows, before the next page, gets ``continue:
    false``), without ``SESSIONTOKENS_CLEAR_SITE_DATA_ON_LOGOUT``."""
    server = example_default_age
    context, page, events = new_page(chromium)
    sign_in(page, server)
    created = events.wait_for("creation", where=succeeded)
    assert BOUND in home(page, server)
    page.get_by_role("button", name="Sign out alice").click()
    page.wait_for_url(f"{server.url}/")
    text = home(page, server)
    assert "Hello, Alice" not in text, text
    ended = events.wait_for("termination", timeout=2)
    assert ended["deletionReason"] == "ServerRequested", events.events
    assert ended["sessionId"] == created["sessionId"]
    assert cookie(context, BOUND_COOKIE) is None
