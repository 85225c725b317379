"""The admin: listing sessions of every engine, ending them, the user admin."""

import functools
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from django_sessiontokens import admin_listing, signals
from django_sessiontokens.models import SessionEvent
from tests import conftest
from tests.conftest import capture_signal, public_id, signed_in_as
from tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

FIREFOX = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:120.0) Gecko/20100101 Firefox/120.0"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)
LIST_URL = "/admin/sessiontokens/session/"


sign_in = functools.partial(conftest.sign_in, user_agent=FIREFOX)


def staff(*codenames, **fields):
    user = StaffFactory(**fields)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


@pytest.fixture
def viewer(engine):
    """A staff member who may see sessions but not end them."""
    return sign_in(staff("view_session", "view_user"), ip="198.51.100.1")


@pytest.fixture
def ender(engine):
    """A staff member who may see and end sessions."""
    user = staff("view_session", "end_session", "view_user", "change_user")
    client = sign_in(user, ip="198.51.100.2")
    client.user = user
    return client


def action(client, *public_ids, name="end_sessions", url=LIST_URL):
    return client.post(
        url,
        {"action": name, "index": "0", "_selected_action": list(public_ids)},
    )


# Listing -------------------------------------------------------------------


def test_lists_the_engines_sessions_and_never_a_secret(engine, store, viewer):
    alice = UserFactory(username="alice")
    victim = sign_in(alice, user_agent=FIREFOX, ip="203.0.113.7")
    phone = sign_in(alice, user_agent=IPHONE, ip="2001:db8::1")
    victim.get("/set/", {"key": "secret-note", "value": "launch-codes"})
    cookies = [victim.cookies["sessionid"].value, phone.cookies["sessionid"].value]

    response = viewer.get(LIST_URL)

    assert response.status_code == 200
    html = response.content.decode()
    assert "alice" in html
    assert "Firefox 120 on Windows" in html
    assert "Mobile Safari 17 on iOS" in html
    assert "203.0.113.7" in html and "2001:db8::1" in html
    assert public_id(victim) in html and public_id(phone) in html
    assert "this session" in html  # the viewer's own
    for cookie in cookies:
        pid, secret = cookie.split(".")
        record = store.get(pid)
        assert cookie not in html
        assert secret not in html
        assert record.secret_hash not in html
    assert "launch-codes" not in html and "secret-note" not in html
    assert "_auth_user" not in html


def test_index_has_a_sessions_entry_without_add_or_change(viewer):
    html = viewer.get("/admin/").content.decode()
    assert LIST_URL in html
    assert "/admin/sessiontokens/session/add/" not in html
    assert viewer.get(LIST_URL + "add/").status_code == 404
    assert viewer.get(LIST_URL + "x" * 24 + "/change/").status_code == 404


def test_needs_view_permission(engine):
    nobody = sign_in(StaffFactory())
    assert nobody.get(LIST_URL).status_code == 403
    anonymous = Client()
    response = anonymous.get(LIST_URL)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_state_filter(engine, viewer):
    old = UserFactory(username="old-timer")
    with time_machine.travel(timezone.now() - timedelta(days=3), tick=False):
        sign_in(old)
    sign_in(UserFactory(username="newcomer"))

    active = viewer.get(LIST_URL).content.decode()
    expired = viewer.get(LIST_URL, {"state": "expired"}).content.decode()
    every = viewer.get(LIST_URL, {"state": "all"}).content.decode()

    assert "newcomer" in active and "old-timer" not in active
    assert "old-timer" in expired and "newcomer" not in expired
    assert "Expired" in expired
    assert "old-timer" in every and "newcomer" in every


def test_staff_filter(engine, viewer):
    sign_in(UserFactory(username="customer"))
    sign_in(StaffFactory(username="operator"))

    only_staff = viewer.get(LIST_URL, {"staff": "yes"}).content.decode()
    not_staff = viewer.get(LIST_URL, {"staff": "no"}).content.decode()

    assert "operator" in only_staff and "customer" not in only_staff
    assert "customer" in not_staff and "operator" not in not_staff
    assert "2 sessions" in only_staff  # operator and the viewer
    assert "1 session" in not_staff


@pytest.mark.parametrize(
    ("query", "found"),
    [("ali", "alice"), ("bob@example.org", "bob"), ("192.0.2.55", "bob")],
)
def test_search(engine, viewer, query, found):
    sign_in(UserFactory(username="alice", email="alice@example.com"), ip="192.0.2.1")
    sign_in(UserFactory(username="bob", email="bob@example.org"), ip="192.0.2.55")

    html = viewer.get(LIST_URL, {"q": query}).content.decode()

    other = {"alice": "bob", "bob": "alice"}[found]
    assert f">{found}</a>" in html
    assert f">{other}</a>" not in html
    assert "1 session" in html


def test_search_combines_with_staff_filter(engine, viewer):
    sign_in(StaffFactory(username="ops-anna"))
    sign_in(UserFactory(username="ops-bert"))

    html = viewer.get(LIST_URL, {"q": "ops-", "staff": "no"}).content.decode()

    assert "ops-bert" in html and "ops-anna" not in html


