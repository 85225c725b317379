"""Exceptions. Django's ``CreateError``/``UpdateError`` keep their meaning."""

from __future__ import annotations

import logging

from django.contrib.sessions.backends.base import CreateError, UpdateError
from django.core.exceptions import PermissionDenied
from django.db import InterfaceError, OperationalError

__all__ = [
    "DATABASE_ERRORS",
    "CreateError",
    "ReauthenticationRequired",
    "StaleCopy",
    "StoreUnavailable",
    "UpdateError",
]

#: What a database that does not answer raises (refused or lost connection,
#: a server shutting down or starting up, a lock wait that gave up).
DATABASE_ERRORS = (OperationalError, InterfaceError)


class StaleCopy(UpdateError):
    """A write computed from a cached copy older than the database's state
    (cached_db engine): refused, so no acknowledged write is lost."""


class StoreUnavailable(Exception):
    """Session storage (Redis) could not be reached. Never carries a token."""

    def __init__(self, message: str, *, alias: str = "", address: str = "") -> None:
        super().__init__(message)
        self.alias = alias
        self.address = address

    @classmethod
    def from_database(cls, exc: BaseException) -> StoreUnavailable:
        """A database error on a session path, reported as an unreachable
        Redis is (the alias and address of the session table's database;
        never credentials)."""
        from django.db import connections, router

        from django_sessiontokens.models import Session

        alias = router.db_for_write(Session) or "default"
        try:
            params = connections[alias].settings_dict
        except Exception:  # only for the message
            params = {}
        host, port = params.get("HOST") or "", params.get("PORT") or ""
        where = f"{host}:{port}" if host else str(params.get("NAME") or "")
        message = " ".join(str(exc).split()) or type(exc).__name__
        failed = cls(f"Database did not answer: {message}", alias=alias, address=where)
        failed.__cause__ = exc
        return failed

    def log(self) -> None:
        """One line per failure, without a traceback and without a token."""
        from django_sessiontokens import metrics

        metrics.store_error(self.alias)
        logging.getLogger("django_sessiontokens").error(
            "Session storage unavailable (%s at %s): %s",
            self.alias or "?",
            self.address or "?",
            self,
            extra={"alias": self.alias, "address": self.address},
        )


class ReauthenticationRequired(PermissionDenied):
    """Ending other sessions needs a sign-in within
    ``SESSIONTOKENS_REAUTH_TO_END_SESSIONS``: the page asks for the password
    again, the JSON API answers 403 with ``"code": CODE``."""

    CODE = "reauthentication_required"

    def __init__(self, max_age: float) -> None:
        super().__init__("Confirm your password to end other sessions.")
        self.max_age = max_age
