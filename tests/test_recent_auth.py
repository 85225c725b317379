"""Step-up: ``require_recent_auth`` and ``RecentAuthRequiredMixin``."""

from datetime import timedelta

import pytest
from django.http import HttpResponse
from django.test import Client
from django.urls import path
from django.utils import timezone
from django.views import View

from django_sessiontokens.decorators import (
    RecentAuthRequiredMixin,
    require_recent_auth,
)
from tests.conftest import aforce_login
from tests.urls import urlpatterns as base_urlpatterns

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.test_recent_auth")]
PASSWORD = "pw-correct-horse"


@require_recent_auth(300)
def sensitive(request):
    return HttpResponse("sensitive")


@require_recent_auth(
    timedelta(minutes=5), login_url="/step-up/", redirect_field_name="to"
)
async def asensitive(request):
    return HttpResponse("async sensitive")


class Sensitive(RecentAuthRequiredMixin, View):
    max_auth_age = timedelta(minutes=5)

    def get(self, request):
        return HttpResponse("class sensitive")


class AsyncSensitive(RecentAuthRequiredMixin, View):
    max_auth_age = 300

    async def get(self, request):
        return HttpResponse("async class sensitive")


urlpatterns = [
    *base_urlpatterns,
    path("sensitive/", sensitive),
    path("asensitive/", asensitive),
    path("csensitive/", Sensitive.as_view()),
    path("acsensitive/", AsyncSensitive.as_view()),
]


def login(client, user):
    response = client.post("/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return client


@pytest.mark.parametrize("url", ["/sensitive/", "/csensitive/"])
def test_recent_login_passes_stale_login_redirects(engine, user, clock, url):
    client = login(Client(), user)
    assert client.get(url).status_code == 200
    clock.shift(timedelta(minutes=4))
    assert client.get(url).status_code == 200  # activity does not restamp
    clock.shift(timedelta(minutes=2))
    response = client.get(url + "?a=1")
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={url}%3Fa%3D1"
    assert client.get("/whoami/").json()["user"] == user.username  # still signed in


def test_signing_in_again_as_the_same_user_restamps_and_rotates(
    engine, user, store, clock
):
    client = login(Client(), user)
    clock.shift(timedelta(minutes=10))
    assert client.get("/sensitive/").status_code == 302
    before = client.cookies["sessionid"].value
    login(client, user)
    after = client.cookies["sessionid"].value
    assert after[:24] != before[:24]
    assert store.get(after[:24]).authenticated_at == timezone.now()
    assert client.get("/sensitive/").status_code == 200


def test_anonymous_is_sent_to_login(engine):
    response = Client().get("/sensitive/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_force_login_counts_as_authentication(engine, user):
    client = Client()
    client.force_login(user)
    assert client.get("/sensitive/").status_code == 200


@pytest.mark.django_db(transaction=True)
async def test_async_view_decorator(
    engine, user, async_client, clock, executor_connections
):
    await aforce_login(async_client, user)
    response = await async_client.get("/asensitive/")
    assert response.status_code == 200
    assert response.content == b"async sensitive"
    clock.shift(timedelta(minutes=6))
    response = await async_client.get("/asensitive/")
    assert response.status_code == 302
    assert response["Location"] == "/step-up/?to=/asensitive/"


@pytest.mark.django_db(transaction=True)
async def test_async_class_based_view_mixin(
    engine, user, async_client, clock, executor_connections
):
    await aforce_login(async_client, user)
    response = await async_client.get("/acsensitive/")
    assert response.status_code == 200
    assert response.content == b"async class sensitive"
    clock.shift(timedelta(minutes=6))
    response = await async_client.get("/acsensitive/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")
