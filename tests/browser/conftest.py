"""Real headless Chromium (Debian's ``/usr/bin/chromium``) driven by
Playwright's sync API against Django's live server.

Without chromium or Playwright these tests skip, or fail when ``CI`` is set.
"""

import os
from pathlib import Path

import pytest

from tests.conftest import _require

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: Screenshots land here (git-ignored); the README's copies live in docs/.
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

DESKTOP_CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
WINDOWS_FIREFOX = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
)


@pytest.fixture
def browser(monkeypatch):
    """A fresh Chromium per test. Playwright's sync API keeps an event loop
    running in this thread, so Django's async-safety guard is lifted for the
    ORM calls the test and its fixtures make meanwhile."""
    if not os.access(CHROMIUM, os.X_OK):
        _require(f"{CHROMIUM} is missing: apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _require("playwright is not installed")
    from django.db import connections

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()
            # While Playwright's loop runs, Django keeps this thread's
            # connections apart (asgiref's Local follows the running loop):
            # close those now, or PostgreSQL cannot drop the test database.
            connections.close_all()
    finally:
        playwright.stop()


@pytest.fixture
def new_context(browser):
    """``new_context(user_agent, width=...)``: an isolated browser profile."""

    def new_context(user_agent=DESKTOP_CHROME, *, width=1000):
        context = browser.new_context(
            user_agent=user_agent,
            viewport={"width": width, "height": 720},
            device_scale_factor=1,
            color_scheme="light",
        )
        context.set_default_timeout(15_000)
        return context

    return new_context


def session_cookie(context):
    """The session cookie's public id in this context (``None`` if none)."""
    for cookie in context.cookies():
        if cookie["name"] == "sessionid" and cookie["value"]:
            return cookie["value"].split(".")[0]
    return None


def screenshot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def server(engine, transactional_db):
    """Django's live server (pytest-django's ``LiveServer``), started per test
    so that its middleware loads the engine under test."""
    from pytest_django.live_server_helper import LiveServer

    live = LiveServer("localhost")
    try:
        yield live
    finally:
        live.stop()
