"""The configurations compared: each of ours beside Django's engine on the
same store. Plain data, importable without Django being configured."""

from __future__ import annotations

from dataclasses import dataclass

OUR_MIDDLEWARE = "django_sessiontokens.middleware.SessionTokenMiddleware"
DJANGO_MIDDLEWARE = "django.contrib.sessions.middleware.SessionMiddleware"


@dataclass(frozen=True)
class Engine:
    name: str
    session_engine: str
    #: The store both engines of a pair use: "db", "redis" or "cached_db".
    store: str
    ours: bool

    @property
    def uses_redis(self) -> bool:
        return self.store in ("redis", "cached_db")

    @property
    def middleware(self) -> str:
        return OUR_MIDDLEWARE if self.ours else DJANGO_MIDDLEWARE

    @property
    def counterpart(self) -> str:
        """The name of the engine this one is compared with."""
        other = [e for e in ENGINES if e.store == self.store and e.ours != self.ours]
        return other[0].name


ENGINES = [
    Engine("django-db", "django.contrib.sessions.backends.db", "db", ours=False),
    Engine("ours-db", "django_sessiontokens.backends.db", "db", ours=True),
    Engine("django-cache", "django.contrib.sessions.backends.cache", "redis", False),
    Engine("ours-redis", "django_sessiontokens.backends.redis", "redis", ours=True),
    Engine(
        "django-cached_db",
        "django.contrib.sessions.backends.cached_db",
        "cached_db",
        ours=False,
    ),
    Engine(
        "ours-cached_db",
        "django_sessiontokens.backends.cached_db",
        "cached_db",
        ours=True,
    ),
]
BY_NAME = {engine.name: engine for engine in ENGINES}
