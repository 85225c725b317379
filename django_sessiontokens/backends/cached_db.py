"""``SESSION_ENGINE = "django_sessiontokens.backends.cached_db"``: the
database is the source of truth and Redis serves reads. When Redis cannot be
reached, reads and writes go to the database alone."""

from __future__ import annotations

from django_sessiontokens.backends.base import TokenSessionStore
from django_sessiontokens.stores import registry
from django_sessiontokens.stores.base import BaseStore


class SessionStore(TokenSessionStore):
    store_name = "cached_db"

    @classmethod
    def get_store(cls) -> BaseStore:
        return registry.store_for(__name__)
