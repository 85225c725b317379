"""Two browsers signed in as one user; one signs the other out."""

import pytest

from tests.browser.conftest import (
    IPHONE_SAFARI,
    WINDOWS_FIREFOX,
    screenshot,
    session_cookie,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.browser


def sign_in(context, server, user):
    page = context.new_page()
    page.goto(f"{server.url}/sign-in/?username={user.username}")
    assert page.content().count("signed in") == 1
    return page


def whoami(page, server):
    page.goto(f"{server.url}/whoami/")
    return page.evaluate("() => JSON.parse(document.body.innerText)")


def test_sign_out_another_browser_from_the_page(server, new_context):
    user = UserFactory(username="alice", first_name="Alice")
    here, there = new_context(), new_context(IPHONE_SAFARI)
    page = sign_in(here, server, user)
    other = sign_in(there, server, user)
    sign_in(new_context(WINDOWS_FIREFOX), server, user)  # a third, kept
    mine, theirs = session_cookie(here), session_cookie(there)
    assert mine and theirs and mine != theirs

    page.goto(f"{server.url}/sessions/")
    rows = page.locator("li.st-session")
    assert rows.count() == 3
    current = page.locator('li.st-session[aria-current="true"]')
    assert current.count() == 1
    assert current.get_attribute("data-session") == mine
    assert "This device" in current.inner_text()
    assert "on Linux" in current.inner_text()
    target = page.locator(f'li.st-session[data-session="{theirs}"]')
    assert "on iOS" in target.inner_text()
    screenshot(page, "your-sessions.png")

    target.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state()

    assert page.get_by_role("status").inner_text() == "That session was signed out."
    assert page.locator(f'li.st-session[data-session="{theirs}"]').count() == 0
    assert page.locator("li.st-session").count() == 2
    # The other browser finds itself signed out on its next navigation.
    assert whoami(other, server) == {"user": None, "public_id": None}
    assert session_cookie(there) is None
    assert whoami(page, server)["user"] == "alice"


def test_sign_out_all_other_sessions(server, new_context):
    user = UserFactory()
    here = new_context()
    page = sign_in(here, server, user)
    others = [new_context(IPHONE_SAFARI), new_context(WINDOWS_FIREFOX)]
    other_pages = [sign_in(context, server, user) for context in others]

    page.goto(f"{server.url}/sessions/")
    assert page.locator("li.st-session").count() == 3
    page.get_by_role("button", name="Sign out all other sessions").click()
    page.wait_for_load_state()

    assert (
        "2 other sessions were signed out." in page.get_by_role("status").inner_text()
    )
    assert page.locator("li.st-session").count() == 1
    assert page.get_by_role("button", name="Sign out all other sessions").count() == 0
    assert [whoami(p, server)["user"] for p in other_pages] == [None, None]
    assert whoami(page, server)["user"] == user.username


def test_the_password_is_asked_again_before_signing_others_out(
    server, new_context, settings
):
    """``SESSIONTOKENS_REAUTH_TO_END_SESSIONS``: the confirmation form, a
    wrong password, then the right one, and the action carries on."""
    import time

    settings.SESSIONTOKENS_REAUTH_TO_END_SESSIONS = 1
    user = UserFactory()  # password: tests.factories
    page = sign_in(new_context(), server, user)
    other = sign_in(new_context(IPHONE_SAFARI), server, user)
    time.sleep(1.2)  # the sign-in is now too old

    page.goto(f"{server.url}/sessions/")
    page.get_by_role("button", name="Sign out all other sessions").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Confirm your password").count() == 1
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Confirm and sign out").click()
    page.wait_for_load_state()
    assert "That password is not correct." in page.get_by_role("alert").inner_text()
    assert whoami(other, server)["user"] == user.username

    page.get_by_label("Password").fill("pw-correct-horse")
    page.get_by_role("button", name="Confirm and sign out").click()
    page.wait_for_load_state()
    assert "1 other session was signed out." in page.get_by_role("status").inner_text()
    assert page.locator("li.st-session").count() == 1
    assert whoami(other, server)["user"] is None
    assert whoami(page, server)["user"] == user.username
