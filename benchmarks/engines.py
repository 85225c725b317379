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
    #: A third-party app compared where it has an equivalent (a per-user
    #: index on the database): django-user-sessions, django-qsessions.
    peer: bool = False
    app: str = ""
    peer_middleware: str = ""

    @property
    def installed_app(self) -> str:
        if self.app:
            return self.app
        return "django_sessiontokens" if self.ours else "django.contrib.sessions"

    @property
    def scans(self) -> bool:
        """Django's own engines have no per-user index: listing scans."""
        return not self.ours and not self.peer

    @property
    def uses_redis(self) -> bool:
        return self.store in ("redis", "cached_db")

    @property
    def middleware(self) -> str:
        if self.peer_middleware:
            return self.peer_middleware
        return OUR_MIDDLEWARE if self.ours else DJANGO_MIDDLEWARE

    @property
    def counterpart(self) -> str:
        """The name of the engine this one is compared with."""
        other = [
            e
            for e in ENGINES
            if e.store == self.store and e.ours != self.ours and not e.peer
        ]
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
#: Installed by ``pip install -e .[bench]``; measured when importable.
PEERS = [
    Engine(
        "user-sessions",
        "user_sessions.backends.db",
        "db",
        ours=False,
        peer=True,
        app="user_sessions",
        peer_middleware="user_sessions.middleware.SessionMiddleware",
    ),
    Engine(
        "qsessions",
        "qsessions.backends.db",
        "db",
        ours=False,
        peer=True,
        app="qsessions",
        peer_middleware="qsessions.middleware.SessionMiddleware",
    ),
]
BY_NAME = {engine.name: engine for engine in [*ENGINES, *PEERS]}
