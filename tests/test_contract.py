"""Django's SessionBase contract, on every engine (cf. Django's own
SessionTestsMixin)."""

from datetime import timedelta

import pytest
from django.contrib.sessions.backends.base import CreateError, UpdateError
from django.utils import timezone

from django_sessiontokens import services
from django_sessiontokens.core import tokens

pytestmark = pytest.mark.django_db


@pytest.fixture
def session(engine):
    return engine.SessionStore()


def test_new_session_is_empty(session):
    assert not session.modified
    assert not session.accessed
    assert session.is_empty()
    assert session.session_key is None
    assert "x" not in session
    assert session.accessed


def test_dict_api_and_flags(session):
    session["a"] = 1
    assert session.modified and session.accessed
    assert session["a"] == 1
    assert session.get("a") == 1
    assert session.get("missing", "d") == "d"
    assert session.setdefault("b", 2) == 2
    assert session.setdefault("b", 3) == 2
    session.update({"c": 3})
    assert sorted(session.keys()) == ["a", "b", "c"]
    assert sorted(session.values()) == [1, 2, 3]
    assert sorted(session.items()) == [("a", 1), ("b", 2), ("c", 3)]
    assert session.has_key("c")
    del session["c"]
    assert session.pop("b") == 2
    assert session.pop("nope", None) is None
    with pytest.raises(KeyError):
        session.pop("nope")


def test_pop_of_missing_key_does_not_mark_modified(session):
    session.pop("nope", None)
    assert not session.modified
    assert session.accessed


def test_clear(session):
    session["a"] = 1
    session.save()
    session.modified = False
    session.clear()
    assert session.modified
    assert list(session.items()) == []


def test_save_and_load(engine, session):
    session["a"] = "b"
    session.save()
    assert tokens.parse(session.session_key)
    loaded = engine.SessionStore(session.session_key)
    assert loaded["a"] == "b"
    assert not loaded.modified


def test_save_without_changes_creates_session(session):
    session.save()
    assert session.session_key is not None
    assert session.exists(session.session_key)


def test_create_is_stored_and_modified(session):
    session.create()
    assert session.modified
    assert session.exists(session.session_key)


def test_create_error_on_collision(engine, session, store):
    session.save()
    clash = engine.SessionStore(session.session_key)
    with pytest.raises(CreateError):
        clash.save(must_create=True)


def test_update_error_when_ended_elsewhere(engine, session, store):
    session["a"] = 1
    session.save()
    other = engine.SessionStore(session.session_key)
    assert other["a"] == 1
    services.end_session(session.public_id)
    other["a"] = 2
    with pytest.raises(UpdateError):
        other.save()
    # Never recreated.
    assert store.get(session.public_id) is None
    assert not other.exists(session.session_key)


def test_exists_and_delete(engine, session):
    session.save()
    key = session.session_key
    assert session.exists(key)
    session.delete(key)
    assert not session.exists(key)
    assert engine.SessionStore(key).load() == {}


def test_delete_with_wrong_secret_does_nothing(engine, session, store):
    session.save()
    forged = session.public_id + "." + tokens.new_secret()
    session.delete(forged)
    assert store.get(session.public_id) is not None


def test_flush(engine, session, store):
    session["a"] = 1
    session.save()
    key, public_id = session.session_key, session.public_id
    session.flush()
    assert session.session_key is None
    assert session.modified and session.accessed
    assert store.get(public_id) is None
    assert not session.exists(key)


def test_cycle_key_keeps_data_under_a_new_token(engine, session, store):
    session["a"], session["b"] = "c", "d"
    session.save()
    prev_key, prev_id = session.session_key, session.public_id
    prev_data = list(session.items())
    session.cycle_key()
    assert not session.exists(prev_key)
    assert store.get(prev_id) is None
    assert session.session_key != prev_key
    assert list(session.items()) == prev_data
    session.save()
    assert engine.SessionStore(session.session_key)["a"] == "c"


def test_cycle_key_on_empty_unsaved_session(session):
    session.cycle_key()
    session.save()
    assert session.exists(session.session_key)


