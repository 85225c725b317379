"""``SESSION_ENGINE = "django_sessiontokens.backends.db"``: sessions in the
database (SQLite, PostgreSQL, ...)."""

from __future__ import annotations

from django_sessiontokens.backends.base import TokenSessionStore
from django_sessiontokens.stores import registry
from django_sessiontokens.stores.base import BaseStore


class SessionStore(TokenSessionStore):
    store_name = "db"

    @classmethod
    def get_store(cls) -> BaseStore:
        return registry.store_for(__name__)
