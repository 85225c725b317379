"""Which store serves which ``SESSION_ENGINE``: one instance per store class,
made on first use. Engines and services ask here, so ``services`` never
imports an engine and no store module imports another layer."""

from __future__ import annotations

import threading
from importlib import import_module

from django.conf import settings
from django.utils.module_loading import import_string

from django_sessiontokens.stores.base import BaseStore
from django_sessiontokens.stores.bindings import BindingStore

#: ``SESSION_ENGINE`` module -> dotted path of its store class.
_OURS = "django_sessiontokens"
ENGINES = {
    f"{_OURS}.backends.db": f"{_OURS}.stores.db.DatabaseStore",
    f"{_OURS}.backends.redis": f"{_OURS}.stores.redis.RedisStore",
    f"{_OURS}.backends.cached_db": f"{_OURS}.stores.cached_db.CachedDatabaseStore",
}
DEFAULT_ENGINE = f"{_OURS}.backends.db"
#: Where each engine keeps device bindings (DBSC); others use the database.
BINDINGS = {
    f"{_OURS}.backends.redis": f"{_OURS}.stores.redis.bindings.RedisBindingStore",
}
DEFAULT_BINDINGS = f"{_OURS}.stores.bindings_db.DatabaseBindingStore"

_stores: dict[str, BaseStore] = {}
_binding_stores: dict[str, BindingStore] = {}
_lock = threading.Lock()


def store_for(engine: str) -> BaseStore:
    """The store of one of our engines (by its module path)."""
    found = _stores.get(engine)
    if found is None:
        with _lock:
            found = _stores.get(engine)
            if found is None:
                found = _stores[engine] = import_string(ENGINES[engine])()
    return found


def get_store() -> BaseStore:
    """The store of the configured ``SESSION_ENGINE``: ours by path, a
    project's engine through its ``SessionStore.get_store``, the database
    store for any other engine."""
    engine = settings.SESSION_ENGINE
    if engine in ENGINES:
        return store_for(engine)
    session_store = getattr(import_module(engine), "SessionStore", None)
    get = getattr(session_store, "get_store", None)
    if get is None:
        return store_for(DEFAULT_ENGINE)
    store: BaseStore = get()
    return store


def binding_store() -> BindingStore:
    """Where the configured ``SESSION_ENGINE`` keeps device bindings."""
    path = BINDINGS.get(settings.SESSION_ENGINE, DEFAULT_BINDINGS)
    found = _binding_stores.get(path)
    if found is None:
        with _lock:
            found = _binding_stores.get(path)
            if found is None:
                found = _binding_stores[path] = import_string(path)()
    return found
