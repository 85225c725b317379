"""Which sessions are bound shows on the "your sessions" page, in the API
and in the admin list; on every engine."""

import pytest

from tests.dbsc_browser import DbscBrowser

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def dbsc(settings, engine, clock):
    settings.SESSIONTOKENS_DBSC = True
    settings.SESSIONTOKENS_DBSC_ORIGIN = "https://testserver"
    return engine


def test_api_page_and_admin_show_the_bound_session(dbsc, user, settings):
    user.is_staff = user.is_superuser = True
    user.save()
    bound = DbscBrowser()
    bound.get(f"/sign-in/?username={user.username}")
    plain = DbscBrowser(supports_dbsc=False)
    plain.get(f"/sign-in/?username={user.username}")
    bound_id = bound.jar["sessionid"][0].split(".")[0]
    sessions = bound.get("/sessions/api/").json()["sessions"]
    assert {s["id"]: s["device_bound"] for s in sessions} == {
        bound_id: True,
        plain.jar["sessionid"][0].split(".")[0]: False,
    }
    page = bound.get("/sessions/").content.decode()
    assert page.count("Bound to its device") == 1
    admin = bound.get("/admin/sessiontokens/session/").content.decode()
    assert admin.count(">device-bound</span>") == 1
    settings.SESSIONTOKENS_DBSC = False  # off: nothing is looked up or shown
    sessions = plain.get("/sessions/api/").json()["sessions"]
    assert [s["device_bound"] for s in sessions] == [False, False]


def test_the_template_tag_asks_device_bound(dbsc, user):
    from django.template import Context, Template

    template = Template("{% load sessiontokens %}{% device_bound as b %}[{{ b }}]")
    assert template.render(Context({})) == "[False]"
    device = DbscBrowser()
    device.get(f"/sign-in/?username={user.username}")
    response = device.get("/bound/")
    request = response.wsgi_request
    assert template.render(Context({"request": request})) == "[True]"
