"""Remember me: remembered and ordinary sessions expire by their own limits
(time travel) and get their own cookies, on every engine; the form mixin,
``remember()`` before and after ``login()``, a new sign-in starting not
remembered, the page and the API showing it, periodic rotation still
applying."""

import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client

from tests.conftest import public_id, signed_in_as
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


@pytest.fixture
def limits(settings):
    settings.SESSIONTOKENS_IDLE_TIMEOUT = 3600
    settings.SESSIONTOKENS_ABSOLUTE_TIMEOUT = 86400
    settings.SESSIONTOKENS_REMEMBERED_IDLE_TIMEOUT = None
    settings.SESSIONTOKENS_REMEMBERED_ABSOLUTE_TIMEOUT = 30 * 86400
    settings.SESSIONTOKENS_TOUCH_INTERVAL = 60


def sign_in(user, remember=None, *, after=False):
    client = Client(REMOTE_ADDR="203.0.113.7")
    query = {"username": user.username}
    if remember is not None:
        query["remember_after" if after else "remember"] = "1" if remember else "0"
    response = client.get("/sign-in/", query)
    assert response.status_code == 200
    return client, response


def max_age(response):
    cookie = response.cookies["sessionid"]
    return int(cookie["max-age"]) if cookie["max-age"] else None


def remembered(client):
    rows = client.get("/sessions/api/").json()["sessions"]
    return {row["id"]: row["remembered"] for row in rows}[public_id(client)]


def test_each_kind_expires_by_its_own_limits(engine, limits, clock):
    alice, bob = UserFactory(), UserFactory()
    kept, _ = sign_in(alice, True)
    ordinary, _ = sign_in(bob, False)
    clock.shift(timedelta(hours=2))  # past the ordinary idle limit only
    assert signed_in_as(ordinary) is None
    assert signed_in_as(kept) == alice.username
    for _day in range(29):  # active daily: no idle limit, but the absolute one
        clock.shift(DAY)
        assert signed_in_as(kept) == alice.username
    clock.shift(DAY)
    assert signed_in_as(kept) is None


def test_ordinary_sessions_keep_their_absolute_limit(engine, limits, clock):
    client, _ = sign_in(UserFactory(), False)
    for _hour in range(23):
        clock.shift(timedelta(minutes=59))
        assert signed_in_as(client) is not None
    clock.shift(timedelta(hours=2))
    assert signed_in_as(client) is None


def test_a_remembered_idle_limit_applies_to_remembered_sessions(
    engine, limits, settings, clock
):
    settings.SESSIONTOKENS_REMEMBERED_IDLE_TIMEOUT = 7 * 86400
    client, _ = sign_in(UserFactory(), True)
    clock.shift(6 * DAY)
    assert signed_in_as(client) is not None
    clock.shift(7 * DAY + timedelta(seconds=1))
    assert signed_in_as(client) is None


def test_cookies(engine, limits, settings):
    _, kept = sign_in(UserFactory(), True)
    assert 30 * 86400 - 5 <= max_age(kept) <= 30 * 86400
    _, declined = sign_in(UserFactory(), False)
    assert max_age(declined) is None and not declined.cookies["sessionid"]["expires"]
    _, unasked = sign_in(UserFactory())  # Django's rule: persistent
    assert 3600 - 5 <= max_age(unasked) <= 3600
    settings.SESSION_EXPIRE_AT_BROWSER_CLOSE = True
    _, unasked = sign_in(UserFactory())
    assert max_age(unasked) is None
    _, kept = sign_in(UserFactory(), True)
    assert max_age(kept) > 29 * 86400


def test_the_cookie_stays_persistent_when_it_is_sent_again(engine, limits, clock):
    client, _ = sign_in(UserFactory(), True)
    clock.shift(timedelta(minutes=5))  # past the touch interval: cookie re-sent
    response = client.get("/whoami/")
    assert max_age(response) > 29 * 86400
    declined, _ = sign_in(UserFactory(), False)
    clock.shift(timedelta(minutes=5))
    response = declined.get("/whoami/")
    assert max_age(response) is None


def test_remember_after_login_and_the_api_and_page_show_it(engine, limits):
    kept, _ = sign_in(UserFactory(), True, after=True)
    assert remembered(kept) is True
    ordinary, _ = sign_in(UserFactory(), False)
    assert remembered(ordinary) is False
    page = kept.get("/sessions/").content.decode()
    assert "Kept signed in" in page
    assert "Kept signed in" not in ordinary.get("/sessions/").content.decode()


