import re
from datetime import timedelta

import django
import pytest
from django.core import checks
from django.core.management import call_command
from django.test import override_settings

from django_sessiontokens import checks as our_checks

OURS = "django_sessiontokens.middleware.SessionTokenMiddleware"
DJANGOS = "django.contrib.sessions.middleware.SessionMiddleware"


def ids(deploy=False):
    return sorted(
        m.id
        for m in checks.run_checks(include_deployment_checks=deploy)
        if m.id.startswith("sessiontokens.")
    )


def test_default_test_settings_pass():
    assert ids() == []


def documented_ids():
    found = re.findall(r"^(E\d{3}|W\d{3})\s", our_checks.__doc__, re.M)
    assert len(found) == len(set(found)), "an id is documented twice"
    return {f"sessiontokens.{i}" for i in found}


BAD = [
    ({"MIDDLEWARE": []}, "E001"),
    ({"MIDDLEWARE": [OURS, DJANGOS]}, "E002"),
    ({"SESSION_ENGINE": "django.contrib.sessions.backends.db"}, "E003"),
    ({"SESSIONTOKENS_IDLE_TIMEOUT": -5}, "E004"),
    ({"SESSIONTOKENS_ABSOLUTE_TIMEOUT": "1 day"}, "E004"),
    ({"SESSIONTOKENS_TOUCH_INTERVAL": 0}, "E004"),
    ({"SESSIONTOKENS_CACHE_TIMEOUT": "x"}, "E004"),
    ({"SESSIONTOKENS_AUDIT_RETENTION": "x"}, "E004"),
    ({"SESSIONTOKENS_CHANNELS_CHECK_INTERVAL": 0}, "E004"),
    ({"SESSIONTOKENS_INVALID_TOKEN_WINDOW": 0}, "E004"),
    ({"SESSIONTOKENS_ROTATE_INTERVAL": -1}, "E004"),
    (
        {
            "SESSIONTOKENS_IDLE_TIMEOUT": timedelta(days=2),
            "SESSIONTOKENS_ABSOLUTE_TIMEOUT": timedelta(days=1),
        },
        "E005",
    ),
    ({"SESSIONTOKENS_IDLE_TIMEOUT": 60, "SESSIONTOKENS_TOUCH_INTERVAL": 60}, "E006"),
    ({"SESSIONTOKENS_RECORD_IP": "partial"}, "E007"),
    ({"SESSIONTOKENS_USER_AGENT_MAX_LENGTH": 10_000}, "E008"),
    ({"SESSIONTOKENS_ON_UA_CHANGE": "panic"}, "E009"),
    ({"SESSIONTOKENS_LIMIT_POLICY": "random"}, "E010"),
    ({"SESSIONTOKENS_PROFILE": "nist-aal9"}, "E011"),
    ({"SESSION_COOKIE_NAME": "__Host-sid", "SESSION_COOKIE_PATH": "/app"}, "E012"),
    (
        {
            "SESSION_ENGINE": "django_sessiontokens.backends.cached_db",
            "SESSIONTOKENS_REDIS_CACHE": "default",
        },
        "E013",
    ),
    ({"SESSIONTOKENS_ROTATION_GRACE": -1}, "E014"),
    ({"SESSIONTOKENS_ROTATION_GRACE": "soon"}, "E014"),
    ({"SESSIONTOKENS_INVALID_TOKEN_LIMIT": 0}, "E015"),
    ({"SESSIONTOKENS_MAX_SESSIONS_PER_USER": 0}, "E016"),
    ({"SESSIONTOKENS_REMEMBERED_IDLE_TIMEOUT": 0}, "E045"),
    ({"SESSIONTOKENS_REMEMBERED_ABSOLUTE_TIMEOUT": "30 days"}, "E045"),
    (
        {
            "SESSIONTOKENS_REMEMBERED_IDLE_TIMEOUT": timedelta(days=40),
            "SESSIONTOKENS_REMEMBERED_ABSOLUTE_TIMEOUT": timedelta(days=30),
        },
        "E046",
    ),
    (
        {
            "SESSIONTOKENS_REMEMBERED_IDLE_TIMEOUT": 7200,
            "SESSIONTOKENS_TOUCH_INTERVAL": 7200,
            "SESSIONTOKENS_IDLE_TIMEOUT": None,
        },
        "E047",
    ),
    ({"SESSIONTOKENS_REAUTH_TO_END_SESSIONS": -1}, "E048"),
    (
        {
            "SESSIONTOKENS_REMEMBERED_IDLE_TIMEOUT": None,
            "SESSIONTOKENS_REMEMBERED_ABSOLUTE_TIMEOUT": None,
        },
        "W018",
    ),
    ({"SESSIONTOKENS_REMEMBERED_ABSOLUTE_TIMEOUT": 3600}, "W019"),
    ({"SESSIONTOKENS_CACHE_CHECK_INTERVAL": 120}, "E023"),
    ({"SESSIONTOKENS_CACHE_CHECK_INTERVAL": None}, "E023"),
    ({"SESSIONTOKENS_AUDIT": "yes"}, "E017"),
    ({"SESSIONTOKENS_INVALID_TOKEN_BLOCK": 1}, "E017"),
    ({"SESSIONTOKENS_CLEAR_SITE_DATA_ON_LOGOUT": "on"}, "E017"),
    ({"SESSIONTOKENS_PURGE_SEND_SIGNALS": None}, "E017"),
    ({"SESSIONTOKENS_ACCEPT_IMPORTED": "false"}, "E017"),
    ({"SESSIONTOKENS_ON_IP_CHANGE": "panic"}, "E009"),
    ({"SESSIONTOKENS_PURGE_BATCH_SIZE": 0}, "E018"),
    ({"SESSIONTOKENS_TRUSTED_PROXIES": -1}, "E019"),
    ({"SESSIONTOKENS_TRUSTED_PROXIES": "1"}, "E019"),
    ({"SESSIONTOKENS_REDIS_KEY_PREFIX": "a{b}"}, "E020"),
    ({"SESSIONTOKENS_REDIS_KEY_PREFIX": ""}, "E020"),
    ({"SESSIONTOKENS_REDIS_CLIENT": "no.such.module.client"}, "E021"),
    ({"SESSIONTOKENS_REDIS_CLIENT": 42}, "E021"),
    ({"SESSIONTOKENS_REDIS_CACHE": None}, "E021"),
    ({"SESSION_COOKIE_NAME": "__Http-sid", "SESSION_COOKIE_HTTPONLY": False}, "E022"),
    (
        {
            "SESSION_COOKIE_NAME": "__Host-Http-sid",
            "SESSION_COOKIE_SECURE": True,
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_DOMAIN": "example.com",
        },
        "E022",
    ),
    ({"SESSIONTOKENS_DBSC": "yes"}, "E017"),
    ({"SESSIONTOKENS_DBSC": True}, "E030"),
    ({"SESSIONTOKENS_DBSC": True, "SESSIONTOKENS_DBSC_ORIGIN": "example.com"}, "E030"),
    (
        {"SESSIONTOKENS_DBSC": True, "SESSIONTOKENS_DBSC_ORIGIN": "http://example.com"},
        "E031",
    ),
    ({"SESSIONTOKENS_DBSC_COOKIE_NAME": "bad name"}, "E032"),
    ({"SESSIONTOKENS_DBSC_COOKIE_NAME": "sessionid"}, "E032"),
    ({"SESSIONTOKENS_DBSC_COOKIE_NAME": "bound"}, "W010"),
    ({"SESSIONTOKENS_DBSC_COOKIE_AGE": 0}, "E033"),
    ({"SESSIONTOKENS_DBSC_COOKIE_AGE": 60}, "W011"),
    ({"SESSIONTOKENS_DBSC_CHALLENGE_AGE": 600}, "E034"),
    ({"SESSIONTOKENS_DBSC_ON_SKIPPED": "maybe"}, "E035"),
    ({"SESSIONTOKENS_DBSC_ON_ANOMALY": "panic"}, "E035"),
    ({"SESSIONTOKENS_DBSC_EXCLUDE": "/health/"}, "E037"),
    (
        {
            "SESSIONTOKENS_DBSC": True,
            "SESSIONTOKENS_DBSC_ORIGIN": "https://example.com",
            "ROOT_URLCONF": "tests.bare_urls",
        },
        "E036",
    ),
    (
        {
            "SESSIONTOKENS_DBSC": True,
            "SESSIONTOKENS_DBSC_ORIGIN": "https://example.com",
            "SESSIONTOKENS_DBSC_ON_SKIPPED": "allow",
        },
        "W012",
    ),
]
BAD += [
    ({"SESSIONTOKENS_NEW_DEVICE_ALERT": "sms"}, "E040"),
    ({"SESSIONTOKENS_NEW_DEVICE_ALERT": 1}, "E040"),
    ({"SESSIONTOKENS_NEW_DEVICE_WINDOW": 0}, "E044"),
    ({"SESSIONTOKENS_NEW_DEVICE_WINDOW": "a month"}, "E044"),
    ({"SESSIONTOKENS_GEOIP": "/no/such/GeoLite2-City.mmdb"}, "E041"),
    ({"SESSIONTOKENS_GEOIP": __file__}, "E041"),
    ({"SESSIONTOKENS_IMPERSONATOR_SESSION_KEY": ["hijack_history"]}, "E043"),
    ({"SESSIONTOKENS_NEW_DEVICE_ALERT": True, "SESSIONTOKENS_AUDIT": False}, "W016"),
    (
        {
            "SESSIONTOKENS_NEW_DEVICE_ALERT": True,
            "ROOT_URLCONF": "tests.urls_without_sessions",
        },
        "W015",
    ),
]
DEPLOY = [
    ({"SESSION_COOKIE_SECURE": False}, "W001"),
    ({"SESSION_COOKIE_HTTPONLY": False}, "W002"),
    ({"SESSION_COOKIE_SAMESITE": None}, "W003"),
]


