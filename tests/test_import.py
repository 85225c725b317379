"""importsessions: django.contrib.sessions sessions move over, nobody is
signed out, the old cookie works once and is replaced."""

import io
from datetime import timedelta

import pytest
from django.contrib.auth import SESSION_KEY
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.utils import timezone

from django_sessiontokens import signals
from django_sessiontokens.core import tokens
from django_sessiontokens.services import importer
from tests.conftest import capture_signal

pytestmark = pytest.mark.django_db(transaction=True)

DJANGO_DB_ENGINE = "django.contrib.sessions.backends.db"


def run(*args, stdout=None, **options):
    out = stdout or io.StringIO()
    call_command("importsessions", *args, stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


@pytest.fixture
def legacy(transactional_db, settings):
    """django.contrib.sessions installed, with its django_session table."""
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "django.contrib.sessions"]
    from django.contrib.sessions.models import Session

    with connection.schema_editor() as editor:
        editor.create_model(Session)
    yield Session
    with connection.schema_editor() as editor:
        editor.delete_model(Session)


def old_session(data, *, expires_in=3600):
    """A session saved by Django's own database engine; returns its key."""
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session

    session = SessionStore()
    session.update(data)
    session.create()
    Session.objects.filter(pk=session.session_key).update(
        expire_date=timezone.now() + timedelta(seconds=expires_in)
    )
    return session.session_key


def signed_in(user):
    return {
        SESSION_KEY: str(user.pk),
        "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
        "_auth_user_hash": user.get_session_auth_hash(),
    }


def test_signed_in_users_stay_signed_in(engine, legacy, user, settings):
    engine_name = settings.SESSION_ENGINE
    settings.SESSION_ENGINE = DJANGO_DB_ENGINE
    browser = Client()
    response = browser.post(
        "/login/", {"username": user.username, "password": "pw-correct-horse"}
    )
    assert response.status_code == 302
    browser.get("/set/?key=cart&value=3-books")
    old_cookie = browser.cookies["sessionid"].value
    assert len(old_cookie) == 32  # Django's own key

    settings.SESSION_ENGINE = engine_name
    settings.SESSIONTOKENS_ACCEPT_IMPORTED = True
    out = run()
    assert "Imported 1 session(s)." in out
    assert "Removed from django_session: 1." in out

    browser = Client()  # the middleware loads SESSION_ENGINE once
    browser.cookies["sessionid"] = old_cookie
    with capture_signal(signals.session_rotated) as rotated:
        response = browser.get("/whoami/")
    assert response.json()["user"] == user.username
    new_cookie = browser.cookies["sessionid"].value
    token = tokens.parse(new_cookie)
    assert token is not None and not token.legacy
    assert response.json()["public_id"] == token.public_id
    assert [(c["previous_public_id"], c["reason"]) for c in rotated] == [
        (tokens.legacy_public_id(old_cookie), "imported")
    ]
    assert browser.get("/get/?key=cart").json()["value"] == "3-books"

    # The old cookie no longer works, and nothing brings it back.
    stale = Client()
    stale.cookies["sessionid"] = old_cookie
    assert stale.get("/whoami/").json()["user"] is None
    assert "Imported 0 session(s)." in run()
    assert stale.get("/whoami/").json()["user"] is None


def test_only_the_hash_of_the_old_key_is_stored(engine, legacy, store, user):
    key = old_session({**signed_in(user), "theme": "dark"})
    run()
    record = store.get(tokens.legacy_public_id(key))
    assert record is not None
    assert record.secret_hash == tokens.hash_secret(key)
    assert record.user_id == str(user.pk)
    assert key not in repr(vars(record))
    assert record.expires_at <= timezone.now() + timedelta(seconds=3600)


def test_old_cookie_is_refused_unless_imports_are_accepted(
    engine, legacy, user, settings
):
    key = old_session(signed_in(user))
    run()
    browser = Client()
    browser.cookies["sessionid"] = key
    assert browser.get("/whoami/").json()["user"] is None
    settings.SESSIONTOKENS_ACCEPT_IMPORTED = True
    browser.cookies["sessionid"] = key
    # Refused requests write nothing, so the imported session is still there.
    assert browser.get("/whoami/").json()["user"] == user.username


