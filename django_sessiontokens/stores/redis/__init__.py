"""The redis engine's store (``stores.redis.store``) and its parts: the key
layout (``keys``), the stored value (``codec``), clients and the per-request
command path (``connection``), and the Lua scripts (``scripts``, ``lua/``)."""

from django_sessiontokens.stores.redis.store import RedisStore

__all__ = ["RedisStore"]