def _secure(settings):
    settings.SESSION_COOKIE_SECURE = True
    settings.SESSION_COOKIE_HTTPONLY = True
    settings.SESSION_COOKIE_SAMESITE = "Lax"


@pytest.mark.parametrize(("changes", "expected"), BAD)
def test_each_bad_setting_is_reported_by_name_with_a_hint(settings, changes, expected):
    _secure(settings)
    for name, value in changes.items():
        setattr(settings, name, value)
    messages = [
        m for m in checks.run_checks() if m.id and m.id.startswith("sessiontokens.")
    ]
    assert [m.id for m in messages] == [f"sessiontokens.{expected}"]
    (message,) = messages
    assert message.hint
    named = [n for n in changes if n.startswith(("SESSIONTOKENS_", "SESSION_"))]
    if expected not in {"E001", "E002", "E012", "E022"}:
        assert any(n in message.msg + message.hint for n in named), message


def test_the_documented_ids_are_the_ids_the_checks_emit(settings):
    emitted = set()
    for changes, expected in [*BAD, *DEPLOY]:
        with override_settings(**changes):
            emitted |= {
                m.id
                for m in checks.run_checks(include_deployment_checks=True)
                if m.id and m.id.startswith("sessiontokens.")
            }
    emitted |= {f"sessiontokens.{w}" for w in ("W004",) if django.VERSION >= (5, 1)}
    # With allauth.usersessions installed: tests/allauth_cases.py.
    emitted |= {"sessiontokens.W005", "sessiontokens.W006", "sessiontokens.W007"}
    # geoip2 missing, and a real database with RECORD_IP "none": test_location.py.
    emitted |= {"sessiontokens.E042", "sessiontokens.W017"}
    # Without the cryptography package: test_dbsc_needs_cryptography.
    emitted |= {"sessiontokens.E038"}
    documented = documented_ids()
    if django.VERSION < (5, 1):
        documented.discard("sessiontokens.W004")
    assert emitted == documented


