"""``__Host-`` cookies and ``Clear-Site-Data`` on logout."""

import pytest
from django.core import checks
from django.test import Client

pytestmark = pytest.mark.django_db
PASSWORD = "pw-correct-horse"
HOST = "__Host-sid"


def e012(settings, **changes):
    settings.SESSION_COOKIE_NAME = HOST
    settings.SESSION_COOKIE_SECURE = True
    settings.SESSION_COOKIE_PATH = "/"
    settings.SESSION_COOKIE_DOMAIN = None
    for name, value in changes.items():
        setattr(settings, name, value)
    return [m for m in checks.run_checks() if m.id == "sessiontokens.E012"]


def test_host_prefix_with_a_valid_configuration_passes(settings):
    assert e012(settings) == []


@pytest.mark.parametrize(
    ("changes", "hint"),
    [
        (
            {"SESSION_COOKIE_DOMAIN": ".example.com"},
            "SESSION_COOKIE_DOMAIN must be None",
        ),
        ({"SESSION_COOKIE_PATH": "/app/"}, "SESSION_COOKIE_PATH must be '/'"),
        ({"SESSION_COOKIE_SECURE": False}, "SESSION_COOKIE_SECURE must be True"),
    ],
)
def test_host_prefix_misconfiguration(settings, changes, hint):
    [error] = e012(settings, **changes)
    assert error.hint == hint + "."


def test_host_prefix_all_three_problems_in_one_message(settings):
    [error] = e012(
        settings,
        SESSION_COOKIE_DOMAIN="example.com",
        SESSION_COOKIE_PATH="/x/",
        SESSION_COOKIE_SECURE=False,
    )
    assert error.hint.count("must be") == 3


def test_other_names_are_not_checked(settings):
    assert e012(settings, SESSION_COOKIE_NAME="sid", SESSION_COOKIE_SECURE=False) == []


def test_host_prefixed_cookie_is_set_and_read(engine, user, settings):
    settings.SESSION_COOKIE_NAME = HOST
    settings.SESSION_COOKIE_SECURE = True
    client = Client()
    response = client.post(
        "/login/", {"username": user.username, "password": PASSWORD}, secure=True
    )
    assert response.status_code == 302
    morsel = response.cookies[HOST]
    assert morsel["secure"] is True
    assert morsel["path"] == "/"
    assert morsel["domain"] == ""
    assert morsel["httponly"] is True
    assert "sessionid" not in response.cookies
    assert client.get("/whoami/", secure=True).json()["user"] == user.username


@pytest.fixture
def clear_site_data(settings):
    settings.SESSIONTOKENS_CLEAR_SITE_DATA_ON_LOGOUT = True
    return settings


def test_clear_site_data_on_logout(engine, user, store, clear_site_data):
    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"].value
    response = client.post("/logout/")
    assert response["Clear-Site-Data"] == '"cookies"'
    assert response.cookies["sessionid"]["max-age"] == 0
    assert store.get(cookie[:24]) is None


def test_no_clear_site_data_by_default(engine, user):
    client = Client()
    client.force_login(user)
    response = client.post("/logout/")
    assert "Clear-Site-Data" not in response
    assert response.cookies["sessionid"]["max-age"] == 0


def test_no_clear_site_data_for_a_stale_cookie(engine, clear_site_data):
    """Only a sign-out wipes the site's cookies, not a refused token."""
    client = Client()
    client.cookies["sessionid"] = f"{'a' * 24}.{'b' * 43}"
    response = client.get("/whoami/")
    assert response.cookies["sessionid"]["max-age"] == 0
    assert "Clear-Site-Data" not in response


def test_no_clear_site_data_on_ordinary_responses(engine, user, clear_site_data):
    client = Client()
    client.force_login(user)
    assert "Clear-Site-Data" not in client.get("/whoami/")
    assert "Clear-Site-Data" not in client.get("/set/?key=a&value=1")
