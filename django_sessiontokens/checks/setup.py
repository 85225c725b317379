"""Checks of how the app is wired in: middleware, engine, Redis alias and
client, cookie name prefixes, allauth's usersessions beside us."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.checks import Error, Warning
from django.utils.module_loading import import_string

from django_sessiontokens.conf import conf

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


#: Duration settings checked by E004 besides the three above: (name, may
#: be None). ROTATION_GRACE (which may be 0) is E014's.
def check_host_prefix(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[Error]:
    name = str(settings.SESSION_COOKIE_NAME)
    if not name.startswith("__Host-") or name.startswith("__Host-Http-"):
        return []  # "__Host-Http-" is E022's
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


def _check_redis_client() -> list[Error]:
    alias, client = conf.raw("REDIS_CACHE"), conf.raw("REDIS_CLIENT")
    problems = []
    if not isinstance(alias, str) or not alias:
        problems.append(f"SESSIONTOKENS_REDIS_CACHE is {alias!r}, not a cache alias")
    if isinstance(client, str):
        try:
            found = import_string(client)
        except ImportError:
            problems.append(f"SESSIONTOKENS_REDIS_CLIENT {client!r} cannot be imported")
        else:
            if not callable(found):
                problems.append(
                    f"SESSIONTOKENS_REDIS_CLIENT {client!r} is not a callable"
                )
    elif client is not None and not callable(client):
        problems.append(f"SESSIONTOKENS_REDIS_CLIENT is {client!r}, not a callable")
    return [
        Error(
            problem + ".",
            hint="SESSIONTOKENS_REDIS_CACHE names a CACHES alias (a string); "
            "SESSIONTOKENS_REDIS_CLIENT is None, a callable returning a redis-py "
            "client, or its dotted path.",
            id="sessiontokens.E021",
        )
        for problem in problems
    ]


def check_http_prefix(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[Error]:
    """``__Http-`` and ``__Host-Http-`` names (draft-ietf-httpbis-layered-
    cookies, Chrome 140+): the browser keeps them only from a secure, HttpOnly
    ``Set-Cookie``; ``__Host-Http-`` also needs no domain and the path "/"."""
    name = str(settings.SESSION_COOKIE_NAME)
    host = name.startswith("__Host-Http-")
    if not (host or name.startswith("__Http-")):
        return []
    problems = []
    if not settings.SESSION_COOKIE_SECURE:
        problems.append("SESSION_COOKIE_SECURE must be True")
    if not settings.SESSION_COOKIE_HTTPONLY:
        problems.append("SESSION_COOKIE_HTTPONLY must be True")
    if host and settings.SESSION_COOKIE_DOMAIN:
        problems.append("SESSION_COOKIE_DOMAIN must be None")
    if host and settings.SESSION_COOKIE_PATH != "/":
        problems.append("SESSION_COOKIE_PATH must be '/'")
    if not problems:
        return []
    prefix = "__Host-Http-" if host else "__Http-"
    return [
        Error(
            f"A '{prefix}' session cookie is rejected by browsers with this "
            "configuration.",
            hint="; ".join(problems) + ".",
            id="sessiontokens.E022",
        )
    ]


USERSESSIONS = "allauth.usersessions"


def check_usersessions(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[Warning]:
    """allauth's ``usersessions`` keeps a second list of sessions, keyed by
    the session key: with our engines that is the cookie value, secret
    included (W006), and with ``USERSESSIONS_TRACK_ACTIVITY`` it also writes
    on every request what we already record (W005)."""
    from django.apps import apps

    if not apps.is_installed(USERSESSIONS):
        return []
    found = []
    if getattr(settings, "USERSESSIONS_TRACK_ACTIVITY", False):
        found.append(
            Warning(
                "allauth.usersessions tracks activity as well as "
                "django-sessiontokens: two writes per request for one fact.",
                hint="Set USERSESSIONS_TRACK_ACTIVITY = False, or better remove "
                "'allauth.usersessions' and use django-sessiontokens' sessions "
                "page, API and admin (they record IP, user agent and last "
                "activity once per SESSIONTOKENS_TOUCH_INTERVAL).",
                id="sessiontokens.W005",
            )
        )
    found.append(
        Warning(
            "allauth.usersessions stores each session's key, which with "
            "django-sessiontokens is the whole cookie value (its secret "
            "included), in a 40-character column our tokens do not fit.",
            hint="Remove 'allauth.usersessions' from INSTALLED_APPS (and its "
            "URLs); django-sessiontokens lists and ends sessions itself "
            "(include('django_sessiontokens.urls'), the admin, endsessions).",
            id="sessiontokens.W006",
        )
    )
    return found


def check_headless_rotation(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[Warning]:
    """allauth headless app clients (``X-Session-Token``) have their session
    loaded and saved by allauth, outside our middleware: without our token
    strategy it is never touched nor rotated for them."""
    from django.apps import apps

    if not apps.is_installed("allauth.headless"):
        return []
    clients = getattr(settings, "HEADLESS_CLIENTS", ("app", "browser"))
    strategy = getattr(settings, "HEADLESS_TOKEN_STRATEGY", "")
    ours = "django_sessiontokens.contrib.allauth.SessionTokenStrategy"
    if "app" not in clients or strategy == ours:
        return []
    return [
        Warning(
            "allauth headless serves app clients (X-Session-Token) with a "
            "token strategy that does not touch or rotate their sessions: "
            "they idle out while in use, and a periodic rotation "
            "(SESSIONTOKENS_ROTATE_INTERVAL) never reaches them.",
            hint=f"Set HEADLESS_TOKEN_STRATEGY = {ours!r}.",
            id="sessiontokens.W007",
        )
    ]