def test_every_setting_has_a_check_case():
    from django_sessiontokens.defaults import DEFAULTS

    covered = {
        name.removeprefix("SESSIONTOKENS_")
        for changes, _ in BAD
        for name in changes
        if name.startswith("SESSIONTOKENS_")
    }
    assert set(DEFAULTS) - covered == set()


def test_dbsc_needs_cryptography(settings, monkeypatch):
    import importlib.util

    settings.SESSIONTOKENS_DBSC = True
    settings.SESSIONTOKENS_DBSC_ORIGIN = "https://example.com"
    assert ids() == []
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "cryptography" else real(name, *a),
    )
    assert ids() == ["sessiontokens.E038"]


def test_dbsc_over_http_is_allowed_in_debug(settings):
    settings.SESSIONTOKENS_DBSC = True
    settings.SESSIONTOKENS_DBSC_ORIGIN = "http://localhost:8000"
    assert ids() == ["sessiontokens.E031"]
    settings.DEBUG = True
    assert ids() == []


def test_a_bad_setting_read_at_runtime_names_the_setting(settings):
    from django.core.exceptions import ImproperlyConfigured

    from django_sessiontokens.conf import conf

    settings.SESSIONTOKENS_CACHE_TIMEOUT = "x"
    with pytest.raises(ImproperlyConfigured, match="SESSIONTOKENS_CACHE_TIMEOUT"):
        conf.CACHE_TIMEOUT


