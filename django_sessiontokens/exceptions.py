"""Exceptions. Django's ``CreateError``/``UpdateError`` keep their meaning."""

from __future__ import annotations

import logging

from django.contrib.sessions.backends.base import CreateError, UpdateError

__all__ = ["CreateError", "StaleCopy", "StoreUnavailable", "UpdateError"]


class StaleCopy(UpdateError):
    """A write computed from a cached copy older than the database's state
    (cached_db engine): refused, so no acknowledged write is lost."""


class StoreUnavailable(Exception):
    """Session storage (Redis) could not be reached. Never carries a token."""

    def __init__(self, message: str, *, alias: str = "", address: str = "") -> None:
        super().__init__(message)
        self.alias = alias
        self.address = address

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
