"""Where a session is: city and country from a MaxMind database built by
the tests (mmdb-writer), on the page, in the API, in the admin list; looked
up only when shown, cached; none with ``SESSIONTOKENS_RECORD_IP = "none"``."""

import importlib.util

import pytest
from django.core import checks
from django.utils import translation

from django_sessiontokens import location
from tests.conftest import sign_in
from tests.factories import StaffFactory
from tests.geoip import write_database

pytestmark = pytest.mark.django_db

PARIS_IP, GERMAN_IP, UNKNOWN_IP = "203.0.113.7", "2001:db8::7", "198.51.100.7"


@pytest.fixture
def database(tmp_path, settings):
    path = write_database(tmp_path / "GeoLite2-City.mmdb")
    settings.SESSIONTOKENS_GEOIP = str(path)
    location.clear()
    yield path
    location.clear()


def test_locate_from_the_generated_database(database):
    paris = location.locate(PARIS_IP)
    assert paris == location.Location("Paris", "France", "FR")
    assert paris.label == "Paris, France"
    assert paris.as_json() == {
        "city": "Paris",
        "country": "France",
        "country_code": "FR",
    }
    germany = location.locate(GERMAN_IP)
    assert germany.label == "Germany"
    assert germany.as_json() == {
        "city": None,
        "country": "Germany",
        "country_code": "DE",
    }
    assert location.locate(UNKNOWN_IP) is None
    assert location.locate("127.0.0.1") is None
    assert location.locate(None) is None
    assert location.locate("not an address") is None


def test_names_follow_the_active_language(database):
    with translation.override("de"):
        assert location.locate(PARIS_IP).country == "Frankreich"
    assert location.locate(PARIS_IP).country == "France"


def test_django_geoip_path_is_honoured(settings, tmp_path):
    write_database(tmp_path / "GeoLite2-City.mmdb")
    settings.GEOIP_PATH = str(tmp_path)  # a folder, as for Django's GeoIP2
    assert location.locate(PARIS_IP).city == "Paris"
    settings.SESSIONTOKENS_GEOIP = None  # explicitly off
    assert location.locate(PARIS_IP) is None


def test_nothing_without_a_database(settings):
    assert location.locate(PARIS_IP) is None


def test_the_page_and_the_api_show_it(engine, user, database):
    client = sign_in(user, ip=PARIS_IP)
    sign_in(user, ip=UNKNOWN_IP)
    html = client.get("/sessions/").content.decode()
    assert html.count("Paris, France") == 1
    found = {
        s["ip"]: s["location"] for s in client.get("/sessions/api/").json()["sessions"]
    }
    assert found == {
        PARIS_IP: {"city": "Paris", "country": "France", "country_code": "FR"},
        UNKNOWN_IP: None,
    }


def test_the_admin_list_shows_it(engine, user, database):
    from django.contrib.auth.models import Permission

    sign_in(user, ip=GERMAN_IP)
    staff = StaffFactory()
    staff.user_permissions.add(*Permission.objects.filter(codename="view_session"))
    admin = sign_in(staff, ip=PARIS_IP)
    html = admin.get("/admin/sessiontokens/session/").content.decode()
    assert '<small class="location">Germany</small>' in html
    assert '<small class="location">Paris, France</small>' in html


def test_truncated_addresses_are_located(engine, user, database, settings):
    settings.SESSIONTOKENS_RECORD_IP = "truncated"
    client = sign_in(user, ip=PARIS_IP)
    (row,) = client.get("/sessions/api/").json()["sessions"]
    assert row["ip"] == "203.0.113.0" and row["location"]["city"] == "Paris"


def test_no_location_when_addresses_are_not_recorded(engine, user, database, settings):
    client = sign_in(user, ip=PARIS_IP)
    settings.SESSIONTOKENS_RECORD_IP = "none"
    # Even a session recorded earlier shows none once recording is off.
    (row,) = client.get("/sessions/api/").json()["sessions"]
    assert row["location"] is None
    assert "Paris" not in client.get("/sessions/").content.decode()
    fresh = sign_in(user, ip=PARIS_IP)
    rows = fresh.get("/sessions/api/").json()["sessions"]
    assert [(s["ip"], s["location"]) for s in rows if s["current"]] == [(None, None)]


def test_looked_up_only_when_shown_and_cached(engine, user, database):
    client = sign_in(user, ip=PARIS_IP)
    for _ in range(3):
        assert client.get("/whoami/").json()["user"] == user.username
    assert location._lookup.cache_info().currsize == 0  # ordinary requests
    assert location._READERS == {}
    client.get("/sessions/api/")
    client.get("/sessions/")
    info = location._lookup.cache_info()
    assert (info.misses, info.hits) == (1, 1)


def test_checks(settings, database, monkeypatch):
    def ids():
        return [m.id for m in checks.run_checks() if m.id.startswith("sessiontokens.")]

    assert ids() == []
    settings.SESSIONTOKENS_RECORD_IP = "none"
    assert ids() == ["sessiontokens.W017"]
    settings.SESSIONTOKENS_RECORD_IP = "full"
    del settings.SESSIONTOKENS_GEOIP
    settings.GEOIP_PATH = "/no/such/folder"
    (message,) = [m for m in checks.run_checks() if m.id == "sessiontokens.E041"]
    assert "GEOIP_PATH" in message.msg and message.hint
    settings.GEOIP_PATH = str(database)
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "geoip2" else real(name, *a),
    )
    assert ids() == ["sessiontokens.E042"]


@pytest.mark.parametrize("prefix", ["/drf/sessions/", "/ninja/sessions/"])
def test_drf_and_ninja_show_it(engine, user, database, settings, prefix):
    settings.ROOT_URLCONF = "tests.integration_urls"
    client = sign_in(user, ip=PARIS_IP)
    (row,) = client.get(prefix).json()["sessions"]
    assert row["location"] == {
        "city": "Paris",
        "country": "France",
        "country_code": "FR",
    }
    assert row["impersonated_by"] is None
