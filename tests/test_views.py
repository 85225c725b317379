"""The "your sessions" page and its POST endpoints, on every engine."""

import functools

import pytest
from django.test import Client
from django.urls import reverse

from django_sessiontokens import signals
from tests import conftest
from tests.conftest import capture_signal, public_id, signed_in_as

pytestmark = pytest.mark.django_db

FIREFOX = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
LIST_URL = "/sessions/"


@pytest.fixture
def sign_in():
    return functools.partial(conftest.sign_in, user_agent=FIREFOX)


def end_url(client_or_id):
    pid = client_or_id if isinstance(client_or_id, str) else public_id(client_or_id)
    return reverse("sessiontokens:end", args=[pid])


def csrf_token(client):
    """Load the page (it renders forms), return the CSRF cookie's value."""
    assert client.get(LIST_URL).status_code == 200
    return client.cookies["csrftoken"].value


def test_url_names_are_the_public_contract():
    assert reverse("sessiontokens:list") == "/sessions/"
    assert reverse("sessiontokens:end-others") == "/sessions/end-others/"
    assert reverse("sessiontokens:api") == "/sessions/api/"
    assert reverse("sessiontokens:api-end-others") == "/sessions/api/end-others/"
    pid = "A" * 24
    assert reverse("sessiontokens:api-session", args=[pid]) == f"/sessions/api/{pid}/"
    assert reverse("sessiontokens:end", args=[pid]) == f"/sessions/{pid}/end/"


def test_anonymous_is_redirected_to_login(engine):
    response = Client().get(LIST_URL)
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/sessions/"


def test_anonymous_post_is_redirected_to_login(engine, user, sign_in):
    victim = sign_in(user)
    for url in (end_url(victim), reverse("sessiontokens:end-others")):
        response = Client().post(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/?next=")
    assert signed_in_as(victim) == user.username


def test_lists_own_sessions_with_the_current_one_marked(
    engine, user, other_user, sign_in
):
    here = sign_in(user, user_agent=FIREFOX)
    phone = sign_in(user, user_agent=IPHONE, ip="198.51.100.20")
    stranger = sign_in(other_user)

    response = here.get(LIST_URL)

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    rows = response.context["sessions"]
    assert [(row.public_id, row.current) for row in rows] == [
        (public_id(here), True),
        (public_id(phone), False),
    ]
    html = response.content.decode()
    assert html.count("This device") == 1
    assert "Firefox 128 on Windows" in html
    assert "on iOS" in html
    assert "198.51.100.20" in html
    assert public_id(stranger) not in html
    assert html.count('data-action="end"') == 1  # not for the current one
    assert end_url(phone) in html
    assert 'data-action="end-others"' in html
    assert "just now" in html


def test_single_session_offers_nothing_to_sign_out(engine, user, sign_in):
    html = sign_in(user).get(LIST_URL).content.decode()
    assert "This device" in html
    assert 'data-action="end' not in html
    assert "You are not signed in anywhere else." in html


def test_ends_another_own_session(
    engine, user, sign_in, django_capture_on_commit_callbacks
):
    here = sign_in(user, csrf=True)
    there = sign_in(user)
    token = csrf_token(here)

    with (
        capture_signal(signals.session_ended) as ended,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = here.post(end_url(there), {"csrfmiddlewaretoken": token})

    assert response.status_code == 302
    assert response["Location"] == LIST_URL
    assert [(e["public_id"], e["reason"], e["actor"]) for e in ended] == [
        (public_id(there), "revoked", "user")
    ]
    assert ended[0]["ended_by"] == user
    assert signed_in_as(there) is None
    assert signed_in_as(here) == user.username
    page = here.get(LIST_URL)
    assert "That session was signed out." in page.content.decode()
    assert [row.public_id for row in page.context["sessions"]] == [public_id(here)]


def test_end_others_keeps_the_current_session(engine, user, other_user, sign_in):
    here = sign_in(user, csrf=True)
    others = [sign_in(user), sign_in(user, user_agent=IPHONE)]
    stranger = sign_in(other_user)
    token = csrf_token(here)

    response = here.post(
        reverse("sessiontokens:end-others"), {"csrfmiddlewaretoken": token}
    )

    assert response.status_code == 302
    assert response["Location"] == LIST_URL
    assert [signed_in_as(c) for c in others] == [None, None]
    assert signed_in_as(here) == user.username
    assert signed_in_as(stranger) == other_user.username
    page = here.get(LIST_URL).content.decode()
    assert "2 other sessions were signed out." in page


def test_end_others_with_nothing_to_end_says_so(engine, user, sign_in):
    here = sign_in(user)
    here.post(reverse("sessiontokens:end-others"))
    page = here.get(LIST_URL).content.decode()
    assert "There were no other sessions to sign out." in page
    assert signed_in_as(here) == user.username


def test_another_users_session_is_404(engine, user, other_user, sign_in):
    here = sign_in(user)
    stranger = sign_in(other_user)
    response = here.post(end_url(stranger))
    assert response.status_code == 404
    assert signed_in_as(stranger) == other_user.username
    # the same answer as for an id that does not exist at all
    assert here.post(end_url("Z" * 24)).status_code == 404


@pytest.mark.parametrize("bad_id", ["short", "x" * 25, "a" * 23 + "!", "../" * 8])
def test_malformed_id_is_404(engine, user, sign_in, bad_id):
    here = sign_in(user)
    response = here.post(f"/sessions/{bad_id}/end/")
    assert response.status_code == 404
    assert signed_in_as(here) == user.username


def test_csrf_is_enforced(engine, user, sign_in):
    here = sign_in(user, csrf=True)
    there = sign_in(user)
    assert here.post(end_url(there)).status_code == 403
    assert here.post(reverse("sessiontokens:end-others")).status_code == 403
    assert (
        here.post(end_url(there), {"csrfmiddlewaretoken": "x" * 32}).status_code == 403
    )
    assert signed_in_as(there) == user.username


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_wrong_method_is_405(engine, user, sign_in, method):
    here = sign_in(user)
    there = sign_in(user)
    for url in (end_url(there), reverse("sessiontokens:end-others")):
        assert getattr(here, method)(url).status_code == 405
    assert here.post(LIST_URL).status_code == 405
    assert signed_in_as(there) == user.username


def test_ending_the_current_session_signs_out(engine, user, sign_in, store):
    here = sign_in(user)
    pid = public_id(here)
    response = here.post(end_url(pid))
    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert response.cookies["sessionid"].value == ""
    assert store.get(pid) is None
    assert signed_in_as(here) is None
