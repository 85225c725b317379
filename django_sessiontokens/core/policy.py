"""Pure rules about time: no I/O, no clock.

Every rule takes ``now`` and the numbers it needs, so the rules are tested in
isolation and every engine applies them identically. ``current_limits`` and
``cutoffs`` read today's settings (``conf``, read live) so that a load, a
listing, a count, the concurrent-session limit and the purge all decide
"alive" with the same function:

* ``ends_at(record)``: when a stored session ends *now*: the earlier of the
  end stored at its last write (``expires_at``: its custom ``set_expiry`` and
  the limits of that time) and the end under today's idle and absolute
  limits (a remembered session's own: "remember me"). Lowering a limit
  therefore applies to existing sessions at once; raising one applies from
  each session's next write (a session is never revived by a setting);
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
    remembered: bool = False,
    remembered_idle: float | None = None,
    remembered_absolute: float | None = None,
) -> Limits:
    """Signed-in sessions follow the idle/absolute settings, remembered ones
    ("keep me signed in") the remembered idle/absolute settings; anonymous
    ones expire ``SESSION_COOKIE_AGE`` after their last activity (an
    anonymous session is never remembered)."""
    if not authenticated:
        return Limits(idle=anonymous, absolute=None)
    if remembered:
        return Limits(idle=remembered_idle, absolute=remembered_absolute)
    return Limits(idle=idle, absolute=absolute)


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
#: ``Limits`` by (signed in, remembered, then the settings they read).
_LIMITS: dict[tuple[Any, ...], Limits] = {}


def current_limits(authenticated: bool, remembered: bool = False) -> Limits:
    """The limits in force now for a signed-in (remembered or not) or an
    anonymous session."""
    from django_sessiontokens.conf import conf

    key = (
        authenticated,
        remembered,
        conf.IDLE_TIMEOUT,
        conf.ABSOLUTE_TIMEOUT,
        conf.ANONYMOUS_TIMEOUT,
        conf.REMEMBERED_IDLE_TIMEOUT,
        conf.REMEMBERED_ABSOLUTE_TIMEOUT,
    )
    found = _LIMITS.get(key)
    if found is None:
        found = _LIMITS[key] = limits(
            authenticated=authenticated,
            remembered=remembered,
            idle=key[2],
            absolute=key[3],
            anonymous=key[4],
            remembered_idle=key[5],
            remembered_absolute=key[6],
        )
    return found


def end_of(
    *,
    user_id: str | None,
    remembered: bool = False,
    last_activity: datetime,
    authenticated_at: datetime | None,
    created_at: datetime,
    custom: Any = None,
) -> datetime:
    """When a session with these values ends under today's limits."""
    return expires_at(
        limits=current_limits(user_id is not None, remembered),
        last_activity=last_activity,
        authenticated_at=authenticated_at,
        created_at=created_at,
        custom=custom,
    )


def ends_at(record: SessionRecord) -> datetime:
    """When a stored session ends now (see the module docstring)."""
    today = end_of(
        user_id=record.user_id,
        remembered=record.remembered,
        last_activity=record.last_activity,
        authenticated_at=record.authenticated_at,
        created_at=record.created_at,
    )
    return min(today, record.expires_at)


def is_alive(record: SessionRecord, now: datetime) -> bool:
    """The one answer to "is this stored session alive now?"."""
    return ending(record, now)[1]


def ending(record: SessionRecord, now: datetime) -> tuple[datetime, bool]:
    """``(ends_at(record), is_alive(record, now))``, computed once."""
    end = ends_at(record)
    return end, not record.moving and now < end


@dataclass(frozen=True)
class Cutoffs:
    """``is_alive`` as bounds. A stored session is expired at ``now`` when
    any of these holds:

    * ``expires_at <= now``;
    * signed in, not remembered, and ``last_activity <= idle`` (when
      ``idle`` is set);
    * signed in, not remembered, and ``authenticated_at <= absolute``, or
      never authenticated and ``created_at <= absolute`` (when ``absolute``
      is set);
    * remembered, and the same with ``remembered_idle`` and
      ``remembered_absolute``;
    * anonymous and ``last_activity <= anonymous``.

    Stores translate each bound into an index range (database) or a score
    range (Redis); remembered and other signed-in sessions have indexes or
    sets of their own, so no bound walks the other kind."""

    now: datetime
    idle: datetime | None
    absolute: datetime | None
    anonymous: datetime | None
    remembered_idle: datetime | None = None
    remembered_absolute: datetime | None = None

    def bounds(self, remembered: bool) -> tuple[datetime | None, datetime | None]:
        """(idle, absolute) of signed-in sessions, remembered or not."""
        if remembered:
            return self.remembered_idle, self.remembered_absolute
        return self.idle, self.absolute

    def expired(self, record: SessionRecord) -> bool:
        """The bounds applied to one record (equal to ``not is_alive``)."""
        if record.expires_at <= self.now:
            return True
        if record.user_id is None:
            return self.anonymous is not None and record.last_activity <= self.anonymous
        idle, absolute = self.bounds(record.remembered)
        if idle is not None and record.last_activity <= idle:
            return True
        if absolute is not None:
            start = record.authenticated_at or record.created_at
            return start <= absolute
        return False


def cutoffs(now: datetime) -> Cutoffs:
    """Today's limits as bounds at ``now``."""
    signed_in, anonymous = current_limits(True), current_limits(False)
    remembered = current_limits(True, remembered=True)

    def before(seconds: float | None) -> datetime | None:
        return None if seconds is None else now - timedelta(seconds=seconds)

    return Cutoffs(
        now=now,
        idle=before(signed_in.idle),
        absolute=before(signed_in.absolute),
        anonymous=before(anonymous.idle),
        remembered_idle=before(remembered.idle),
        remembered_absolute=before(remembered.absolute),
    )
