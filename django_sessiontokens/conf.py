"""Typed settings, read live from ``django.conf.settings`` on every access.

Every name is ``SESSIONTOKENS_<NAME>``. An explicit setting always wins over
the preset chosen by ``SESSIONTOKENS_PROFILE``, which wins over the default.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, Generic, TypeVar, overload

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

from django_sessiontokens.defaults import DEFAULTS, PROFILES

PREFIX = "SESSIONTOKENS_"


def seconds(value: Any) -> float | None:
    """Seconds from an int, a float, a ``timedelta`` or ``None``."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"expected seconds or a timedelta, got {value!r}")
    return float(value)


T = TypeVar("T")


class live(Generic[T]):
    """A setting property. Its value is kept until Django's
    ``setting_changed`` signal (sent by ``override_settings`` and the test
    ``settings`` fixture), so settings stay live at no cost per request."""

    def __init__(self, func: Callable[[Any], T]) -> None:
        self.func = func
        self.name = func.__name__
        self.__doc__ = func.__doc__

    @overload
    def __get__(self, obj: None, owner: type) -> live[T]: ...

    @overload
    def __get__(self, obj: Settings, owner: type) -> T: ...

    def __get__(self, obj: Settings | None, owner: type) -> live[T] | T:
        if obj is None:
            return self
        values = obj._values
        try:
            return values[self.name]  # type: ignore[no-any-return]
        except KeyError:
            try:
                value = values[self.name] = self.func(obj)
            except (TypeError, ValueError) as exc:
                # A runtime error about a setting names it (and its check).
                name = PREFIX + self.name if self.name in DEFAULTS else self.name
                raise ImproperlyConfigured(
                    f"{name} is not valid ({exc}); run 'manage.py check' for a hint."
                ) from exc
            return value


