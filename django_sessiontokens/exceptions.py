"""Exceptions. Django's ``CreateError``/``UpdateError`` keep their meaning."""

from __future__ import annotations

from django.contrib.sessions.backends.base import CreateError, UpdateError
from django.core.exceptions import SuspiciousOperation

__all__ = [
    "CreateError",
    "InvalidSessionToken",
    "SessionLimitReached",
    "SessionTokenReuse",
    "StoreUnavailable",
    "UpdateError",
]


class InvalidSessionToken(SuspiciousOperation):
    """A cookie that names a session but does not carry its secret."""


class SessionTokenReuse(SuspiciousOperation):
    """A rotated-away token presented after its grace window (likely theft)."""


class StoreUnavailable(Exception):
    """Session storage (Redis) could not be reached. Never carries a token."""

    def __init__(self, message: str, *, alias: str = "", address: str = "") -> None:
        super().__init__(message)
        self.alias = alias
        self.address = address


class SessionLimitReached(Exception):
    """Login refused: the user already has the maximum number of sessions."""
