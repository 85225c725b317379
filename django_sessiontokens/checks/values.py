"""Checks of the values of the ``SESSIONTOKENS_*`` settings: types, ranges
and the relations between them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.checks import Error

from django_sessiontokens.checks.setup import _check_redis_client
from django_sessiontokens.conf import conf, seconds
from django_sessiontokens.defaults import (
    BINDING_CHOICES,
    LIMIT_POLICIES,
    PROFILES,
    RECORD_IP_CHOICES,
    USER_AGENT_COLUMN_LENGTH,
)

#: Duration settings checked by E004 besides the three above: (name, may
#: be None). ROTATION_GRACE (which may be 0) is E014's.
DURATIONS = (
    ("ROTATE_INTERVAL", True),
    ("INVALID_TOKEN_WINDOW", False),
    ("CACHE_TIMEOUT", True),
    ("AUDIT_RETENTION", True),
    ("CHANNELS_CHECK_INTERVAL", False),
)
#: Settings that must be True or False (E017).
FLAGS = (
    "INVALID_TOKEN_BLOCK",
    "CLEAR_SITE_DATA_ON_LOGOUT",
    "AUDIT",
    "PURGE_SEND_SIGNALS",
    "ACCEPT_IMPORTED",
    "DBSC",
)
#: What a Redis key prefix may not hold (it is part of every key, and the
#: key layout uses "{...}" for hash tags and glob patterns to scan).
PREFIX_FORBIDDEN = set("{}*?[] \\") | {chr(n) for n in range(32)} | {"\x7f"}


def _raw_seconds(name: str) -> Any:
    """The setting as ``conf`` reads it, or ``"invalid"``."""
    try:
        return seconds(conf.raw(name))
    except (TypeError, ValueError):
        return "invalid"


def _seconds(name: str, *, allow_none: bool) -> tuple[float | None, list[Error]]:
    value = _raw_seconds(name)
    if value is None and allow_none:
        return None, []
    if not isinstance(value, float) or value <= 0:
        return None, [
            Error(
                f"SESSIONTOKENS_{name} must be a positive number of seconds or a "
                f"timedelta, not {conf.raw(name)!r}.",
                hint=f"For example SESSIONTOKENS_{name} = timedelta(minutes=30)"
                + (" or None for no limit." if allow_none else "."),
                id="sessiontokens.E004",
            )
        ]
    return value, []


def check_timeouts(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[Error]:
    idle, errors = _seconds("IDLE_TIMEOUT", allow_none=True)
    absolute, more = _seconds("ABSOLUTE_TIMEOUT", allow_none=True)
    errors += more
    touch, more = _seconds("TOUCH_INTERVAL", allow_none=False)
    errors += more
    for name, allow_none in DURATIONS:
        errors += _seconds(name, allow_none=allow_none)[1]
    if errors:
        return errors
    if idle is not None and absolute is not None and idle > absolute:
        errors.append(
            Error(
                "SESSIONTOKENS_IDLE_TIMEOUT is longer than "
                "SESSIONTOKENS_ABSOLUTE_TIMEOUT.",
                hint="The idle limit can never be reached; make it shorter than "
                "the absolute limit.",
                id="sessiontokens.E005",
            )
        )
    if idle is not None and touch is not None and touch >= idle:
        errors.append(
            Error(
                "SESSIONTOKENS_TOUCH_INTERVAL is not shorter than "
                "SESSIONTOKENS_IDLE_TIMEOUT.",
                hint="Active users would be signed out; use a touch interval of "
                "a small fraction of the idle timeout (the default is 60 s).",
                id="sessiontokens.E006",
            )
        )
    return errors


def check_choices(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[Error]:
    errors = []
    if conf.raw("RECORD_IP") not in RECORD_IP_CHOICES:
        errors.append(
            Error(
                f"SESSIONTOKENS_RECORD_IP is {conf.raw('RECORD_IP')!r}.",
                hint="Use 'full', 'truncated' (/24 for IPv4, /48 for IPv6) or 'none'.",
                id="sessiontokens.E007",
            )
        )
    length = conf.raw("USER_AGENT_MAX_LENGTH")
    if (
        not isinstance(length, int)
        or isinstance(length, bool)
        or not 0 <= length <= USER_AGENT_COLUMN_LENGTH
    ):
        errors.append(
            Error(
                f"SESSIONTOKENS_USER_AGENT_MAX_LENGTH is {length!r}.",
                hint=f"Use a whole number from 0 (do not record) to "
                f"{USER_AGENT_COLUMN_LENGTH}.",
                id="sessiontokens.E008",
            )
        )
    for name in ("ON_IP_CHANGE", "ON_UA_CHANGE"):
        if conf.raw(name) not in BINDING_CHOICES:
            errors.append(
                Error(
                    f"SESSIONTOKENS_{name} is {conf.raw(name)!r}.",
                    hint="Use one of: " + ", ".join(repr(c) for c in BINDING_CHOICES),
                    id="sessiontokens.E009",
                )
            )
    if conf.raw("LIMIT_POLICY") not in LIMIT_POLICIES:
        errors.append(
            Error(
                f"SESSIONTOKENS_LIMIT_POLICY is {conf.raw('LIMIT_POLICY')!r}.",
                hint="Use 'evict_oldest' or 'refuse'.",
                id="sessiontokens.E010",
            )
        )
    profile = conf.raw("PROFILE")
    if profile is not None and profile not in PROFILES:
        errors.append(
            Error(
                f"SESSIONTOKENS_PROFILE is {profile!r}.",
                hint="Use None or one of: " + ", ".join(repr(p) for p in PROFILES),
                id="sessiontokens.E011",
            )
        )
    return errors


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def check_lifecycle(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[Error]:
    errors = []
    limit = conf.raw("MAX_SESSIONS_PER_USER")
    if limit is not None and not _positive_int(limit):
        errors.append(
            Error(
                f"SESSIONTOKENS_MAX_SESSIONS_PER_USER is {limit!r}.",
                hint="Use None (no limit) or a whole number of sessions, at least 1.",
                id="sessiontokens.E016",
            )
        )
    grace, interval = _raw_seconds("ROTATION_GRACE"), _raw_seconds("ROTATE_INTERVAL")
    if not isinstance(interval, float) or interval <= 0:
        interval = None  # E004's
    if (
        not isinstance(grace, float)
        or grace < 0
        or (interval is not None and grace >= interval)
    ):
        errors.append(
            Error(
                f"SESSIONTOKENS_ROTATION_GRACE is {conf.raw('ROTATION_GRACE')!r} "
                f"with ROTATE_INTERVAL {conf.raw('ROTATE_INTERVAL')!r}.",
                hint="Use a few seconds to a minute (the default is 30), and "
                "less than the rotation interval.",
                id="sessiontokens.E014",
            )
        )
    guesses = conf.raw("INVALID_TOKEN_LIMIT")
    if guesses is not None and not _positive_int(guesses):
        errors.append(
            Error(
                f"SESSIONTOKENS_INVALID_TOKEN_LIMIT is {guesses!r}.",
                hint="Use None (no detection) or a whole number of invalid "
                "tokens per window, e.g. 20.",
                id="sessiontokens.E015",
            )
        )
    return errors


#: Longest cache check interval accepted: it bounds how long a process may
#: serve an ended session from a cache Redis missed a change of.
MAX_CACHE_CHECK_INTERVAL = 60.0


def check_cache_check_interval(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[Error]:
    value = _raw_seconds("CACHE_CHECK_INTERVAL")
    if isinstance(value, float) and 0 <= value <= MAX_CACHE_CHECK_INTERVAL:
        return []
    return [
        Error(
            "SESSIONTOKENS_CACHE_CHECK_INTERVAL must be a number of seconds "
            f"(or a timedelta) from 0 to {MAX_CACHE_CHECK_INTERVAL:g}, not "
            f"{conf.raw('CACHE_CHECK_INTERVAL')!r}.",
            hint="It bounds how long a process may serve a session ended while "
            "Redis was unreachable; the default is 2 seconds.",
            id="sessiontokens.E023",
        )
    ]


def check_values(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[Error]:
    """Types and ranges of the settings no other check covers."""
    errors = []
    for name in FLAGS:
        if not isinstance(conf.raw(name), bool):
            errors.append(
                Error(
                    f"SESSIONTOKENS_{name} is {conf.raw(name)!r}.",
                    hint=f"Set SESSIONTOKENS_{name} to True or False.",
                    id="sessiontokens.E017",
                )
            )
    batch = conf.raw("PURGE_BATCH_SIZE")
    if batch is not None and not _positive_int(batch):
        errors.append(
            Error(
                f"SESSIONTOKENS_PURGE_BATCH_SIZE is {batch!r}.",
                hint="Use None (the store chooses) or a whole number of rows, "
                "e.g. 10000.",
                id="sessiontokens.E018",
            )
        )
    proxies = conf.raw("TRUSTED_PROXIES")
    if not isinstance(proxies, int) or isinstance(proxies, bool) or proxies < 0:
        errors.append(
            Error(
                f"SESSIONTOKENS_TRUSTED_PROXIES is {proxies!r}.",
                hint="Use 0 (REMOTE_ADDR only) or how many proxies in front of "
                "Django append to X-Forwarded-For.",
                id="sessiontokens.E019",
            )
        )
    prefix = conf.raw("REDIS_KEY_PREFIX")
    if not isinstance(prefix, str) or not prefix or set(prefix) & PREFIX_FORBIDDEN:
        errors.append(
            Error(
                f"SESSIONTOKENS_REDIS_KEY_PREFIX is {prefix!r}.",
                hint="Use a short name of letters, digits, ':', '-', '_' or '.', "
                "e.g. 'sessiontokens' ('{' and '}' would break the Cluster hash "
                "tags, glob characters the purge).",
                id="sessiontokens.E020",
            )
        )
    errors += _check_redis_client()
    return errors