class Settings:
    """One property per setting, read from ``django.conf.settings``; values
    are forgotten whenever any setting changes, so ``override_settings``
    works everywhere."""

    def __init__(self) -> None:
        self._values: dict[str, Any] = {}

    def clear(self, **kwargs: Any) -> None:
        self._values.clear()

    def raw(self, name: str) -> Any:
        full = PREFIX + name
        if hasattr(django_settings, full):
            return getattr(django_settings, full)
        profile = getattr(django_settings, PREFIX + "PROFILE", None)
        if profile in PROFILES and name in PROFILES[profile]:
            return PROFILES[profile][name]
        return DEFAULTS[name]

    def is_explicit(self, name: str) -> bool:
        return hasattr(django_settings, PREFIX + name)

    # Expiry -----------------------------------------------------------------
    @live
    def IDLE_TIMEOUT(self) -> float | None:
        return seconds(self.raw("IDLE_TIMEOUT"))

    @live
    def ABSOLUTE_TIMEOUT(self) -> float | None:
        return seconds(self.raw("ABSOLUTE_TIMEOUT"))

    @live
    def REMEMBERED_IDLE_TIMEOUT(self) -> float | None:
        """Remembered sessions: inactivity limit (``None``: none)."""
        return seconds(self.raw("REMEMBERED_IDLE_TIMEOUT"))

    @live
    def REMEMBERED_ABSOLUTE_TIMEOUT(self) -> float | None:
        """Remembered sessions: overall limit since sign-in."""
        return seconds(self.raw("REMEMBERED_ABSOLUTE_TIMEOUT"))

    @live
    def REAUTH_TO_END_SESSIONS(self) -> float | None:
        """Ending other sessions needs a sign-in this recent (``None``: any)."""
        return seconds(self.raw("REAUTH_TO_END_SESSIONS"))

    @live
    def TOUCH_INTERVAL(self) -> float:
        return seconds(self.raw("TOUCH_INTERVAL")) or 0.0

    @live
    def ANONYMOUS_TIMEOUT(self) -> float:
        return float(django_settings.SESSION_COOKIE_AGE)

    # Privacy ----------------------------------------------------------------
    @live
    def RECORD_IP(self) -> str:
        return str(self.raw("RECORD_IP"))

    @live
    def USER_AGENT_MAX_LENGTH(self) -> int:
        return int(self.raw("USER_AGENT_MAX_LENGTH") or 0)

    # Redis ------------------------------------------------------------------
    @live
    def REDIS_CACHE(self) -> str:
        return str(self.raw("REDIS_CACHE"))

    @live
    def REDIS_CLIENT(self) -> Any:
        return self.raw("REDIS_CLIENT")

    @live
    def REDIS_KEY_PREFIX(self) -> str:
        return str(self.raw("REDIS_KEY_PREFIX"))

    @live
    def CACHE_TIMEOUT(self) -> float | None:
        return seconds(self.raw("CACHE_TIMEOUT"))

    @live
    def CACHE_CHECK_INTERVAL(self) -> float:
        """cached_db: how often each process re-reads the cache generation
        (and Redis's run_id); the bound on serving an ended session or a
        stale copy when Redis missed a change."""
        return seconds(self.raw("CACHE_CHECK_INTERVAL")) or 0.0

    @live
    def CHANNELS_CHECK_INTERVAL(self) -> float:
        """Channels: how often an open websocket re-checks its session."""
        return seconds(self.raw("CHANNELS_CHECK_INTERVAL")) or 0.0

    # Rotation and binding ---------------------------------------------------
    @live
    def ROTATE_INTERVAL(self) -> float | None:
        return seconds(self.raw("ROTATE_INTERVAL"))

    @live
    def ROTATION_GRACE(self) -> float:
        return seconds(self.raw("ROTATION_GRACE")) or 0.0

    @live
    def MAX_SESSIONS_PER_USER(self) -> int | None:
        value = self.raw("MAX_SESSIONS_PER_USER")
        return None if value is None else int(value)

    @live
    def LIMIT_POLICY(self) -> str:
        return str(self.raw("LIMIT_POLICY"))

    @live
    def ON_IP_CHANGE(self) -> str:
        return str(self.raw("ON_IP_CHANGE"))

    @live
    def ON_UA_CHANGE(self) -> str:
        return str(self.raw("ON_UA_CHANGE"))

    @live
    def TRUSTED_PROXIES(self) -> int:
        return int(self.raw("TRUSTED_PROXIES") or 0)

    @live
    def INVALID_TOKEN_LIMIT(self) -> int | None:
        value = self.raw("INVALID_TOKEN_LIMIT")
        return None if value is None else int(value)

    @live
    def INVALID_TOKEN_WINDOW(self) -> float:
        return seconds(self.raw("INVALID_TOKEN_WINDOW")) or 0.0

    @live
    def INVALID_TOKEN_BLOCK(self) -> bool:
        return bool(self.raw("INVALID_TOKEN_BLOCK"))

    @live
    def CLEAR_SITE_DATA_ON_LOGOUT(self) -> bool:
        return bool(self.raw("CLEAR_SITE_DATA_ON_LOGOUT"))

    # Audit and operations ---------------------------------------------------
    @live
    def AUDIT(self) -> bool:
        return bool(self.raw("AUDIT"))

    @live
    def AUDIT_RETENTION(self) -> float | None:
        return seconds(self.raw("AUDIT_RETENTION"))

    @live
    def PURGE_SEND_SIGNALS(self) -> bool:
        return bool(self.raw("PURGE_SEND_SIGNALS"))

    @live
    def PURGE_BATCH_SIZE(self) -> int | None:
        """``None``: the store's own default (chosen by measurement)."""
        value = self.raw("PURGE_BATCH_SIZE")
        return None if value is None else int(value)

    @live
    def ACCEPT_IMPORTED(self) -> bool:
        return bool(self.raw("ACCEPT_IMPORTED"))

    @live
    def PROFILE(self) -> str | None:
        value = self.raw("PROFILE")
        return None if value is None else str(value)

    # Alerts, location, impersonation ----------------------------------------
    @live
    def NEW_DEVICE_ALERT(self) -> bool | str:
        """``False``, ``True`` (email and signal) or ``"signal"`` (only)."""
        value = self.raw("NEW_DEVICE_ALERT")
        return "signal" if value == "signal" else value is True

    @live
    def NEW_DEVICE_WINDOW(self) -> float:
        return seconds(self.raw("NEW_DEVICE_WINDOW")) or 0.0

    @live
    def GEOIP(self) -> str | None:
        """The MaxMind database (a file or a folder); Django's ``GEOIP_PATH``
        when unset."""
        value = self.raw("GEOIP")
        if value is None and not self.is_explicit("GEOIP"):
            value = getattr(django_settings, "GEOIP_PATH", None)
        return None if value in (None, "") else str(value)

    @live
    def IMPERSONATOR_SESSION_KEY(self) -> str:
        return str(self.raw("IMPERSONATOR_SESSION_KEY") or "")

    # Device-bound sessions (DBSC) -------------------------------------------
    @live
    def DBSC(self) -> bool:
        return bool(self.raw("DBSC"))

    @live
    def DBSC_ORIGIN(self) -> str:
        """The ``scope.origin`` sent to browsers (never taken from ``Host``)."""
        return str(self.raw("DBSC_ORIGIN") or "").rstrip("/")

    @live
    def DBSC_COOKIE_NAME(self) -> str:
        return str(self.raw("DBSC_COOKIE_NAME"))

    @live
    def DBSC_COOKIE_AGE(self) -> int:
        return int(seconds(self.raw("DBSC_COOKIE_AGE")) or 0)

    @live
    def DBSC_CHALLENGE_AGE(self) -> float:
        return seconds(self.raw("DBSC_CHALLENGE_AGE")) or 0.0

    @live
    def DBSC_EXCLUDE(self) -> tuple[str, ...]:
        return tuple(str(path) for path in self.raw("DBSC_EXCLUDE") or ())

    @live
    def DBSC_ON_SKIPPED(self) -> str:
        return str(self.raw("DBSC_ON_SKIPPED"))

    @live
    def DBSC_ON_ANOMALY(self) -> str:
        return str(self.raw("DBSC_ON_ANOMALY"))


conf = Settings()
setting_changed.connect(conf.clear, dispatch_uid="django_sessiontokens.conf")
