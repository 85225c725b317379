"""Pure rules about time: no I/O, no settings access, no clock.

Every function takes ``now`` and the numbers it needs, so the rules are tested
in isolation and every engine applies them identically.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class Limits:
    """``idle``/``absolute`` in seconds; ``None`` means no such limit."""

    idle: float | None
    absolute: float | None


def limits(
    *,
    authenticated: bool,
    idle: float | None,
    absolute: float | None,
    anonymous: float,
) -> Limits:
    """Signed-in sessions follow the idle/absolute settings; anonymous ones
    expire ``SESSION_COOKIE_AGE`` after their last activity."""
    if authenticated:
        return Limits(idle=idle, absolute=absolute)
    return Limits(idle=anonymous, absolute=None)


def custom_expiry(value: Any) -> tuple[float | None, datetime | None]:
    """Read Django's ``_session_expiry`` (``set_expiry``): an int is an idle
    limit in seconds (0 means "browser close", no server-side change), an ISO
    string or datetime is a fixed end."""
    if value is None or value == 0:
        return None, None
    if isinstance(value, bool):
        return None, None
    if isinstance(value, (int, float)):
        return float(value), None
    if isinstance(value, datetime):
        return None, value
    if isinstance(value, str):
        try:
            return None, datetime.fromisoformat(value)
        except ValueError:
            return None, None
    return None, None


def expires_at(
    *,
    limits: Limits,
    last_activity: datetime,
    authenticated_at: datetime | None,
    created_at: datetime,
    custom: Any = None,
) -> datetime:
    """When the session ends: the first of idle, absolute and a custom
    ``set_expiry``. A custom expiry can only shorten the session."""
    candidates: list[datetime] = []
    custom_idle, custom_end = custom_expiry(custom)
    idle = limits.idle
    if custom_idle is not None:
        idle = custom_idle if idle is None else min(idle, custom_idle)
    if idle is not None:
        candidates.append(last_activity + timedelta(seconds=idle))
    if limits.absolute is not None:
        start = authenticated_at or created_at
        candidates.append(start + timedelta(seconds=limits.absolute))
    if custom_end is not None:
        if custom_end.tzinfo is None and last_activity.tzinfo is not None:
            custom_end = custom_end.replace(tzinfo=last_activity.tzinfo)
        candidates.append(custom_end)
    if not candidates:
        # No limit at all: keep a far but finite end so storage can index it.
        return last_activity + timedelta(days=3650)
    return min(candidates)


def is_expired(now: datetime, end: datetime) -> bool:
    return now >= end


def needs_touch(now: datetime, last_activity: datetime, interval: float) -> bool:
    """Last activity is written at most once per ``interval`` seconds."""
    return (now - last_activity).total_seconds() >= interval


def needs_rotation(
    now: datetime, last_rotation: datetime, interval: float | None
) -> bool:
    """Periodic rotation: a token older than ``interval`` is replaced."""
    if not interval:
        return False
    return (now - last_rotation).total_seconds() >= interval


def in_grace(now: datetime, rotated_at: datetime | None, grace: float) -> bool:
    """Is the immediately previous token still honoured?"""
    if rotated_at is None:
        return False
    return (now - rotated_at).total_seconds() < grace


def remaining(now: datetime, end: datetime) -> int:
    """Whole seconds left, never negative (for cookie Max-Age and TTLs)."""
    return max(0, int((end - now).total_seconds()))
