"""Checks of the optional features: new-device alerts, location,
impersonation."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from typing import Any

from django.core.checks import CheckMessage, Error, Warning
from django.urls import NoReverseMatch, reverse

from django_sessiontokens.conf import conf, seconds
from django_sessiontokens.defaults import NEW_DEVICE_ALERT_CHOICES


def _alerts(errors: list[CheckMessage]) -> None:
    value = conf.raw("NEW_DEVICE_ALERT")
    # True and False themselves (1 and 0 are refused, as for E017).
    if not any(
        value is choice if isinstance(choice, bool) else value == choice
        for choice in NEW_DEVICE_ALERT_CHOICES
    ):
        errors.append(
            Error(
                f"SESSIONTOKENS_NEW_DEVICE_ALERT must be False, True or "
                f'"signal", not {value!r}.',
                hint='True sends an email and the signal; "signal" only the '
                "signal session_new_device.",
                id="sessiontokens.E040",
            )
        )
        return
    try:
        window = seconds(conf.raw("NEW_DEVICE_WINDOW"))
    except TypeError:
        window = None
    if window is None or window <= 0:
        errors.append(
            Error(
                "SESSIONTOKENS_NEW_DEVICE_WINDOW must be a positive number of "
                f"seconds or a timedelta, not {conf.raw('NEW_DEVICE_WINDOW')!r}.",
                hint="For example "
                "SESSIONTOKENS_NEW_DEVICE_WINDOW = timedelta(days=30).",
                id="sessiontokens.E044",
            )
        )
    if not value:
        return
    if not conf.AUDIT:
        errors.append(
            Warning(
                "SESSIONTOKENS_NEW_DEVICE_ALERT is on but SESSIONTOKENS_AUDIT is "
                "off: the new-device rule reads the audit trail, so no alert is "
                "sent.",
                hint="Set SESSIONTOKENS_AUDIT = True, or turn the alerts off.",
                id="sessiontokens.W016",
            )
        )
    if value is True:
        try:
            reverse("sessiontokens:list")
        except NoReverseMatch:
            errors.append(
                Warning(
                    "SESSIONTOKENS_NEW_DEVICE_ALERT sends emails, but the "
                    '"your sessions" page is not in the URLconf: the email '
                    "cannot link to it.",
                    hint='Add path("account/sessions/", '
                    'include("django_sessiontokens.urls")) to your urls.py.',
                    id="sessiontokens.W015",
                )
            )


def _readable(path: Any) -> bool:
    if path is None:
        return False
    import geoip2.database

    try:
        geoip2.database.Reader(str(path)).close()
    except (OSError, ValueError, RuntimeError):  # InvalidDatabaseError
        return False
    return True


def _geoip(errors: list[CheckMessage]) -> None:
    from django_sessiontokens.location import database_file

    path = conf.GEOIP
    if path is None:
        return
    name = "SESSIONTOKENS_GEOIP" if conf.is_explicit("GEOIP") else "GEOIP_PATH"
    if importlib.util.find_spec("geoip2") is None:
        errors.append(
            Error(
                f"{name} is set but geoip2 is not installed.",
                hint='pip install "django-sessiontokens[geoip]", or set '
                "SESSIONTOKENS_GEOIP = None.",
                id="sessiontokens.E042",
            )
        )
    elif not _readable(database_file(path)):
        errors.append(
            Error(
                f"{name} = {path!r} is not a MaxMind database file nor a folder "
                "holding GeoLite2-City.mmdb or GeoLite2-Country.mmdb.",
                hint="Point it at a .mmdb file (GeoLite2 or GeoIP2 City or "
                "Country), or set SESSIONTOKENS_GEOIP = None.",
                id="sessiontokens.E041",
            )
        )
    if conf.RECORD_IP == "none":
        errors.append(
            Warning(
                f'{name} is set but SESSIONTOKENS_RECORD_IP = "none": no address '
                "is recorded, so no location is shown.",
                hint='Record addresses ("full" or "truncated") or set '
                "SESSIONTOKENS_GEOIP = None.",
                id="sessiontokens.W017",
            )
        )


def check_features(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    _alerts(errors)
    _geoip(errors)
    key = conf.raw("IMPERSONATOR_SESSION_KEY")
    if not isinstance(key, str):
        errors.append(
            Error(
                "SESSIONTOKENS_IMPERSONATOR_SESSION_KEY must be a string (the "
                f"session key an impersonation tool sets), not {key!r}.",
                hint='django-hijack\'s is "hijack_history"; "" turns recording off.',
                id="sessiontokens.E043",
            )
        )
    return errors
