"""The JSON API answers JSON in every case, and pages reached by a form
explain themselves to a plain GET."""

import logging

import pytest
from django.test import Client

from tests.conftest import sign_in
from tests.redis_servers import RedisServer, require_binaries, serve_sessions_from

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_down(tmp_path, settings, user):
    """The redis engine on a redis-server of this test's own, with a signed-in
    client; the server is then stopped."""
    require_binaries("redis-server")
    server = RedisServer(workdir=tmp_path).start()
    serve_sessions_from(settings, server, "redis", timeout=0.5)
    try:
        client = sign_in(user)
        assert client.get("/sessions/api/").status_code == 200
        server.stop()
        yield client
    finally:
        server.stop()


def test_the_api_answers_json_503_when_redis_does_not_answer(redis_down, caplog):
    caplog.set_level(logging.DEBUG)
    cookie = redis_down.cookies["sessionid"].value
    for method, url in [
        ("get", "/sessions/api/"),
        ("delete", f"/sessions/api/{cookie[:24]}/"),
        ("post", "/sessions/api/end-others/"),
    ]:
        response = getattr(redis_down, method)(url)
        assert response.status_code == 503, url
        assert response["Content-Type"] == "application/json"
        assert "not answering" in response.json()["error"]
        assert response["Retry-After"]
        assert "sessionid" not in response.cookies  # neither deleted nor re-set
    ours = [r for r in caplog.records if r.name == "django_sessiontokens"]
    assert len(ours) == 3 and all(r.exc_info is None for r in ours)
    assert not [r for r in caplog.records if r.name == "django.request"]


@pytest.mark.parametrize("url", ["/sessions/{pid}/end/", "/sessions/end-others/"])
def test_a_get_of_a_form_target_explains_instead_of_a_bare_405(engine, user, url):
    client = sign_in(user)
    pid = client.cookies["sessionid"].value[:24]
    response = client.get(url.format(pid=pid))
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    page = response.content.decode()
    assert "opening it directly does nothing" in page
    assert 'href="/sessions/"' in page
    assert client.get("/whoami/").json()["user"] == user.username  # nothing ended


def test_anonymous_get_of_a_form_target_still_asks_to_sign_in(engine):
    response = Client().get("/sessions/end-others/")
    assert response.status_code == 302


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("ending", "says"),
    [
        ("api", "ended from another device or by an administrator"),
        ("password", "your password was changed"),
        ("logout", None),
    ],
)
def test_a_browser_signed_out_elsewhere_is_told_on_its_next_page(
    engine, user, ending, says
):
    laptop, phone = sign_in(user), sign_in(user, ip="198.51.100.4")
    phone_cookie = phone.cookies["sessionid"].value
    if ending == "api":
        url = f"/sessions/api/{phone_cookie[:24]}/"
        assert laptop.delete(url).status_code == 200
    elif ending == "password":
        user.set_password("a new one")
        user.save()
    else:  # signed out on the phone itself, then the old cookie comes back
        stale = Client()
        stale.cookies["sessionid"] = phone_cookie
        phone.post("/logout/")
        phone = stale
    shown = phone.get("/messages/").json()
    assert shown["signed_in"] is False
    if says is None:
        assert shown["messages"] == []
    else:
        assert len(shown["messages"]) == 1 and says in shown["messages"][0]
        assert phone.get("/messages/").json()["messages"] == []  # once
