"""Deploy checks (``manage.py check --deploy``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.checks import Warning


def _sqlite_without_immediate() -> list[str]:
    """Aliases of SQLite databases without ``transaction_mode = "IMMEDIATE"``
    (Django 5.1+; older versions have no such option)."""
    import django

    if django.VERSION < (5, 1):
        return []
    return [
        alias
        for alias, db in getattr(settings, "DATABASES", {}).items()
        if db.get("ENGINE") == "django.db.backends.sqlite3"
        and str(db.get("OPTIONS", {}).get("transaction_mode", "")).upper()
        != "IMMEDIATE"
    ]


def check_deploy(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[Warning]:
    warnings = []
    if not settings.SESSION_COOKIE_SECURE:
        warnings.append(
            Warning(
                "SESSION_COOKIE_SECURE is False: tokens may travel over plain HTTP.",
                hint="Set SESSION_COOKIE_SECURE = True behind HTTPS.",
                id="sessiontokens.W001",
            )
        )
    if not settings.SESSION_COOKIE_HTTPONLY:
        warnings.append(
            Warning(
                "SESSION_COOKIE_HTTPONLY is False: scripts can read session tokens.",
                hint="Set SESSION_COOKIE_HTTPONLY = True.",
                id="sessiontokens.W002",
            )
        )
    if settings.SESSION_COOKIE_SAMESITE in (None, "None", False):
        warnings.append(
            Warning(
                "SESSION_COOKIE_SAMESITE is None: the session cookie goes with "
                "cross-site requests.",
                hint="Set SESSION_COOKIE_SAMESITE = 'Lax' (or 'Strict').",
                id="sessiontokens.W003",
            )
        )
    for alias in _sqlite_without_immediate():
        warnings.append(
            Warning(
                f"DATABASES[{alias!r}] is SQLite without "
                '"transaction_mode": "IMMEDIATE": concurrent writes can fail '
                'with "database is locked".',
                hint=f'Add "OPTIONS": {{"transaction_mode": "IMMEDIATE"}} to '
                f"DATABASES[{alias!r}].",
                id="sessiontokens.W004",
            )
        )
    return warnings
