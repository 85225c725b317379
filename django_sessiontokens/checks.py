"""System checks. Ids are permanent; each message has a hint.

========  ================================================================
E001      SessionTokenMiddleware is not in MIDDLEWARE
E002      Django's SessionMiddleware is still in MIDDLEWARE
E003      SESSION_ENGINE is not one of this app's engines
E004      a timeout setting is not a positive number of seconds/timedelta
E005      SESSIONTOKENS_IDLE_TIMEOUT is longer than ABSOLUTE_TIMEOUT
E006      SESSIONTOKENS_TOUCH_INTERVAL is not shorter than IDLE_TIMEOUT
E007      SESSIONTOKENS_RECORD_IP is not "full", "truncated" or "none"
E008      SESSIONTOKENS_USER_AGENT_MAX_LENGTH is out of range
E009      SESSIONTOKENS_ON_IP_CHANGE / ON_UA_CHANGE has an unknown value
E010      SESSIONTOKENS_LIMIT_POLICY has an unknown value, or
          MAX_SESSIONS_PER_USER is not a positive whole number
E011      SESSIONTOKENS_PROFILE names no known profile
E012      a "__Host-" cookie name with a domain, a path other than "/" or
          an insecure cookie
E013      the Redis cache alias is missing or is not django-redis
E014      SESSIONTOKENS_ROTATION_GRACE is negative or not shorter than
          ROTATE_INTERVAL
E015      SESSIONTOKENS_INVALID_TOKEN_LIMIT is not a positive whole number
E016      SESSIONTOKENS_CACHE_CHECK_INTERVAL is not a number of seconds (or a
          timedelta) from 0 to 60
W001      (deploy) SESSION_COOKIE_SECURE is False
W002      (deploy) SESSION_COOKIE_HTTPONLY is False
W003      (deploy) SESSION_COOKIE_SAMESITE is None
========  ================================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning
from django.core.checks import register as register_check
from django.utils.module_loading import import_string

from django_sessiontokens.conf import (
    BINDING_CHOICES,
    LIMIT_POLICIES,
    PROFILES,
    RECORD_IP_CHOICES,
    USER_AGENT_COLUMN_LENGTH,
    conf,
)

ENGINES = (
    "django_sessiontokens.backends.db",
    "django_sessiontokens.backends.redis",
    "django_sessiontokens.backends.cached_db",
)
MIDDLEWARE_PATH = "django_sessiontokens.middleware.SessionTokenMiddleware"
DJANGO_MIDDLEWARE = "django.contrib.sessions.middleware.SessionMiddleware"


def _is_ours(path: str) -> bool:
    from django_sessiontokens.middleware import SessionTokenMiddleware

    try:
        cls = import_string(path)
    except ImportError:
        return False
    return isinstance(cls, type) and issubclass(cls, SessionTokenMiddleware)


def check_middleware(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[Error]:
    middleware = list(getattr(settings, "MIDDLEWARE", None) or [])
    errors = []
    if not any(_is_ours(path) for path in middleware):
        errors.append(
            Error(
                "SessionTokenMiddleware is not installed.",
                hint=f"Add '{MIDDLEWARE_PATH}' to MIDDLEWARE where Django's "
                "SessionMiddleware was (before AuthenticationMiddleware).",
                id="sessiontokens.E001",
            )
        )
    if DJANGO_MIDDLEWARE in middleware:
        errors.append(
            Error(
                "Django's SessionMiddleware is still installed.",
                hint=f"Replace '{DJANGO_MIDDLEWARE}' with '{MIDDLEWARE_PATH}'; "
                "both would read the same cookie.",
                id="sessiontokens.E002",
            )
        )
    return errors


def check_engine(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[Error]:
    engine = settings.SESSION_ENGINE
    if engine in ENGINES:
        return []
    return [
        Error(
            f"SESSION_ENGINE is {engine!r}, not a django-sessiontokens engine.",
            hint="Set SESSION_ENGINE to one of: " + ", ".join(repr(e) for e in ENGINES),
            id="sessiontokens.E003",
        )
    ]


def _seconds(name: str, *, allow_none: bool) -> tuple[float | None, list[Error]]:
    try:
        value = getattr(conf, name)
    except (TypeError, ValueError):
        value = "invalid"
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


#: Longest cache check interval accepted: it bounds how long a process may
#: serve an ended session from a cache Redis missed a change of.
MAX_CACHE_CHECK_INTERVAL = 60.0


def check_cache_check_interval(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[Error]:
    try:
        value: Any = conf.CACHE_CHECK_INTERVAL
    except (TypeError, ValueError):
        value = None
    if conf.raw("CACHE_CHECK_INTERVAL") is None:
        value = None
    if value is not None and 0 <= value <= MAX_CACHE_CHECK_INTERVAL:
        return []
    return [
        Error(
            "SESSIONTOKENS_CACHE_CHECK_INTERVAL must be a number of seconds "
            f"(or a timedelta) from 0 to {MAX_CACHE_CHECK_INTERVAL:g}, not "
            f"{conf.raw('CACHE_CHECK_INTERVAL')!r}.",
            hint="It bounds how long a process may serve a session ended while "
            "Redis was unreachable; the default is 2 seconds.",
            id="sessiontokens.E016",
        )
    ]


def check_timeouts(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[Error]:
    idle, errors = _seconds("IDLE_TIMEOUT", allow_none=True)
    absolute, more = _seconds("ABSOLUTE_TIMEOUT", allow_none=True)
    errors += more
    touch, more = _seconds("TOUCH_INTERVAL", allow_none=False)
    errors += more
    for name in ("ROTATE_INTERVAL", "INVALID_TOKEN_WINDOW"):
        errors += _seconds(name, allow_none=True)[1]
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
                id="sessiontokens.E010",
            )
        )
    try:
        grace = conf.ROTATION_GRACE
        interval = conf.ROTATE_INTERVAL
    except TypeError:
        grace, interval = -1.0, None
    if grace < 0 or (interval is not None and grace >= interval):
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


def check_host_prefix(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[Error]:
    if not str(settings.SESSION_COOKIE_NAME).startswith("__Host-"):
        return []
    problems = []
    if settings.SESSION_COOKIE_DOMAIN:
        problems.append("SESSION_COOKIE_DOMAIN must be None")
    if settings.SESSION_COOKIE_PATH != "/":
        problems.append("SESSION_COOKIE_PATH must be '/'")
    if not settings.SESSION_COOKIE_SECURE:
        problems.append("SESSION_COOKIE_SECURE must be True")
    if not problems:
        return []
    return [
        Error(
            "A '__Host-' session cookie is rejected by browsers with this "
            "configuration.",
            hint="; ".join(problems) + ".",
            id="sessiontokens.E012",
        )
    ]


def check_redis(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[Error]:
    if settings.SESSION_ENGINE not in ENGINES[1:] or conf.REDIS_CLIENT:
        return []
    alias = conf.REDIS_CACHE
    caches = getattr(settings, "CACHES", {})
    backend = caches.get(alias, {}).get("BACKEND", "")
    if backend.startswith("django_redis."):
        return []
    return [
        Error(
            f"The Redis engines need the cache alias {alias!r} to be a "
            f"django-redis cache (found {backend or 'nothing'!r}).",
            hint="pip install 'django-sessiontokens[redis]' and add CACHES["
            f"{alias!r}] = {{'BACKEND': 'django_redis.cache.RedisCache', "
            "'LOCATION': 'redis://...'}, or set SESSIONTOKENS_REDIS_CACHE to "
            "another alias, or SESSIONTOKENS_REDIS_CLIENT to a callable.",
            id="sessiontokens.E013",
        )
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
    return warnings


ALL_CHECKS = (
    check_middleware,
    check_engine,
    check_timeouts,
    check_choices,
    check_host_prefix,
    check_redis,
    check_cache_check_interval,
    check_lifecycle,
)


def register() -> None:
    for check in ALL_CHECKS:
        register_check(check, Tags.security)
    register_check(check_deploy, Tags.security, deploy=True)
