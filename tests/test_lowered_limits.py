"""A limit lowered in the settings applies to existing sessions at once, on
every path: load, the JSON API, the "your sessions" page, the admin list,
``listsessions``, the concurrent-session limit and ``purgesessions``; the
remembered limits apply to remembered sessions only, the others to the
others only."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command

from django_sessiontokens.services import limits
from tests import conftest
from tests.conftest import public_id, sign_in, signed_in_as
from tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

LIMITS = {
    # setting: (value before, value after, how long the stale session idles)
    "idle": ("SESSIONTOKENS_IDLE_TIMEOUT", 3600, 120),
    "absolute": ("SESSIONTOKENS_ABSOLUTE_TIMEOUT", 86400, 200),
    # Remembered ("keep me signed in"): the stale session is remembered, the
    # fresh one is an ordinary session signed in at the same time (and as
    # active), which the lowered remembered limit must leave alone.
    "remembered_idle": ("SESSIONTOKENS_REMEMBERED_IDLE_TIMEOUT", 3600, 120),
    "remembered_absolute": (
        "SESSIONTOKENS_REMEMBERED_ABSOLUTE_TIMEOUT",
        30 * 86400,
        200,
    ),
}


def sign_in_remembered(user, ip):
    from django.test import Client

    client = Client(REMOTE_ADDR=ip)
    query = {"username": user.username, "remember": "1"}
    assert client.get("/sign-in/", query).status_code == 200
    return client


def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture(params=sorted(LIMITS))
def lowered(request, engine, settings, clock):
    """Alice's stale session (signed in 300 s ago, last active then for the
    idle case, 60 s ago for the absolute case), her fresh one, a staff
    viewer, and the limit lowered so that only the stale one is past it."""
    name, before, after = LIMITS[request.param]
    setattr(settings, name, before)
    settings.SESSIONTOKENS_TOUCH_INTERVAL = 30
    alice = UserFactory(username="alice")
    kept = request.param.startswith("remembered")
    if kept:
        stale = sign_in_remembered(alice, ip="203.0.113.1")
        fresh = sign_in(alice, ip="203.0.113.2")
    else:
        stale = sign_in(alice, ip="203.0.113.1")
    clock.shift(timedelta(seconds=240))
    if request.param.endswith("absolute"):
        assert signed_in_as(stale) == "alice"  # active: only absolute is past
        if kept:
            assert signed_in_as(fresh) == "alice"
    clock.shift(timedelta(seconds=60))
    if not kept:
        fresh = sign_in(alice, ip="203.0.113.2")
    viewer = sign_in(StaffFactory(is_superuser=True), ip="198.51.100.1")
    setattr(settings, name, after)
    return {
        "stale": public_id(stale),
        "fresh": fresh,
        "viewer": viewer,
        "client": stale,
    }


def test_api_and_page_do_not_list_it(lowered):
    fresh, stale = lowered["fresh"], lowered["stale"]
    listed = [row["id"] for row in fresh.get("/sessions/api/").json()["sessions"]]
    assert listed == [public_id(fresh)]
    page = fresh.get("/sessions/").content.decode()
    assert public_id(fresh) in page and stale not in page


def test_admin_lists_it_as_expired_only(lowered):
    viewer, stale = lowered["viewer"], lowered["stale"]
    url = "/admin/sessiontokens/session/"
    assert stale not in viewer.get(url).content.decode()
    assert stale in viewer.get(url, {"state": "expired"}).content.decode()


def test_listsessions_shows_it_only_with_all(lowered):
    stale = lowered["stale"]
    assert stale not in run("listsessions")
    assert stale not in run("listsessions", "--user", "alice")
    everything = [line for line in run("listsessions", "--all").splitlines()]
    row = next(line for line in everything if line.startswith(stale))
    assert "expired" in row


def test_it_does_not_count_toward_the_limit(lowered, settings):
    settings.SESSIONTOKENS_MAX_SESSIONS_PER_USER = 2
    settings.SESSIONTOKENS_LIMIT_POLICY = "refuse"
    alice = UserFactory._meta.model.objects.get(username="alice")
    assert not limits.would_refuse(alice)
    third = sign_in(alice, ip="203.0.113.3")
    assert signed_in_as(third) == "alice"


def test_purge_counts_and_removes_it(lowered, store):
    stale = lowered["stale"]
    assert "Would remove 1 expired session(s)" in run("purgesessions", "--dry-run")
    assert store.peek(stale) is not None
    run("purgesessions")
    assert store.peek(stale) is None
    assert signed_in_as(lowered["fresh"]) == "alice"


def test_load_refuses_it_without_ending_anything_else(lowered):
    assert signed_in_as(lowered["client"]) is None
    assert signed_in_as(lowered["fresh"]) == "alice"


def test_raising_a_limit_never_revives_an_expired_session(engine, settings, clock):
    settings.SESSIONTOKENS_IDLE_TIMEOUT = 120
    client = conftest.sign_in(UserFactory())
    clock.shift(timedelta(seconds=300))
    settings.SESSIONTOKENS_IDLE_TIMEOUT = 3600
    assert signed_in_as(client) is None