def test_sqlite_without_immediate_transactions_warns_on_deploy(settings, monkeypatch):
    """Django 5.1+ (older versions have no ``transaction_mode``: no warning)."""
    from django.conf import settings as django_settings

    _secure(settings)
    databases = {
        **django_settings.DATABASES,
        "extra": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"},
    }
    # Set directly: overriding DATABASES through the fixture warns.
    monkeypatch.setattr(django_settings, "DATABASES", databases)
    expected = ["sessiontokens.W004"] if django.VERSION >= (5, 1) else []
    assert ids(deploy=True) == expected


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"MIDDLEWARE": []}, ["sessiontokens.E001"]),
        ({"MIDDLEWARE": [DJANGOS]}, ["sessiontokens.E001", "sessiontokens.E002"]),
        ({"MIDDLEWARE": [OURS, DJANGOS]}, ["sessiontokens.E002"]),
        (
            {"SESSION_ENGINE": "django.contrib.sessions.backends.db"},
            ["sessiontokens.E003"],
        ),
        ({"SESSIONTOKENS_IDLE_TIMEOUT": -5}, ["sessiontokens.E004"]),
        ({"SESSIONTOKENS_ABSOLUTE_TIMEOUT": "1 day"}, ["sessiontokens.E004"]),
        ({"SESSIONTOKENS_TOUCH_INTERVAL": 0}, ["sessiontokens.E004"]),
        (
            {
                "SESSIONTOKENS_IDLE_TIMEOUT": timedelta(days=2),
                "SESSIONTOKENS_ABSOLUTE_TIMEOUT": timedelta(days=1),
            },
            ["sessiontokens.E005"],
        ),
        (
            {"SESSIONTOKENS_IDLE_TIMEOUT": 60, "SESSIONTOKENS_TOUCH_INTERVAL": 60},
            ["sessiontokens.E006"],
        ),
        ({"SESSIONTOKENS_RECORD_IP": "partial"}, ["sessiontokens.E007"]),
        ({"SESSIONTOKENS_USER_AGENT_MAX_LENGTH": 10_000}, ["sessiontokens.E008"]),
        ({"SESSIONTOKENS_ON_IP_CHANGE": "panic"}, ["sessiontokens.E009"]),
        ({"SESSIONTOKENS_LIMIT_POLICY": "random"}, ["sessiontokens.E010"]),
        ({"SESSIONTOKENS_PROFILE": "nist-aal9"}, ["sessiontokens.E011"]),
        (
            {"SESSION_COOKIE_NAME": "__Host-sid", "SESSION_COOKIE_SECURE": False},
            ["sessiontokens.E012"],
        ),
        (
            {
                "SESSION_ENGINE": "django_sessiontokens.backends.redis",
                "SESSIONTOKENS_REDIS_CACHE": "default",
            },
            ["sessiontokens.E013"],
        ),
    ],
)
def test_misconfiguration_is_reported_with_a_hint(settings, changes, expected):
    for name, value in changes.items():
        setattr(settings, name, value)
    messages = [
        m for m in checks.run_checks() if m.id and m.id.startswith("sessiontokens.")
    ]
    assert sorted(m.id for m in messages) == expected
    assert all(m.hint for m in messages)


def test_subclass_of_our_middleware_is_accepted(settings):
    settings.MIDDLEWARE = ["tests.test_checks.CustomMiddleware"]
    assert ids() == []


def test_admin_check_e410_passes_with_our_middleware():
    messages = [m.id for m in checks.run_checks() if m.id == "admin.E410"]
    assert messages == []


def test_deploy_warnings(settings):
    settings.SESSION_COOKIE_SECURE = False
    settings.SESSION_COOKIE_HTTPONLY = False
    settings.SESSION_COOKIE_SAMESITE = None
    assert ids(deploy=True) == [
        "sessiontokens.W001",
        "sessiontokens.W002",
        "sessiontokens.W003",
    ]
    settings.SESSION_COOKIE_SECURE = True
    settings.SESSION_COOKIE_HTTPONLY = True
    settings.SESSION_COOKIE_SAMESITE = "Lax"
    assert ids(deploy=True) == []


def test_manage_py_check_fails_on_errors(settings):
    settings.SESSIONTOKENS_RECORD_IP = "partial"
    from django.core.management.base import SystemCheckError

    with pytest.raises(SystemCheckError, match=r"sessiontokens\.E007"):
        call_command("check")


from django_sessiontokens.middleware import SessionTokenMiddleware  # noqa: E402


class CustomMiddleware(SessionTokenMiddleware):
    pass
