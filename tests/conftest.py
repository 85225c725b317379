from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
from contextlib import contextmanager

import pytest
from django.conf import settings as django_settings

ENGINES = ["db", "redis", "cached_db"]
REDIS_ENGINES = {"redis", "cached_db"}


#: The one skip CI allows: the Debian archive no longer serves the Chromium
#: that runs DBSC on Linux (``scripts/get-chromium-150.sh`` exits 3).
CI_ALLOWED_SKIP = "Chromium 150 unavailable: "


def _require(reason: str) -> None:
    """Skip with a reason, or fail when CI is set (CI runs every test)."""
    if os.environ.get("CI"):
        pytest.fail(f"CI must run every test, but: {reason}")
    pytest.skip(reason)


@pytest.fixture
def redis_client():
    """A client for the test Redis database, flushed before and after."""
    try:
        from django_redis import get_redis_connection
    except ImportError:
        _require("django-redis is not installed")
    client = get_redis_connection(django_settings.SESSIONTOKENS_REDIS_CACHE)
    try:
        client.ping()
    except Exception as exc:
        _require(f"Redis at {django_settings.REDIS_URL} does not answer: {exc}")
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture(params=ENGINES)
def engine(request, settings):
    """Each behaviour test runs on every engine; returns the engine module."""
    name = request.param
    module_name = f"django_sessiontokens.backends.{name}"
    if importlib.util.find_spec(module_name) is None:
        _require(f"engine {name} is not available")
    if name in REDIS_ENGINES:
        request.getfixturevalue("redis_client")
    settings.SESSION_ENGINE = module_name
    return importlib.import_module(module_name)


@pytest.fixture
def store(engine):
    return engine.SessionStore.get_store()


@pytest.fixture
def user(db):
    from tests.factories import UserFactory

    return UserFactory()


@pytest.fixture
def other_user(db):
    from tests.factories import UserFactory

    return UserFactory()


async def aforce_login(client, user):
    """``AsyncClient.aforce_login`` (Django 5.0+), or its sync twin on 4.2."""
    if hasattr(client, "aforce_login"):
        await client.aforce_login(user)
    else:
        from asgiref.sync import sync_to_async

        await sync_to_async(client.force_login)(user)


@pytest.fixture
def clock(time_machine):
    """Time stands still at now until the test moves it."""
    from django.utils import timezone

    time_machine.move_to(timezone.now(), tick=False)
    return time_machine


def sign_in(user, *, user_agent="", csrf=False, ip="203.0.113.7"):
    """A test client signed in as ``user`` in a session of its own."""
    from django.test import Client

    client = Client(
        enforce_csrf_checks=csrf, HTTP_USER_AGENT=user_agent, REMOTE_ADDR=ip
    )
    assert client.get("/sign-in/", {"username": user.username}).status_code == 200
    return client


def public_id(client):
    """The public id of the client's session cookie."""
    return client.cookies["sessionid"].value.split(".")[0]


def signed_in_as(client):
    return client.get("/whoami/").json()["user"]


@contextmanager
def capture_signal(signal):
    """Collect a signal's kwargs; always disconnects."""
    calls: list[dict] = []

    def receiver(sender, signal=None, **kwargs):
        calls.append({"sender": sender, **kwargs})

    signal.connect(receiver, weak=False)
    try:
        yield calls
    finally:
        signal.disconnect(receiver)


@pytest.fixture
async def executor_connections():
    """Async tests touch the database from asgiref's thread; close that
    connection so the test database can be dropped (PostgreSQL)."""
    yield
    from asgiref.sync import sync_to_async
    from django.db import connections

    await sync_to_async(connections.close_all)()


def pytest_collection_modifyitems(items):
    for item in items:
        if inspect.iscoroutinefunction(getattr(item, "function", None)):
            item.fixturenames.append("executor_connections")


def pytest_sessionfinish(session, exitstatus):
    if not os.environ.get("CI") or exitstatus != 0:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = [
        report
        for report in (reporter.stats.get("skipped", []) if reporter else [])
        if CI_ALLOWED_SKIP not in str(report.longrepr)
    ]
    if skipped:
        session.exitstatus = 1
        if reporter:
            reporter.write_line(
                f"CI is set and {len(skipped)} test(s) were skipped: CI runs every "
                "test (start Redis and PostgreSQL, install chromium).",
                red=True,
            )
