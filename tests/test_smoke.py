import pytest
from django.test import Client

pytestmark = pytest.mark.django_db(transaction=False)


def test_login_read_logout(engine, user, store):
    c = Client()
    r = c.post("/login/", {"username": user.username, "password": "pw-correct-horse"})
    assert r.status_code == 302, r.content
    cookie = c.cookies["sessionid"].value
    r = c.get("/whoami/")
    assert r.json()["user"] == user.username
    assert cookie.split(".")[0] == r.json()["public_id"]
    c.post("/logout/")
    assert store.get(cookie.split(".")[0]) is None
