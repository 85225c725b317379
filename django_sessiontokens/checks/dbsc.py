"""Checks of the device-bound session (DBSC) settings. The values are
checked whether DBSC is on or not; what only matters when it is on (the
origin, HTTPS, the endpoints, ``cryptography``) only then."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning
from django.urls import NoReverseMatch, reverse

from django_sessiontokens.conf import conf
from django_sessiontokens.defaults import DBSC_ANOMALY_CHOICES, DBSC_SKIPPED_CHOICES

#: A cookie name Chromium accepts (an RFC 6265 token).
COOKIE_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
#: Chromium refreshes when a bound cookie has under two minutes left.
MIN_COOKIE_AGE = 130


def _number(value: Any) -> float | None:
    from django_sessiontokens.conf import seconds

    try:
        found = seconds(value)
    except TypeError:
        return None
    return found if found is not None and found > 0 else None


def _e(message: str, hint: str, id: str) -> Error:
    return Error(message, hint=hint, id=id)


def _w(message: str, hint: str, id: str) -> Warning:
    return Warning(message, hint=hint, id=id)


def _values() -> list[CheckMessage]:
    found: list[CheckMessage] = []
    name = conf.raw("DBSC_COOKIE_NAME")
    if not isinstance(name, str) or not COOKIE_NAME.fullmatch(name):
        found.append(
            _e(
                f"SESSIONTOKENS_DBSC_COOKIE_NAME is {name!r}, not a cookie name.",
                "Use letters, digits and '-' or '_', e.g. "
                "'__Host-sessiontokens-bound'.",
                id="sessiontokens.E032",
            )
        )
    elif name == settings.SESSION_COOKIE_NAME:
        found.append(
            _e(
                "SESSIONTOKENS_DBSC_COOKIE_NAME is the session cookie's name.",
                "Give the bound cookie a name of its own, e.g. "
                "'__Host-sessiontokens-bound'.",
                id="sessiontokens.E032",
            )
        )
    elif not name.startswith("__Host-"):
        found.append(
            _w(
                f"SESSIONTOKENS_DBSC_COOKIE_NAME {name!r} has no '__Host-' prefix.",
                "Start it with '__Host-' so browsers refuse a copy set with a "
                "Domain or another Path (it is always sent Secure, Path=/).",
                id="sessiontokens.W010",
            )
        )
    age = conf.raw("DBSC_COOKIE_AGE")
    cookie_age = _number(age)
    if cookie_age is None:
        found.append(
            _e(
                f"SESSIONTOKENS_DBSC_COOKIE_AGE is {age!r}.",
                "Use a number of seconds (or a timedelta), e.g. 600.",
                id="sessiontokens.E033",
            )
        )
    elif cookie_age < MIN_COOKIE_AGE:
        found.append(
            _w(
                f"SESSIONTOKENS_DBSC_COOKIE_AGE is {cookie_age:g} s.",
                "Chrome refreshes a bound cookie with under 2 minutes left: under "
                f"{MIN_COOKIE_AGE} s it signs a refresh on every request. Use 600.",
                id="sessiontokens.W011",
            )
        )
    challenge = conf.raw("DBSC_CHALLENGE_AGE")
    challenge_age = _number(challenge)
    if challenge_age is None or (cookie_age and challenge_age <= cookie_age):
        found.append(
            _e(
                f"SESSIONTOKENS_DBSC_CHALLENGE_AGE is {challenge!r}.",
                "Use a number of seconds longer than SESSIONTOKENS_DBSC_COOKIE_AGE "
                "(the next challenge is used when the cookie runs out), e.g. twice it.",
                id="sessiontokens.E034",
            )
        )
    for setting, choices in (
        ("DBSC_ON_SKIPPED", DBSC_SKIPPED_CHOICES),
        ("DBSC_ON_ANOMALY", DBSC_ANOMALY_CHOICES),
    ):
        if conf.raw(setting) not in choices:
            found.append(
                _e(
                    f"SESSIONTOKENS_{setting} is {conf.raw(setting)!r}.",
                    "Use one of: " + ", ".join(repr(c) for c in choices),
                    id="sessiontokens.E035",
                )
            )
    exclude = conf.raw("DBSC_EXCLUDE")
    if not isinstance(exclude, (list, tuple)) or not all(
        isinstance(path, str) and path.startswith("/") for path in exclude
    ):
        found.append(
            _e(
                f"SESSIONTOKENS_DBSC_EXCLUDE is {exclude!r}.",
                "Use a list of paths, each starting with '/', e.g. ['/health/'] "
                "(one ending in '/' covers everything under it).",
                id="sessiontokens.E037",
            )
        )
    return found


def _when_on() -> list[CheckMessage]:
    found: list[CheckMessage] = []
    origin = conf.raw("DBSC_ORIGIN")
    parts = urlsplit(origin) if isinstance(origin, str) else None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
    ):
        found.append(
            _e(
                f"SESSIONTOKENS_DBSC is on; SESSIONTOKENS_DBSC_ORIGIN is {origin!r}.",
                "Set it to the site's origin as browsers see it, e.g. "
                "'https://app.example.com' (it is never taken from the Host "
                "header: behind a proxy the scheme would be wrong).",
                id="sessiontokens.E030",
            )
        )
    elif parts.scheme != "https" and not settings.DEBUG:
        found.append(
            _e(
                f"SESSIONTOKENS_DBSC is on without HTTPS ({origin!r}).",
                "Browsers bind sessions on secure origins only: serve the site "
                "over HTTPS and set SESSIONTOKENS_DBSC_ORIGIN to its https:// "
                "origin (http://localhost is allowed with DEBUG).",
                id="sessiontokens.E031",
            )
        )
    try:
        reverse("sessiontokens:dbsc-register")
        reverse("sessiontokens:dbsc-refresh")
    except NoReverseMatch:
        found.append(
            _e(
                "SESSIONTOKENS_DBSC is on but its endpoints are not routed.",
                "Add path('sessions/', include('django_sessiontokens.urls')) to "
                "the URLconf (namespace 'sessiontokens').",
                id="sessiontokens.E036",
            )
        )
    if importlib.util.find_spec("cryptography") is None:
        found.append(
            _e(
                "SESSIONTOKENS_DBSC is on but 'cryptography' is not installed.",
                "pip install 'django-sessiontokens[dbsc]'.",
                id="sessiontokens.E038",
            )
        )
    if conf.raw("DBSC_ON_SKIPPED") == "allow":
        found.append(
            _w(
                "SESSIONTOKENS_DBSC_ON_SKIPPED is 'allow'.",
                "Any client can send Secure-Session-Skipped: with 'allow', a "
                "stolen session cookie works with it. Keep 'signed_out' unless "
                "your users must not be signed out while the endpoint fails.",
                id="sessiontokens.W012",
            )
        )
    return found


def check_dbsc(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    found = _values()
    if conf.raw("DBSC") is True:
        found += _when_on()
    return found