def test_the_admin_list_and_listsessions_show_it(engine, limits):
    kept_user, plain_user = UserFactory(), UserFactory()
    sign_in(kept_user, True)
    sign_in(plain_user, False)
    admin = UserFactory(is_staff=True, is_superuser=True)
    staff = Client()
    staff.force_login(admin)
    page = staff.get("/admin/sessiontokens/session/").content.decode()
    assert page.count(">Kept signed in</span>") == 1

    out = io.StringIO()
    call_command("listsessions", "--format", "json", stdout=out)
    flags = {row["user"]: row["remembered"] for row in json.loads(out.getvalue())}
    assert flags[kept_user.username] is True
    assert flags[plain_user.username] is False
    table = io.StringIO()
    call_command("listsessions", "--user", kept_user.username, stdout=table)
    header, row = table.getvalue().splitlines()[:2]
    assert "REMEMBERED" in header.split()
    assert "yes" in row.split()


def test_a_new_sign_in_starts_not_remembered(engine, limits):
    user = UserFactory()
    client, _ = sign_in(user, True)
    response = client.get("/sign-in/", {"username": user.username})
    assert max_age(response) is not None  # Django's rule again
    assert remembered(client) is False


def test_the_form_mixin(engine, limits):
    user = UserFactory()
    client = Client()
    response = client.post(
        "/remember-login/",
        {"username": user.username, "password": "pw-correct-horse", "remember": "on"},
    )
    assert response.status_code == 302
    assert max_age(response) > 29 * 86400
    assert remembered(client) is True
    # Signing in as someone else on that browser (Django flushes the session
    # first): the box of this sign-in counts.
    other = UserFactory()
    response = client.post(
        "/remember-login/", {"username": other.username, "password": "pw-correct-horse"}
    )
    assert response.status_code == 302
    assert max_age(response) is None
    assert signed_in_as(client) == other.username
    assert remembered(client) is False
    response = client.post(
        "/remember-login/",
        {"username": user.username, "password": "pw-correct-horse", "remember": "on"},
    )
    assert signed_in_as(client) == user.username and remembered(client) is True


def test_a_wrong_password_marks_nothing(engine, limits, rf):
    from django_sessiontokens.backends.remember import REMEMBER_ATTRIBUTE
    from tests.views import RememberForm

    user = UserFactory()
    request = rf.post("/remember-login/")
    request.session = engine.SessionStore()
    form = RememberForm(
        request, {"username": user.username, "password": "wrong", "remember": "on"}
    )
    assert "Keep me signed in" in str(form["remember"].label_tag())
    assert 'name="remember"' in str(form["remember"])
    assert not form.is_valid()
    assert not hasattr(request, REMEMBER_ATTRIBUTE)
    assert request.session.remembered is False


def test_periodic_rotation_still_applies(engine, limits, settings, clock):
    settings.SESSIONTOKENS_ROTATE_INTERVAL = 3600
    client, _ = sign_in(UserFactory(), True)
    before = client.cookies["sessionid"].value
    clock.shift(timedelta(hours=2))
    response = client.get("/whoami/")
    assert response.json()["user"] is not None
    after = client.cookies["sessionid"].value
    assert after != before and public_id(client) == before.split(".")[0]
    assert max_age(response) > 29 * 86400
    assert remembered(client) is True


@pytest.mark.django_db(transaction=True)
async def test_the_async_twins_see_a_remembered_session(engine, settings):
    from asgiref.sync import sync_to_async
    from django.contrib.auth import SESSION_KEY

    settings.SESSION_EXPIRE_AT_BROWSER_CLOSE = True
    user = await sync_to_async(UserFactory)()
    session = engine.SessionStore()
    await session.aset(SESSION_KEY, str(user.pk))
    await sync_to_async(session.remember)(True)
    await session.asave()
    loaded = engine.SessionStore(session.session_key)
    assert await sync_to_async(lambda: loaded.remembered)() is True
    assert await loaded.aget_expire_at_browser_close() is False
    assert await loaded.aget_expiry_age() > 29 * 86400


@pytest.mark.parametrize("kept", [True, False])
def test_aremember_in_an_async_view(engine, limits, kept):
    client = Client(REMOTE_ADDR="203.0.113.7")
    client.get("/set/")  # an anonymous session first: remembering loads it
    user = UserFactory()
    response = client.get(
        "/async-sign-in/", {"username": user.username, "remember": "1" if kept else "0"}
    )
    assert response.status_code == 200
    assert (max_age(response) is not None) is kept
    assert remembered(client) is kept
