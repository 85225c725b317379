"""``SESSION_ENGINE = "django_sessiontokens.backends.cached_db"``: the
database is the source of truth and Redis serves reads. When Redis cannot be
reached, reads and writes go to the database alone."""

from __future__ import annotations

from django_sessiontokens.backends.base import TokenSessionStore
from django_sessiontokens.stores.cached_db import CachedDatabaseStore

_store = CachedDatabaseStore()


class SessionStore(TokenSessionStore):
    store_name = "cached_db"

    @classmethod
    def get_store(cls) -> CachedDatabaseStore:
        return _store
