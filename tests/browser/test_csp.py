"""Our pages work under ``Content-Security-Policy: default-src 'self'``: no
inline style or script, and the static stylesheets still apply."""

import pytest
from django.contrib.auth.models import Permission

from tests.browser.conftest import IPHONE_SAFARI, screenshot
from tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.browser

#: The page's violations: what Chromium logs on the console and what the
#: document reports as ``securitypolicyviolation`` events.
WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


@pytest.fixture
def strict_csp(settings):
    """Before ``server``: the live server loads its middleware at start."""
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "tests.csp.StrictCSPMiddleware"]


def watched_page(context):
    page = context.new_page()
    page.add_init_script(WATCH)
    console = []
    page.on(
        "console",
        lambda message: (
            console.append(message.text)
            if "Content Security Policy" in message.text
            or "Content-Security-Policy" in message.text
            else None
        ),
    )
    return page, console


def assert_no_violation(page, console):
    response_csp = page.evaluate("() => window.__cspViolations")
    assert response_csp == []
    assert console == []


def visit(page, url):
    response = page.goto(url)
    assert response.headers["content-security-policy"] == "default-src 'self'"
    page.wait_for_load_state("networkidle")


@pytest.mark.parametrize("engine", ["db"], indirect=True)
def test_your_sessions_page_under_strict_csp(strict_csp, server, new_context):
    user = UserFactory(username="alice")
    for context in (new_context(), new_context(IPHONE_SAFARI)):
        context.new_page().goto(f"{server.url}/sign-in/?username={user.username}")
    context = new_context()
    page, console = watched_page(context)
    page.goto(f"{server.url}/sign-in/?username={user.username}")

    visit(page, f"{server.url}/sessions/")
    assert page.locator("li.st-session").count() == 3
    # The stylesheet applied: the page background and the card's border.
    assert (
        page.evaluate("() => getComputedStyle(document.body).backgroundColor")
        == "rgb(245, 246, 248)"
    )
    assert (
        page.evaluate(
            "() => getComputedStyle(document.querySelector('.st-sessions')).display"
        )
        == "block"
    )
    assert (
        page.evaluate(
            "() => getComputedStyle(document.querySelector('.st-session')).display"
        )
        == "flex"
    )
    screenshot(page, "csp-your-sessions.png")
    assert_no_violation(page, console)

    page.locator("li.st-session:not(.st-current)").first.get_by_role(
        "button", name="Sign out"
    ).click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("status").inner_text() == "That session was signed out."
    assert_no_violation(page, console)

    visit(page, f"{server.url}/sessions/end-others/")  # the GET explanation
    assert "Nothing to show here" in page.content()
    assert_no_violation(page, console)


@pytest.mark.parametrize("engine", ["db"], indirect=True)
def test_admin_pages_under_strict_csp(strict_csp, server, new_context):
    staff = StaffFactory(username="support")
    staff.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="sessiontokens",
            codename__in=["view_session", "end_session"],
        ),
        Permission.objects.get(content_type__app_label="auth", codename="view_user"),
    )
    alice = UserFactory(username="alice")
    new_context(IPHONE_SAFARI).new_page().goto(
        f"{server.url}/sign-in/?username={alice.username}"
    )
    page, console = watched_page(new_context(width=1360))
    page.goto(f"{server.url}/admin/login/?next=/admin/sessiontokens/session/")
    page.fill("#id_username", staff.username)
    page.fill("#id_password", "pw-correct-horse")
    page.locator("input[type=submit]").click()
    page.wait_for_url("**/admin/sessiontokens/session/")
    page.wait_for_load_state("networkidle")

    assert page.locator("#result_list tbody tr").count() == 2
    badge = page.locator("#result_list .badge").first
    assert badge.evaluate("e => getComputedStyle(e).display") == "inline-block"
    small = page.locator("#result_list td small").first
    assert small.evaluate("e => getComputedStyle(e).display") == "block"
    screenshot(page, "csp-admin-sessions.png")
    assert_no_violation(page, console)

    alice_row = page.locator("#result_list tbody tr", has_text="alice")
    alice_row.locator("input.action-select").check()
    page.select_option("select[name=action]", label="End selected sessions")
    page.get_by_role("button", name="Go").click()
    page.wait_for_load_state("networkidle")
    assert "Ended 1 session." in page.locator("ul.messagelist").inner_text()
    assert_no_violation(page, console)

    # The user admin's "End all sessions" confirmation page.
    visit(page, f"{server.url}/admin/auth/user/{staff.pk}/end-sessions/")
    assert "Yes, end all sessions" in page.content()
    assert "your current session: it stays" in page.content()
    assert_no_violation(page, console)


@pytest.mark.parametrize("engine", ["db"], indirect=True)
def test_your_sessions_page_in_german_under_strict_csp(
    strict_csp, settings, server, new_context
):
    settings.LANGUAGE_CODE = "de"
    user = UserFactory(username="alice")
    new_context(IPHONE_SAFARI).new_page().goto(
        f"{server.url}/sign-in/?username={user.username}"
    )
    page, console = watched_page(new_context())
    page.goto(f"{server.url}/sign-in/?username={user.username}")
    visit(page, f"{server.url}/sessions/")
    assert page.locator("html").get_attribute("lang") == "de"
    assert page.get_by_role("heading", name="Ihre Sitzungen").count() == 1
    assert "Dieses Gerät" in page.locator("li.st-current").inner_text()
    screenshot(page, "csp-your-sessions-de.png")
    assert_no_violation(page, console)


@pytest.mark.parametrize("engine", ["db"], indirect=True)
def test_the_password_confirmation_under_strict_csp(
    strict_csp, server, new_context, settings
):
    import time

    settings.SESSIONTOKENS_REAUTH_TO_END_SESSIONS = 1
    user = UserFactory()
    new_context(IPHONE_SAFARI).new_page().goto(
        f"{server.url}/sign-in/?username={user.username}"
    )
    page, console = watched_page(new_context())
    page.goto(f"{server.url}/sign-in/?username={user.username}")
    time.sleep(1.2)
    visit(page, f"{server.url}/sessions/")
    page.get_by_role("button", name="Sign out all other sessions").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("heading", name="Confirm your password").count() == 1
    assert (
        page.evaluate(
            "() => getComputedStyle(document.querySelector('.st-reauth-form')).display"
        )
        == "grid"
    )
    screenshot(page, "csp-reauthenticate.png")
    assert_no_violation(page, console)
