import re
from datetime import timedelta

import pytest
from django.core import checks
from django.core.management import call_command

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


def test_every_message_has_a_hint_and_ids_are_unique():
    documented = re.findall(r"^(E\d{3}|W\d{3})\s", our_checks.__doc__, re.M)
    assert len(documented) == len(set(documented))
    for check in (*our_checks.ALL_CHECKS, our_checks.check_deploy):
        assert callable(check)


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
