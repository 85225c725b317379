"""Concurrent-session limit: evict the least recently active, or refuse."""

from datetime import timedelta

import pytest
from django.contrib.auth import login as auth_login
from django.contrib.auth.forms import AuthenticationForm
from django.core import checks
from django.http import HttpResponseRedirect, JsonResponse
from django.test import Client
from django.urls import path
from django.utils import timezone

from django_sessiontokens import signals
from django_sessiontokens.services.limits import (
    SessionLimitFormMixin,
    SessionLimitReached,
)
from tests.conftest import capture_signal
from tests.factories import UserFactory
from tests.urls import urlpatterns as base_urlpatterns

pytestmark = pytest.mark.django_db
PASSWORD = "pw-correct-horse"


class LimitedLoginForm(SessionLimitFormMixin, AuthenticationForm):
    pass


def form_login(request):
    form = LimitedLoginForm(request, data=request.POST)
    if form.is_valid():
        auth_login(request, form.get_user())
        return HttpResponseRedirect("/whoami/")
    errors = form.errors.get_json_data()["__all__"]
    return JsonResponse({"errors": errors})


urlpatterns = [*base_urlpatterns, path("form-login/", form_login)]


def login(client, user, url="/login/"):
    return client.post(url, {"username": user.username, "password": PASSWORD})


def whoami(client):
    return client.get("/whoami/").json()["user"]


def live(store, user):
    now = timezone.now()
    return {r.public_id for r in store.for_user(str(user.pk)) if r.expires_at > now}


def test_no_limit_by_default(engine, user, store):
    clients = [Client() for _ in range(6)]
    for client in clients:
        assert login(client, user).status_code == 302
    assert len(live(store, user)) == 6


def test_evict_oldest_ends_the_least_recently_active(
    engine, user, store, settings, clock, django_capture_on_commit_callbacks
):
    settings.SESSIONTOKENS_MAX_SESSIONS_PER_USER = 2
    first, second, third = Client(), Client(), Client()
    login(first, user)
    clock.shift(timedelta(minutes=5))
    login(second, user)
    clock.shift(timedelta(minutes=5))
    assert whoami(first) == user.username  # now the first is the more recent
    clock.shift(timedelta(minutes=5))
    with (
        capture_signal(signals.session_ended) as ended,
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert login(third, user).status_code == 302
    assert whoami(second) is None
    assert whoami(first) == user.username
    assert whoami(third) == user.username
    assert len(live(store, user)) == 2
    assert [(e["reason"], e["user_id"]) for e in ended] == [("evicted", str(user.pk))]


def test_evict_with_a_limit_of_one_keeps_only_the_new_session(
    engine, user, store, settings
):
    settings.SESSIONTOKENS_MAX_SESSIONS_PER_USER = 1
    first, second = Client(), Client()
    login(first, user)
    login(second, user)
    assert whoami(first) is None
    assert whoami(second) == user.username
    assert len(live(store, user)) == 1


def test_refuse_guard_for_any_login_view(engine, user, store, settings):
    settings.SESSIONTOKENS_MAX_SESSIONS_PER_USER = 2
    settings.SESSIONTOKENS_LIMIT_POLICY = "refuse"
    first, second, third = Client(), Client(), Client()
    login(first, user)
    login(second, user)
    third.get("/set/?key=cart&value=1")
    response = login(third, user)
    assert response.status_code == 403
    assert whoami(third) is None
    assert "sessionid" not in third.cookies or not third.cookies["sessionid"].value
    assert whoami(first) == whoami(second) == user.username
    assert len(live(store, user)) == 2


def test_refuse_outside_a_view_raises_with_the_message(engine, user, settings):
    settings.SESSIONTOKENS_MAX_SESSIONS_PER_USER = 1
    settings.SESSIONTOKENS_LIMIT_POLICY = "refuse"
    Client().force_login(user)
    with pytest.raises(SessionLimitReached, match="already signed in on 1 device,"):
        Client().force_login(user)


@pytest.mark.urls("tests.test_limits")
def test_refuse_form_mixin_shows_the_message(engine, user, store, settings):
    settings.SESSIONTOKENS_MAX_SESSIONS_PER_USER = 1
    settings.SESSIONTOKENS_LIMIT_POLICY = "refuse"
    first, second = Client(), Client()
    assert login(first, user, "/form-login/").status_code == 302
    response = login(second, user, "/form-login/")
    assert response.status_code == 200  # the form again, with the error
    [error] = response.json()["errors"]
    assert error["code"] == "too_many_sessions"
    assert "already signed in on 1 device," in error["message"]
    assert whoami(second) is None
    assert len(live(store, user)) == 1


@pytest.mark.urls("tests.test_limits")
def test_refuse_allows_signing_in_again_on_the_same_session(
    engine, user, store, settings
):
    settings.SESSIONTOKENS_MAX_SESSIONS_PER_USER = 1
    settings.SESSIONTOKENS_LIMIT_POLICY = "refuse"
    client = Client()
    login(client, user, "/form-login/")
    before = client.cookies["sessionid"].value
    assert login(client, user, "/form-login/").status_code == 302
    assert client.cookies["sessionid"].value[:24] != before[:24]
    assert whoami(client) == user.username
    assert live(store, user) == {client.cookies["sessionid"].value[:24]}


def test_expired_sessions_and_other_users_do_not_count(
    engine, user, store, settings, clock
):
    settings.SESSIONTOKENS_MAX_SESSIONS_PER_USER = 1
    settings.SESSIONTOKENS_LIMIT_POLICY = "refuse"
    settings.SESSIONTOKENS_IDLE_TIMEOUT = 600
    Client().force_login(UserFactory())
    stale = Client()
    stale.force_login(user)
    clock.shift(timedelta(minutes=11))
    fresh = Client()
    assert login(fresh, user).status_code == 302
    assert whoami(fresh) == user.username


@pytest.mark.parametrize("bad", [0, -1, "3", 2.5, True])
def test_limit_must_be_a_positive_whole_number(settings, bad):
    settings.SESSIONTOKENS_MAX_SESSIONS_PER_USER = bad
    ids = [m.id for m in checks.run_checks() if m.id.startswith("sessiontokens.")]
    assert ids == ["sessiontokens.E016"]


def test_limit_policy_check(settings):
    settings.SESSIONTOKENS_LIMIT_POLICY = "evict_newest"
    messages = [m for m in checks.run_checks() if m.id == "sessiontokens.E010"]
    assert len(messages) == 1
    assert "evict_oldest" in messages[0].hint
    settings.SESSIONTOKENS_LIMIT_POLICY = "refuse"
    settings.SESSIONTOKENS_MAX_SESSIONS_PER_USER = 3
    assert [m for m in checks.run_checks() if m.id.startswith("sessiontokens.")] == []
