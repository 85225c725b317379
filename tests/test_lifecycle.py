"""Login rotates, logout ends, password change ends the others, a disabled
or deleted account loses every session; signals fire after commit."""

import pytest
from django.db import transaction
from django.test import Client

from django_sessiontokens import services, signals
from django_sessiontokens.models import Session
from tests.conftest import capture_signal

# Real commits, so on_commit signals fire as in production.
pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "pw-correct-horse"


def login(client, user):
    response = client.post("/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return client.cookies["sessionid"].value


def sessions_of(store, user):
    return {record.public_id for record in store.for_user(str(user.pk))}


def test_login_issues_a_new_token_and_kills_the_old_one(engine, user, store):
    client = Client()
    client.get("/set/?key=cart&value=3")
    anonymous = client.cookies["sessionid"].value
    with capture_signal(signals.session_rotated) as rotated:
        cookie = login(client, user)
    assert cookie[:24] != anonymous[:24]
    assert store.get(anonymous[:24]) is None
    # Data survives the rotation; the old token is dead at once.
    assert client.get("/get/?key=cart").json()["value"] == "3"
    replay = Client()
    replay.cookies["sessionid"] = anonymous
    assert replay.get("/whoami/").json()["user"] is None
    assert [c["reason"] for c in rotated] == ["login"]
    assert rotated[0]["sender"] is Session
    assert rotated[0]["previous_public_id"] == anonymous[:24]
    assert rotated[0]["public_id"] == cookie[:24]


def test_login_stamps_user_and_authentication_time(engine, user, store):
    client = Client()
    cookie = login(client, user)
    record = store.get(cookie[:24])
    assert record.user_id == str(user.pk)
    assert record.authenticated_at is not None
    assert cookie[:8] == cookie[:24][:8]


def test_signing_in_again_rotates_too(engine, user, store):
    client = Client()
    first = login(client, user)
    second = login(client, user)
    assert first[:24] != second[:24]
    assert store.get(first[:24]) is None
    assert client.get("/whoami/").json()["user"] == user.username


def test_login_without_prior_session_announces_creation(engine, user):
    with capture_signal(signals.session_created) as created:
        cookie = login(Client(), user)
    assert created[-1]["public_id"] == cookie[:24]
    assert created[-1]["user_id"] == str(user.pk)


def test_logout_ends_the_session_in_storage(engine, user, store):
    client = Client()
    cookie = login(client, user)
    with capture_signal(signals.session_ended) as ended:
        client.post("/logout/")
    assert store.get(cookie[:24]) is None
    assert ended[0]["request"].path == "/logout/"
    assert ended == [
        {
            "sender": Session,
            "public_id": cookie[:24],
            "user_id": str(user.pk),
            "reason": "logout",
            "actor": "user",
            "ended_by": user,
            "request": ended[0]["request"],
        }
    ]
    replay = Client()
    replay.cookies["sessionid"] = cookie
    assert replay.get("/whoami/").json()["user"] is None


def test_password_change_ends_other_sessions_and_keeps_this_one(engine, user, store):
    here, laptop, phone = Client(), Client(), Client()
    login(here, user)
    login(laptop, user)
    login(phone, user)
    assert len(sessions_of(store, user)) == 3
    with capture_signal(signals.session_ended) as ended:
        response = here.post(
            "/password/",
            {
                "old_password": PASSWORD,
                "new_password1": "a-new-long-passphrase-9",
                "new_password2": "a-new-long-passphrase-9",
            },
        )
    assert response.status_code == 302, response.content
    assert here.get("/whoami/").json()["user"] == user.username
    assert laptop.get("/whoami/").json()["user"] is None
    assert phone.get("/whoami/").json()["user"] is None
    assert len(sessions_of(store, user)) == 1
    assert sorted(c["reason"] for c in ended) == ["password_change"] * 2


def test_password_set_outside_a_request_ends_every_session(engine, user, store):
    login(Client(), user)
    login(Client(), user)
    user.set_password("another-passphrase-1")
    user.save()
    assert sessions_of(store, user) == set()


def test_other_users_are_untouched(engine, user, other_user, store):
    login(Client(), user)
    login(Client(), other_user)
    user.set_password("another-passphrase-1")
    user.save()
    assert len(sessions_of(store, other_user)) == 1


def test_deactivation_ends_every_session(engine, user, store):
    client = Client()
    login(client, user)
    login(Client(), user)
    with capture_signal(signals.session_ended) as ended:
        user.is_active = False
        user.save()
    assert sessions_of(store, user) == set()
    assert {c["reason"] for c in ended} == {"user_disabled"}
    assert client.get("/whoami/").json()["user"] is None


def test_deletion_ends_every_session(engine, user, store):
    client = Client()
    cookie = login(client, user)
    with capture_signal(signals.session_ended) as ended:
        user.delete()
    assert store.get(cookie[:24]) is None
    assert [c["reason"] for c in ended] == ["user_deleted"]


def test_ordinary_user_saves_do_not_end_sessions(engine, user, store):
    login(Client(), user)
    user.first_name = "Ada"
    user.save()
    assert len(sessions_of(store, user)) == 1


def test_signals_wait_for_commit(engine, user, store):
    login(Client(), user)
    with capture_signal(signals.session_ended) as ended, transaction.atomic():
        services.end_user_sessions(user)
        assert ended == []
    assert len(ended) == 1


def test_rolled_back_end_fires_nothing(user):
    """db engine: the deletion and its signal roll back together."""
    from django_sessiontokens.backends.db import SessionStore

    store = SessionStore.get_store()
    login(Client(), user)
    with (
        capture_signal(signals.session_ended) as ended,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.end_user_sessions(user)
        raise RuntimeError
    assert ended == []
    assert len(sessions_of(store, user)) == 1


def test_services_list_and_end(engine, user, other_user, store):
    keep = Client()
    login(keep, user)
    login(Client(), user)
    login(Client(), other_user)
    listed = services.list_user_sessions(user)
    assert len(listed) == 2
    assert all(info.user_id == str(user.pk) for info in listed)
    assert listed[0].last_activity >= listed[1].last_activity
    current = keep.cookies["sessionid"].value[:24]
    ended = services.end_user_sessions(user, except_=current, reason="revoked")
    assert [info.public_id for info in ended] != [current]
    assert sessions_of(store, user) == {current}
    # end_session with user= refuses another user's session.
    theirs = next(iter(sessions_of(store, other_user)))
    assert services.end_session(theirs, user=user) is False
    assert sessions_of(store, other_user) == {theirs}
    assert services.end_session(theirs) is True