def test_pagination_newest_activity_first(engine, viewer, monkeypatch):
    monkeypatch.setattr(admin_listing, "PER_PAGE", 2)
    start = timezone.now() - timedelta(minutes=30)
    for minute in range(4):  # user0 least recently active ... user3 most
        with time_machine.travel(start + timedelta(minutes=minute), tick=False):
            sign_in(UserFactory(username=f"paged{minute}"))
    # The viewer's own session is the most recent of all (5 in total).

    first = viewer.get(LIST_URL).content.decode()
    second = viewer.get(LIST_URL, {"p": "2"}).content.decode()
    third = viewer.get(LIST_URL, {"p": "3"}).content.decode()
    beyond = viewer.get(LIST_URL, {"p": "99"}).content.decode()

    assert "5 sessions" in first
    assert "paged3" in first and "paged2" not in first
    assert second.index("paged2") < second.index("paged1")
    assert "paged3" not in second and "paged0" not in second
    assert "paged0" in third and "paged1" not in third
    assert "paged0" in beyond  # out of range shows the last page
    assert 'href="?p=2"' in first


def test_not_staff_pagination_skips_staff_sessions(engine, viewer, monkeypatch):
    monkeypatch.setattr(admin_listing, "PER_PAGE", 2)
    start = timezone.now() - timedelta(minutes=30)
    for minute, factory in enumerate([UserFactory, StaffFactory] * 3):
        with time_machine.travel(start + timedelta(minutes=minute), tick=False):
            sign_in(factory(username=f"mixed{minute}"))

    first = viewer.get(LIST_URL, {"staff": "no"}).content.decode()
    second = viewer.get(LIST_URL, {"staff": "no", "p": "2"}).content.decode()

    assert "3 sessions" in first
    assert "mixed4" in first and "mixed2" in first and "mixed0" not in first
    assert "mixed0" in second
    assert not any(f"mixed{odd}" in first + second for odd in (1, 3, 5))


# Ending --------------------------------------------------------------------


def test_view_only_staff_cannot_end(engine, store, viewer):
    victim = sign_in(UserFactory())

    html = viewer.get(LIST_URL).content.decode()
    assert "End selected sessions" not in html
    assert "_selected_action" not in html

    response = action(viewer, public_id(victim))

    assert response.status_code == 403
    assert store.get(public_id(victim)) is not None
    assert signed_in_as(victim) is not None