def test_skips_expired_unreadable_and_orphaned_rows(
    engine, legacy, store, user, settings
):
    good = [old_session(signed_in(user)) for _ in range(3)]
    anonymous = old_session({"cart": [1, 2]})
    expired = old_session(signed_in(user), expires_in=-60)
    orphan = old_session({**signed_in(user), SESSION_KEY: "987654"})
    legacy.objects.create(
        session_key="a" * 32,
        session_data="not-signed-data",
        expire_date=timezone.now() + timedelta(hours=1),
    )
    settings.SECRET_KEY = "rotated-without-fallback"
    other_key = old_session({"x": 1})
    settings.SECRET_KEY = "tests-only-not-secret"

    out = run("--dry-run")
    assert "Would import 4 session(s)." in out
    assert legacy.objects.count() == 8
    assert store.get(tokens.legacy_public_id(good[0])) is None

    out = run("--batch-size", "2")
    assert "Imported 4 session(s)." in out
    assert "Skipped, expired: 1." in out
    assert "Skipped, unreadable or empty (other SECRET_KEY?): 2." in out
    assert "Skipped, user no longer exists: 1." in out
    for key in [*good, anonymous]:
        assert store.get(tokens.legacy_public_id(key)) is not None
    for key in [expired, orphan, "a" * 32, other_key]:
        assert store.get(tokens.legacy_public_id(key)) is None
    # Imported rows left the old table; the others stay for the operator.
    assert set(legacy.objects.values_list("session_key", flat=True)) == {
        expired,
        orphan,
        "a" * 32,
        other_key,
    }


def test_is_idempotent_with_keep_source(engine, legacy, store, user):
    keys = [old_session(signed_in(user)) for _ in range(3)]
    assert "Imported 3 session(s)." in run("--keep-source")
    assert legacy.objects.count() == 3
    keys.append(old_session(signed_in(user)))  # a new sign-in meanwhile
    out = run()
    assert "Imported 1 session(s)." in out
    assert "Already imported: 3." in out
    assert legacy.objects.count() == 0
    assert len(store.for_user(str(user.pk))) == 4


def test_imported_session_ends_when_the_old_one_would(
    engine, legacy, user, settings, time_machine
):
    settings.SESSIONTOKENS_ACCEPT_IMPORTED = True
    settings.SESSIONTOKENS_IDLE_TIMEOUT = 3600
    key = old_session(signed_in(user))
    legacy.objects.filter(pk=key).update(
        expire_date=timezone.now() + timedelta(minutes=10)
    )
    run()
    time_machine.move_to(timezone.now() + timedelta(minutes=11), tick=False)
    browser = Client()
    browser.cookies["sessionid"] = key
    assert browser.get("/whoami/").json()["user"] is None


def test_imported_sessions_belong_to_their_user(engine, legacy, store, user):
    keys = [old_session(signed_in(user)) for _ in range(2)]
    run()
    out = io.StringIO()
    call_command("endsessions", "--user", user.username, stdout=out)
    assert "Ended 2 session(s)." in out.getvalue()
    assert all(store.get(tokens.legacy_public_id(k)) is None for k in keys)


def test_progress_bar_on_a_terminal(engine, legacy, user):
    class TTY(io.StringIO):
        def isatty(self):
            return True

    for _ in range(3):
        old_session(signed_in(user))
    out = run("--batch-size", "2", stdout=TTY())
    assert "Importing sessions" in out and "3/3" in out


def test_missing_table_is_a_command_error(engine, db):
    assert not importer.table_exists()
    with pytest.raises(CommandError, match="no django_session table"):
        run()


def test_bad_engine_is_a_command_error(db):
    with pytest.raises(CommandError, match="--engine must be one of"):
        run("--engine", "django.contrib.sessions.backends.db")


def test_imports_to_the_engine_named(legacy, user, settings, redis_client):
    settings.SESSION_ENGINE = DJANGO_DB_ENGINE  # before the switch
    key = old_session(signed_in(user))
    assert "Imported 1 session(s)." in run("--engine", "redis", "--keep-source")
    from django_sessiontokens.backends.redis import SessionStore

    assert SessionStore.get_store().get(tokens.legacy_public_id(key)) is not None


@pytest.mark.parametrize("engine", ["redis"], indirect=True)
def test_unreachable_redis_changes_nothing(engine, legacy, user, settings):
    keys = [old_session(signed_in(user)) for _ in range(2)]
    caches = {**settings.CACHES}
    caches["redis"] = {**caches["redis"], "LOCATION": "redis://127.0.0.1:1/0"}
    settings.CACHES = caches
    with pytest.raises(CommandError, match="Check that Redis is running"):
        run()
    assert set(legacy.objects.values_list("session_key", flat=True)) == set(keys)
