"""Pure rules about time: no I/O, no clock.

Every rule takes ``now`` and the numbers it needs, so the rules are tested in
isolation and every engine applies them identically. ``current_limits`` and
``cutoffs`` read today's settings (``conf``, read live) so that a load, a
listing, a count, the concurrent-session limit and the purge all decide
"alive" with the same function:

* ``ends_at(record)``: when a stored session ends *now*: the earlier of the
  end stored at its last write (``expires_at``: its custom ``set_expiry`` and
  the limits of that time) and the end under today's idle and absolute
  limits. Lowering a limit therefore applies to existing sessions at once;
  raising one applies from each session's next write (a session is never
  revived by a setting);
* ``Cutoffs``: the same rule as bounds a store can look up by index or by
  score, without reading every session.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django_sessiontokens.types import SessionRecord


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


# Today's settings ------------------------------------------------------------
#: ``Limits`` by (signed in, idle, absolute, anonymous) settings.
_LIMITS: dict[tuple[bool, Any, Any, Any], Limits] = {}


def current_limits(authenticated: bool) -> Limits:
    """The limits in force now for a signed-in or an anonymous session."""
    from django_sessiontokens.conf import conf

    key = (
        authenticated,
        conf.IDLE_TIMEOUT,
        conf.ABSOLUTE_TIMEOUT,
        conf.ANONYMOUS_TIMEOUT,
    )
    found = _LIMITS.get(key)
    if found is None:
        found = _LIMITS[key] = limits(
            authenticated=authenticated, idle=key[1], absolute=key[2], anonymous=key[3]
        )
    return found


def end_of(
    *,
    user_id: str | None,
    last_activity: datetime,
    authenticated_at: datetime | None,
    created_at: datetime,
    custom: Any = None,
) -> datetime:
    """When a session with these values ends under today's limits."""
    return expires_at(
        limits=current_limits(user_id is not None),
        last_activity=last_activity,
        authenticated_at=authenticated_at,
        created_at=created_at,
        custom=custom,
    )


def ends_at(record: SessionRecord) -> datetime:
    """When a stored session ends now (see the module docstring)."""
    today = end_of(
        user_id=record.user_id,
        last_activity=record.last_activity,
        authenticated_at=record.authenticated_at,
        created_at=record.created_at,
    )
    return min(today, record.expires_at)


def is_alive(record: SessionRecord, now: datetime) -> bool:
    """The one answer to "is this stored session alive now?"."""
    return not record.moving and now < ends_at(record)


@dataclass(frozen=True)
class Cutoffs:
    """``is_alive`` as bounds. A stored session is expired at ``now`` when
    any of these holds:

    * ``expires_at <= now``;
    * signed in and ``last_activity <= idle`` (when ``idle`` is set);
    * signed in and ``authenticated_at <= absolute``, or never authenticated
      and ``created_at <= absolute`` (when ``absolute`` is set);
    * anonymous and ``last_activity <= anonymous``.

    Stores translate each bound into an index range (database) or a score
    range (Redis)."""

    now: datetime
    idle: datetime | None
    absolute: datetime | None
    anonymous: datetime | None

    def expired(self, record: SessionRecord) -> bool:
        """The bounds applied to one record (equal to ``not is_alive``)."""
        if record.expires_at <= self.now:
            return True
        if record.user_id is None:
            return self.anonymous is not None and record.last_activity <= self.anonymous
        if self.idle is not None and record.last_activity <= self.idle:
            return True
        if self.absolute is not None:
            start = record.authenticated_at or record.created_at
            return start <= self.absolute
        return False


def cutoffs(now: datetime) -> Cutoffs:
    """Today's limits as bounds at ``now``."""
    signed_in, anonymous = current_limits(True), current_limits(False)

    def before(seconds: float | None) -> datetime | None:
        return None if seconds is None else now - timedelta(seconds=seconds)

    return Cutoffs(
        now=now,
        idle=before(signed_in.idle),
        absolute=before(signed_in.absolute),
        anonymous=before(anonymous.idle),
    )
