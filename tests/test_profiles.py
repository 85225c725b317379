"""``SESSIONTOKENS_PROFILE`` presets: the standards' values; explicit
settings win."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.core import checks
from django.test import Client

from django_sessiontokens.conf import conf
from django_sessiontokens.defaults import PROFILES

pytestmark = pytest.mark.django_db
HOUR = 3600
DAY = 24 * HOUR

# (idle, absolute, rotate) in seconds, from NIST SP 800-63B-4 section 2
# (2.1.3, 2.2.3, 2.3.3) and OWASP ASVS 4.0.3 requirement 3.3.2.
EXPECTED = {
    "nist-aal1": (None, 30 * DAY, DAY),
    "nist-aal2": (HOUR, DAY, HOUR),
    "nist-aal3": (15 * 60, 12 * HOUR, 15 * 60),
    "asvs-l2": (30 * 60, 12 * HOUR, 30 * 60),
}


def test_every_profile_is_listed():
    assert set(PROFILES) == set(EXPECTED)


@pytest.mark.parametrize("profile", sorted(EXPECTED))
def test_profile_values(settings, profile):
    settings.SESSIONTOKENS_PROFILE = profile
    idle, absolute, rotate = EXPECTED[profile]
    assert idle == conf.IDLE_TIMEOUT
    assert absolute == conf.ABSOLUTE_TIMEOUT
    assert rotate == conf.ROTATE_INTERVAL
    assert conf.ROTATION_GRACE == 30  # not part of any profile
    assert [
        m.id for m in checks.run_checks() if m.id.startswith("sessiontokens.")
    ] == []


@pytest.mark.parametrize("profile", sorted(EXPECTED))
def test_profiles_are_documented(profile):
    root = Path(__file__).resolve().parent.parent
    for document in ("docs/explanation/security-model.md", "docs/security.md"):
        assert f"`{profile}`" in (root / document).read_text()


def test_explicit_settings_win_even_when_none(settings):
    settings.SESSIONTOKENS_PROFILE = "nist-aal3"
    settings.SESSIONTOKENS_IDLE_TIMEOUT = None
    settings.SESSIONTOKENS_ROTATE_INTERVAL = timedelta(minutes=5)
    assert conf.IDLE_TIMEOUT is None
    assert conf.ROTATE_INTERVAL == 300
    assert conf.ABSOLUTE_TIMEOUT == 12 * HOUR  # still from the profile


def test_no_profile_means_defaults(settings):
    assert conf.PROFILE is None
    assert (conf.IDLE_TIMEOUT, conf.ABSOLUTE_TIMEOUT, conf.ROTATE_INTERVAL) == (
        HOUR,
        DAY,
        None,
    )


def test_unknown_profile_is_a_check_error(settings):
    settings.SESSIONTOKENS_PROFILE = "pci"
    messages = [m for m in checks.run_checks() if m.id.startswith("sessiontokens.")]
    assert [m.id for m in messages] == ["sessiontokens.E011"]
    assert "'nist-aal2'" in messages[0].hint


def test_explicit_setting_that_contradicts_the_profile_is_checked(settings):
    settings.SESSIONTOKENS_PROFILE = "nist-aal3"
    settings.SESSIONTOKENS_IDLE_TIMEOUT = timedelta(hours=13)
    ids = [m.id for m in checks.run_checks() if m.id.startswith("sessiontokens.")]
    assert ids == ["sessiontokens.E005"]


def test_aal3_profile_is_enforced(engine, user, settings, clock):
    settings.SESSIONTOKENS_PROFILE = "nist-aal3"
    client = Client()
    client.force_login(user)
    first = client.cookies["sessionid"].value
    clock.shift(timedelta(minutes=14))
    assert client.get("/whoami/").json()["user"] == user.username
    clock.shift(timedelta(minutes=2))  # 16 minutes since login: rotation due
    assert client.get("/whoami/").json()["user"] == user.username
    assert client.cookies["sessionid"].value != first
    clock.shift(timedelta(minutes=16))  # idle longer than 15 minutes
    assert client.get("/whoami/").json()["user"] is None


def test_explicit_setting_wins_at_run_time(engine, user, settings, clock):
    settings.SESSIONTOKENS_PROFILE = "nist-aal3"
    settings.SESSIONTOKENS_IDLE_TIMEOUT = timedelta(hours=1)
    client = Client()
    client.force_login(user)
    clock.shift(timedelta(minutes=50))
    assert client.get("/whoami/").json()["user"] == user.username


def test_security_document_names_only_real_tests():
    """docs/security.md cites tests as proof; each one must exist."""
    root = Path(__file__).resolve().parent.parent
    cited = set(
        re.findall(
            r"`(tests/[\w/]+\.py)::(\w+)`", (root / "docs/security.md").read_text()
        )
    )
    assert len(cited) > 50
    missing = [
        f"{path}::{name}"
        for path, name in sorted(cited)
        if not re.search(
            rf"^(async )?def {name}\(", (root / path).read_text(), re.MULTILINE
        )
    ]
    assert missing == []
