"""A staff user ends another person's browser session from the admin."""

import pytest
from django.contrib.auth.models import Permission

from tests.browser.conftest import (
    IPHONE_SAFARI,
    WINDOWS_FIREFOX,
    screenshot,
    session_cookie,
)
from tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.browser

ADMIN_LIST = "/admin/sessiontokens/session/"


def sign_in(context, server, user):
    page = context.new_page()
    page.goto(f"{server.url}/sign-in/?username={user.username}")
    assert "signed in" in page.content()
    return page


def whoami(page, server):
    page.goto(f"{server.url}/whoami/")
    return page.evaluate("() => JSON.parse(document.body.innerText)")


def admin_sign_in(context, server, staff):
    page = context.new_page()
    page.goto(f"{server.url}/admin/login/?next={ADMIN_LIST}")
    page.fill("#id_username", staff.username)
    page.fill("#id_password", "pw-correct-horse")
    page.locator("input[type=submit]").click()
    page.wait_for_url(f"**{ADMIN_LIST}")
    return page


def test_end_a_session_from_the_admin(server, new_context):
    staff = StaffFactory(username="support")
    staff.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="sessiontokens",
            codename__in=["view_session", "end_session"],
        )
    )
    alice = UserFactory(username="alice")
    bob = UserFactory(username="bob")
    laptop = new_context()
    phone = new_context(IPHONE_SAFARI)
    sign_in(laptop, server, alice)
    victim = sign_in(phone, server, alice)
    sign_in(new_context(WINDOWS_FIREFOX), server, bob)
    target = session_cookie(phone)
    assert target

    page = admin_sign_in(new_context(width=1360), server, staff)
    page.locator("#toggle-nav-sidebar").click()  # more room for the table
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 4  # alice twice, bob, and the staff user's own
    row = page.locator(
        "#result_list tbody tr",
        has=page.locator(f'input.action-select[value="{target}"]'),
    )
    assert "alice" in row.inner_text()
    assert "on iOS" in row.inner_text()
    row.locator("input.action-select").check()
    page.select_option("select[name=action]", label="End selected sessions")
    screenshot(page, "admin-sessions.png")
    page.get_by_role("button", name="Go").click()
    page.wait_for_load_state()

    assert "Ended 1 session." in page.locator("ul.messagelist").inner_text()
    assert page.locator(f'input.action-select[value="{target}"]').count() == 0
    assert page.locator("#result_list tbody tr").count() == 3
    # The phone finds itself signed out on its next navigation; the laptop not.
    assert whoami(victim, server) == {"user": None, "public_id": None}
    assert session_cookie(phone) is None
    assert whoami(laptop.pages[0], server)["user"] == "alice"


def test_the_lists_show_short_session_ids_and_fit_1400_px(server, new_context):
    staff = StaffFactory(username="auditor", is_superuser=True)
    alice = UserFactory(username="alice")
    laptop, phone = new_context(), new_context(IPHONE_SAFARI)
    sign_in(laptop, server, alice)
    sign_in(phone, server, alice)
    ids = {session_cookie(laptop)[16:24], session_cookie(phone)[16:24]}
    assert len(ids) == 2

    page = admin_sign_in(new_context(width=1400), server, staff)
    shown = {
        text.lstrip("…") for text in page.locator("td.public-id code").all_inner_texts()
    }
    assert ids <= shown  # two sessions of one user told apart
    page.goto(f"{server.url}/admin/sessiontokens/sessionevent/")
    first = page.locator("#result_list tbody tr .field-when").first.inner_text()
    assert len(first.split()[-1].split(":")) == 3  # hours, minutes, seconds
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 1400, width
    screenshot(page, "admin-events.png")
