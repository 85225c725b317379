"""``SESSION_ENGINE = "django_sessiontokens.backends.redis"``: sessions live
only in Redis, reached through the django-redis cache alias
``SESSIONTOKENS_REDIS_CACHE`` or the client ``SESSIONTOKENS_REDIS_CLIENT``.

When Redis cannot be reached, loading a session raises ``StoreUnavailable``
and the middleware answers 503, keeping the cookie."""

from __future__ import annotations

from django_sessiontokens.backends.base import TokenSessionStore
from django_sessiontokens.stores import registry
from django_sessiontokens.stores.base import BaseStore


class SessionStore(TokenSessionStore):
    store_name = "redis"

    @classmethod
    def get_store(cls) -> BaseStore:
        return registry.store_for(__name__)