def test_invalid_key_is_an_empty_new_session(engine, store):
    session = engine.SessionStore("nope" * 20)
    assert session.session_key is None
    session["x"] = 1
    session.save()
    assert session.session_key != "nope" * 20
    assert store.get(session.public_id) is not None


def test_unknown_well_formed_key_is_never_adopted(engine, store):
    foreign = tokens.new_token().value
    session = engine.SessionStore(foreign)
    assert session.load() == {}
    assert session.session_key is None
    session["x"] = 1
    session.save()
    assert session.session_key != foreign
    assert store.get(foreign[:24]) is None


def test_default_expiry(session, settings):
    assert session.get_expiry_age() == settings.SESSION_COOKIE_AGE
    expected = timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE)
    assert abs((session.get_expiry_date() - expected).total_seconds()) < 2


def test_set_expiry_seconds(session):
    session.set_expiry(10)
    assert session.get_expiry_age() == 10
    session.set_expiry(None)
    assert session.get_expiry_age() > 10


def test_set_expiry_timedelta_and_datetime(session):
    session.set_expiry(timedelta(seconds=30))
    assert 28 <= session.get_expiry_age() <= 30
    session.set_expiry(timezone.now() + timedelta(seconds=40))
    assert 38 <= session.get_expiry_age() <= 40


def test_expiry_age_with_kwargs_follows_django(session):
    now = timezone.now()
    assert session.get_expiry_age(modification=now, expiry=None) > 0
    assert session.get_expiry_age(modification=now, expiry=5) == 5


def test_expire_at_browser_close(session, settings):
    settings.SESSION_EXPIRE_AT_BROWSER_CLOSE = False
    session.set_expiry(10)
    assert session.get_expire_at_browser_close() is False
    session.set_expiry(0)
    assert session.get_expire_at_browser_close() is True
    session.set_expiry(None)
    assert session.get_expire_at_browser_close() is False
    settings.SESSION_EXPIRE_AT_BROWSER_CLOSE = True
    assert session.get_expire_at_browser_close() is True


def test_custom_expiry_is_enforced_at_load(engine, session, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    session.set_expiry(60)
    session["a"] = 1
    session.save()
    key = session.session_key
    time_machine.shift(timedelta(seconds=59))
    assert engine.SessionStore(key).get("a") == 1
    time_machine.shift(timedelta(seconds=2))
    assert engine.SessionStore(key).get("a") is None


def test_test_cookie(session):
    session.set_test_cookie()
    assert session.test_cookie_worked()
    session.delete_test_cookie()
    assert not session.test_cookie_worked()


def test_clear_expired(engine, store, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    old = engine.SessionStore()
    old.save()
    time_machine.shift(timedelta(days=30))
    fresh = engine.SessionStore()
    fresh.save()
    engine.SessionStore.clear_expired()
    assert store.get(old.public_id) is None
    assert store.get(fresh.public_id) is not None


def test_session_key_is_never_in_repr(session):
    session["a"] = 1
    session.save()
    assert session.session_key.split(".")[1] not in repr(session)
    assert session.public_id in repr(session)


def test_corrupt_data_is_an_empty_session(engine, session, store):
    session["a"] = 1
    session.save()
    store.update(session.public_id, {"data": "{not json"})
    assert engine.SessionStore(session.session_key).get("a") is None


@pytest.mark.django_db(transaction=True)
async def test_async_twins(engine):
    session = engine.SessionStore()
    await session.aset("a", 1)
    assert await session.aget("a") == 1
    assert await session.ahas_key("a")
    await session.asave()
    key = session.session_key
    assert await session.aexists(key)
    loaded = engine.SessionStore(key)
    assert await loaded.aget("a") == 1
    assert await loaded.aload() == {"a": 1}
    await loaded.aset_expiry(30)
    assert 28 <= await loaded.aget_expiry_age() <= 30
    assert await loaded.aget_expire_at_browser_close() is False
    await loaded.acycle_key()
    assert loaded.session_key != key
    await loaded.asave()
    assert not await loaded.aexists(key)
    new_key = loaded.session_key
    await loaded.aflush()
    assert not await loaded.aexists(new_key)
    other = engine.SessionStore()
    await other.acreate()
    await other.adelete()
    assert not await other.aexists(other.session_key)
    await engine.SessionStore.aclear_expired()