def test_end_selected_sessions(
    engine, store, ender, django_capture_on_commit_callbacks
):
    victim_user = UserFactory()
    victim = sign_in(victim_user)
    bystander = sign_in(victim_user, user_agent=IPHONE)
    html = ender.get(LIST_URL).content.decode()
    assert '<option value="end_sessions">End selected sessions</option>' in html

    victim_id = public_id(victim)
    with (
        capture_signal(signals.session_ended) as ended,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = action(ender, victim_id)

    assert response.status_code == 302
    assert store.get(victim_id) is None
    assert signed_in_as(victim) is None
    assert signed_in_as(bystander) == victim_user.username
    [call] = ended
    assert call["public_id"] == victim_id
    assert (call["reason"], call["actor"]) == ("revoked", "admin")
    assert call["ended_by"] == ender.user
    page = ender.get(response["Location"]).content.decode()
    assert "Ended 1 session." in page
    event = SessionEvent.objects.get(public_id=victim_id, kind="ended")
    assert (event.reason, event.actor, event.ended_by) == (
        "revoked",
        "admin",
        ender.user,
    )


def test_end_without_selection_or_action(engine, store, ender):
    victim = sign_in(UserFactory())

    nothing = ender.post(LIST_URL, {"action": "end_sessions", "index": "0"})
    no_action = action(ender, public_id(victim), name="")

    assert nothing.status_code == no_action.status_code == 302
    assert store.get(public_id(victim)) is not None
    page = ender.get(LIST_URL).content.decode()
    assert "Items must be selected" in page and "No action selected" in page


def test_end_keeps_filters_in_the_redirect(engine, ender):
    victim = sign_in(UserFactory())
    response = ender.post(
        LIST_URL + "?state=all&q=user",
        {"action": "end_sessions", "index": "0", "_selected_action": public_id(victim)},
    )
    assert response["Location"] == LIST_URL + "?state=all&q=user"


def test_post_requires_csrf(engine, store):
    user = staff("view_session", "end_session")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    victim = sign_in(UserFactory())
    assert action(client, public_id(victim)).status_code == 403
    assert store.get(public_id(victim)) is not None


# The user admin -------------------------------------------------------------


def user_change_url(user):
    return f"/admin/auth/user/{user.pk}/change/"


def test_user_admin_action_ends_all_sessions(engine, store, ender):
    victim_user = UserFactory()
    laptop, phone = sign_in(victim_user), sign_in(victim_user, user_agent=IPHONE)
    untouched = sign_in(UserFactory())

    response = action(
        ender, str(victim_user.pk), name="end_all_sessions", url="/admin/auth/user/"
    )

    assert response.status_code == 302
    assert signed_in_as(laptop) is None and signed_in_as(phone) is None
    assert signed_in_as(untouched) is not None
    assert (
        "Ended 2 sessions of 1 user." in ender.get("/admin/auth/user/").content.decode()
    )


def test_user_admin_action_needs_the_permission(engine):
    editor = sign_in(staff("view_user", "change_user"))
    victim_user = UserFactory()
    victim = sign_in(victim_user)

    html = editor.get("/admin/auth/user/").content.decode()
    assert "end_all_sessions" not in html
    action(
        editor, str(victim_user.pk), name="end_all_sessions", url="/admin/auth/user/"
    )

    assert signed_in_as(victim) == victim_user.username


def test_user_change_page_button_and_confirmation(engine, ender):
    victim_user = UserFactory()
    laptop, phone = sign_in(victim_user), sign_in(victim_user, user_agent=IPHONE)
    end_url = f"/admin/auth/user/{victim_user.pk}/end-sessions/"

    change = ender.get(user_change_url(victim_user)).content.decode()
    confirm = ender.get(end_url)

    assert end_url in change and "End all sessions" in change
    assert confirm.status_code == 200
    html = confirm.content.decode()
    assert "2 active sessions" in html
    assert "Firefox 120 on Windows" in html and "Mobile Safari 17 on iOS" in html
    assert laptop.cookies["sessionid"].value.split(".")[1] not in html
    assert signed_in_as(laptop) == victim_user.username  # GET ends nothing

    done = ender.post(end_url)

    assert done.status_code == 302 and done["Location"] == user_change_url(victim_user)
    assert signed_in_as(laptop) is None and signed_in_as(phone) is None
    assert "Ended 2 sessions of" in ender.get(done["Location"]).content.decode()


def test_user_change_page_without_permission(engine):
    editor = sign_in(staff("view_user", "change_user"))
    victim_user = UserFactory()
    victim = sign_in(victim_user)
    end_url = f"/admin/auth/user/{victim_user.pk}/end-sessions/"

    change = editor.get(user_change_url(victim_user)).content.decode()

    assert end_url not in change
    assert editor.get(end_url).status_code == 403
    assert editor.post(end_url).status_code == 403
    assert signed_in_as(victim) == victim_user.username


def test_ending_your_own_sessions_keeps_the_current_one(engine, ender):
    other_device = sign_in(ender.user, user_agent=IPHONE)

    ender.post(f"/admin/auth/user/{ender.user.pk}/end-sessions/")

    assert signed_in_as(other_device) is None
    assert signed_in_as(ender) == ender.user.username


def test_extend_user_admin_is_idempotent_and_skips_other_admins():
    from django.contrib import admin as django_admin
    from django.contrib.auth import get_user_model

    from django_sessiontokens.admin import extend_user_admin
    from django_sessiontokens.admin_users import EndSessionsUserAdminMixin

    site = django_admin.AdminSite(name="scratch")
    assert extend_user_admin(site) is False  # nothing registered
    site.register(get_user_model(), django_admin.ModelAdmin)
    assert extend_user_admin(site) is False  # not a UserAdmin: use the mixin
    assert isinstance(
        django_admin.site._registry[get_user_model()], EndSessionsUserAdminMixin
    )
    assert extend_user_admin(django_admin.site) is True


# The audit trail in the admin ------------------------------------------------


def test_event_admin_is_read_only_and_searchable(
    engine, django_capture_on_commit_callbacks
):
    reader = sign_in(staff("view_sessionevent"))
    with django_capture_on_commit_callbacks(execute=True):
        carol = sign_in(UserFactory(username="carol"))
        carol.post("/logout/")
        sign_in(UserFactory(username="dave"))
    url = "/admin/sessiontokens/sessionevent/"

    everything = reader.get(url).content.decode()
    found = reader.get(url, {"q": "carol"}).content.decode()
    ended = reader.get(url, {"kind__exact": "ended"}).content.decode()

    assert "carol" in everything and "dave" in everything
    assert "carol" in found and "dave" not in found
    assert "logout" in ended and "dave" not in ended
    assert reader.get(url + "add/").status_code == 403
    event = SessionEvent.objects.filter(user__username="carol").first()
    detail = reader.get(f"{url}{event.pk}/change/")
    assert detail.status_code == 200
    assert b'name="_save"' not in detail.content
    assert reader.post(f"{url}{event.pk}/delete/").status_code == 403
    assert SessionEvent.objects.filter(pk=event.pk).exists()


def test_a_total_past_the_count_limit_shows_as_more(engine, viewer, monkeypatch):
    from django_sessiontokens.stores import base

    sign_in(UserFactory(username="someone"))
    monkeypatch.setattr(base, "SEARCH_COUNT_LIMIT", 1)
    monkeypatch.setattr("django_sessiontokens.admin.SEARCH_COUNT_LIMIT", 1)
    store = engine.SessionStore.get_store()
    real = store.search
    monkeypatch.setattr(
        type(store), "search", lambda self, *a, **k: (2, real(*a, **k)[1])
    )
    assert "More than 1 sessions" in viewer.get(LIST_URL).content.decode()
