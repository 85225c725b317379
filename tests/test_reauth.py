"""``SESSIONTOKENS_REAUTH_TO_END_SESSIONS``: ending other sessions asks for
the password again on the page (CSRF-protected, then the action goes on)
and answers 403 ``reauthentication_required`` in the JSON API, DRF and
django-ninja; the current session can always be signed out."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from django_sessiontokens.exceptions import ReauthenticationRequired
from django_sessiontokens.signals import session_rotated
from tests.conftest import capture_signal, public_id, sign_in, signed_in_as
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "pw-correct-horse"  # tests.factories
CODE = ReauthenticationRequired.CODE


@pytest.fixture
def stale(engine, settings, clock):
    """Alice signed in 10 minutes ago (the setting asks for 5) here and on
    another device."""
    settings.SESSIONTOKENS_REAUTH_TO_END_SESSIONS = 300
    alice = UserFactory(username="alice")
    here = sign_in(alice)
    there = sign_in(alice, ip="198.51.100.9")
    clock.shift(timedelta(minutes=10))
    return {"user": alice, "here": here, "there": there}


def end_url(client):
    return reverse("sessiontokens:end", args=[public_id(client)])


@pytest.mark.parametrize("action", ["one", "others"])
def test_the_page_asks_for_the_password_then_carries_on(
    stale, action, django_capture_on_commit_callbacks
):
    here, there = stale["here"], stale["there"]
    url = end_url(there) if action == "one" else reverse("sessiontokens:end-others")
    asked = here.post(url)
    assert asked.status_code == 403
    page = asked.content.decode()
    assert "Confirm your password" in page
    assert (
        'name="reauth_password"' in page and 'autocomplete="current-password"' in page
    )
    assert f'action="{url}"' in page
    assert signed_in_as(there) == "alice"  # nothing ended yet

    wrong = here.post(url, {"reauth_password": "nope"})
    assert wrong.status_code == 400
    assert "That password is not correct." in wrong.content.decode()
    assert signed_in_as(there) == "alice"

    before = here.cookies["sessionid"].value
    with (
        capture_signal(session_rotated) as rotated,
        django_capture_on_commit_callbacks(execute=True),
    ):
        done = here.post(url, {"reauth_password": PASSWORD})
    assert [call["reason"] for call in rotated] == ["reauthentication"]
    assert done.status_code == 302 and done["Location"] == reverse("sessiontokens:list")
    assert signed_in_as(there) is None
    assert signed_in_as(here) == "alice"
    assert here.cookies["sessionid"].value != before  # re-authenticated: new token
    # Authenticated now: the next ending does not ask again.
    third = sign_in(stale["user"])
    assert here.post(end_url(third)).status_code == 302
    assert signed_in_as(third) is None


def test_a_recent_sign_in_is_not_asked(stale):
    fresh = sign_in(stale["user"])
    response = fresh.post(reverse("sessiontokens:end-others"))
    assert response.status_code == 302
    assert signed_in_as(stale["there"]) is None


def test_signing_out_the_current_session_is_never_asked(stale):
    here = stale["here"]
    assert here.post(end_url(here)).status_code == 302
    assert signed_in_as(here) is None


def test_the_confirmation_is_csrf_protected(engine, settings, clock):
    settings.SESSIONTOKENS_REAUTH_TO_END_SESSIONS = 300
    alice = UserFactory()
    here = sign_in(alice, csrf=True)
    there = sign_in(alice)
    clock.shift(timedelta(minutes=10))
    page = here.get(reverse("sessiontokens:list")).content.decode()
    token = page.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    url = reverse("sessiontokens:end-others")
    assert here.post(url, {"reauth_password": PASSWORD}).status_code == 403
    assert signed_in_as(there) == alice.username  # refused by CSRF
    asked = here.post(url, {"csrfmiddlewaretoken": token})
    assert "Confirm your password" in asked.content.decode()
    assert 'name="csrfmiddlewaretoken"' in asked.content.decode()
    done = here.post(url, {"csrfmiddlewaretoken": token, "reauth_password": PASSWORD})
    assert done.status_code == 302
    assert signed_in_as(there) is None


def test_the_api_answers_403_with_a_code(stale):
    here, there = stale["here"], stale["there"]
    for response in (
        here.post("/sessions/api/end-others/"),
        here.delete(f"/sessions/api/{public_id(there)}/"),
    ):
        assert response.status_code == 403
        body = response.json()
        assert body["code"] == CODE and body["max_age"] == 300 and body["error"]
    assert signed_in_as(there) == "alice"
    own = here.delete(f"/sessions/api/{public_id(here)}/")
    assert own.json()["signed_out"] is True


@pytest.mark.parametrize("framework", ["drf", "ninja"])
def test_drf_and_ninja_answer_403_with_the_code(stale, settings, framework):
    settings.ROOT_URLCONF = "tests.integration_urls"
    here, there = stale["here"], stale["there"]
    prefix = {"drf": "/drf/sessions/", "ninja": "/ninja/sessions/"}[framework]
    slash = "/" if framework == "drf" else ""
    here.get("/sessions/api/")  # the CSRF cookie
    header = {"HTTP_X_CSRFTOKEN": here.cookies["csrftoken"].value}
    for response in (
        here.post(f"{prefix}end-others{slash}", **header),
        here.delete(f"{prefix}{public_id(there)}{slash}", **header),
    ):
        assert response.status_code == 403
        assert response.json()["code"] == CODE
    assert signed_in_as(there) == "alice"


def test_off_by_default(engine, clock):
    alice = UserFactory()
    here, there = sign_in(alice), sign_in(alice)
    clock.shift(timedelta(days=0.5))
    assert here.post(reverse("sessiontokens:end-others")).status_code == 302
    assert signed_in_as(there) is None


def test_a_custom_username_field_works(engine, settings, clock):
    """The password is checked as Django's login form does (``username=``
    to every backend); a user whose password is right but who is another
    user is refused."""
    settings.SESSIONTOKENS_REAUTH_TO_END_SESSIONS = 60
    alice, bob = UserFactory(), UserFactory()
    here, there = sign_in(alice), sign_in(alice)
    clock.shift(timedelta(minutes=5))
    url = reverse("sessiontokens:end-others")
    bob.set_password("bobs-password-1")
    bob.save()
    assert here.post(url, {"reauth_password": "bobs-password-1"}).status_code == 400
    assert signed_in_as(there) == alice.username
    client = Client()
    assert client.post(url).status_code == 302  # signed out: to the login page
