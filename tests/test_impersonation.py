"""Who is really acting: with django-hijack, the session and its audit
events record the impersonator; the page and the admin show it; ending the
impersonated user's sessions leaves the impersonator's session alone."""

import pytest
from django.contrib.auth.models import Permission

from django_sessiontokens import impersonation, services
from django_sessiontokens.models import SessionEvent
from tests.conftest import public_id, sign_in, signed_in_as
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user(db):
    user = UserFactory(username="support-anna", is_staff=True, is_superuser=True)
    return user


@pytest.fixture
def impersonating(engine, admin_user, user, django_capture_on_commit_callbacks):
    """The admin's browser, now acting as ``user`` through django-hijack."""
    client = sign_in(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/hijack/acquire/", {"user_pk": user.pk})
    assert response.status_code == 302
    assert signed_in_as(client) == user.username
    return client


def test_the_session_records_the_impersonator(impersonating, store, admin_user, user):
    record = store.get(public_id(impersonating))
    assert record.user_id == str(user.pk)
    assert record.impersonator_id == str(admin_user.pk)
    created = SessionEvent.objects.filter(public_id=record.public_id).get()
    assert (created.kind, created.user, created.impersonator_id) == (
        "created",
        user,
        str(admin_user.pk),
    )


def test_the_users_own_sessions_record_nobody(engine, store, user):
    client = sign_in(user)
    assert store.get(public_id(client)).impersonator_id is None


def test_releasing_ends_the_impersonation(impersonating, store, admin_user):
    response = impersonating.post("/hijack/release/")
    assert response.status_code == 302
    assert signed_in_as(impersonating) == admin_user.username
    assert store.get(public_id(impersonating)).impersonator_id is None


def test_the_page_and_the_api_show_it(impersonating, user):
    own = sign_in(user)
    html = own.get("/sessions/").content.decode()
    assert html.count("impersonated by support-anna") == 1
    rows = own.get("/sessions/api/").json()["sessions"]
    assert sorted((r["current"], r["impersonated_by"]) for r in rows) == [
        (False, "support-anna"),
        (True, None),
    ]


def test_the_admin_list_shows_it(impersonating, user):
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(codename="view_session"))
    html = sign_in(staff).get("/admin/sessiontokens/session/").content.decode()
    assert html.count("impersonated by support-anna") == 1


def test_ending_the_users_other_sessions_keeps_the_impersonators(
    impersonating, store, user
):
    own, elsewhere = sign_in(user), sign_in(user)
    response = own.post("/sessions/end-others/")
    assert response.status_code == 302
    assert signed_in_as(elsewhere) is None
    assert signed_in_as(impersonating) == user.username  # still acting
    assert signed_in_as(own) == user.username


def test_disabling_the_account_ends_it_too(impersonating, user):
    user.is_active = False
    user.save()
    assert signed_in_as(impersonating) is None


def test_ending_it_by_id_records_the_impersonator(
    impersonating, admin_user, django_capture_on_commit_callbacks
):
    acting = public_id(impersonating)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.end_session(acting)
    ended = SessionEvent.objects.get(kind="ended", public_id=acting)
    assert ended.impersonator_id == str(admin_user.pk)
    assert signed_in_as(impersonating) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["7"], "7"),
        (["3", "7"], "7"),  # the last one acts
        ([], None),
        (7, "7"),
        ("7", "7"),
        ("not a pk", None),
        (True, None),
        ({"pk": 7}, None),
        (None, None),
    ],
)
def test_impersonator_of(db, value, expected):
    assert impersonation.impersonator_of({"hijack_history": value}) == expected


def test_another_tool_names_its_own_key(db, settings):
    settings.SESSIONTOKENS_IMPERSONATOR_SESSION_KEY = "acting_for"
    assert impersonation.impersonator_of({"acting_for": "5"}) == "5"
    assert impersonation.impersonator_of({"hijack_history": ["5"]}) is None
    settings.SESSIONTOKENS_IMPERSONATOR_SESSION_KEY = ""
    assert impersonation.impersonator_of({"acting_for": "5"}) is None


def test_recorded_when_the_session_limit_stores_the_sign_in_early(
    engine, store, admin_user, user, settings
):
    """With a session limit the sign-in is stored before hijack writes its
    history; the save at the end of the request records the impersonator."""
    settings.SESSIONTOKENS_MAX_SESSIONS_PER_USER = 3
    client = sign_in(admin_user)
    assert client.post("/hijack/acquire/", {"user_pk": user.pk}).status_code == 302
    assert store.get(public_id(client)).impersonator_id == str(admin_user.pk)
    client.post("/hijack/release/")
    assert store.get(public_id(client)).impersonator_id is None
