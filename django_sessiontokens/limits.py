"""``django_sessiontokens.limits``: the documented home of the
concurrent-session limit's form mixin and exception (``services.limits``)."""

from __future__ import annotations

from django_sessiontokens.services.limits import (
    SessionLimitFormMixin,
    SessionLimitReached,
)

__all__ = ["SessionLimitFormMixin", "SessionLimitReached"]
