"""Connection, encoding and error translation shared by the Redis stores.

The client comes from ``SESSIONTOKENS_REDIS_CLIENT`` (a callable or a dotted
path returning any redis-py client) or else from the django-redis cache alias
``SESSIONTOKENS_REDIS_CACHE``; one client is kept per configuration, so
``override_settings`` works. Records are stored as hash fields: text as is,
``None`` as ``""``, datetimes as microseconds since the epoch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

from django.conf import settings
from django.utils import timezone as django_timezone
from django.utils.module_loading import import_string
from redis import exceptions as redis_exceptions

from django_sessiontokens import tokens
from django_sessiontokens.conf import conf
from django_sessiontokens.exceptions import StoreUnavailable
from django_sessiontokens.stores.base import SessionRecord

FIELDS = list(SessionRecord.__dataclass_fields__)
LIGHT = [name for name in FIELDS if name != "data"]
_TIMES = frozenset(
    {"created_at", "last_activity", "expires_at", "authenticated_at", "rotated_at"}
)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)
#: Tag of sessions imported from django.contrib.sessions (tokens.legacy_public_id).
IMPORTED_TAG = "imported"

UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    redis_exceptions.ConnectionError,
    redis_exceptions.TimeoutError,
    redis_exceptions.ClusterDownError,
    redis_exceptions.RedisClusterException,
)


# Encoding ----------------------------------------------------------------
def micros(value: datetime) -> int:
    """Microseconds since the epoch (naive datetimes are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return (value - _EPOCH) // _MICROSECOND


def from_micros(value: str) -> datetime:
    moment = _EPOCH + timedelta(microseconds=int(value))
    return moment if settings.USE_TZ else moment.replace(tzinfo=None)


def text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return "" if value is None else str(value)


def encode(values: dict[str, Any]) -> dict[str, str]:
    """Hash fields for record values; ``None`` is stored as ``""``."""
    out: dict[str, str] = {}
    for name, value in values.items():
        if value is None:
            out[name] = ""
        elif name in _TIMES:
            out[name] = str(micros(value))
        else:
            out[name] = str(value)
    return out


def decode(fields: dict[str, str]) -> SessionRecord:
    values: dict[str, Any] = {}
    for name, value in fields.items():
        if name not in SessionRecord.__dataclass_fields__:
            continue
        if name in _TIMES:
            values[name] = from_micros(value) if value else None
        elif name in ("user_id", "ip"):
            values[name] = value or None
        else:
            values[name] = value
    return SessionRecord(**values)


def decode_hash(raw: dict[Any, Any]) -> dict[str, str]:
    return {text(key): text(value) for key, value in raw.items()}


def flat(fields: dict[str, str]) -> list[str]:
    return [item for pair in fields.items() for item in pair]


def ttl_ms(expires_at: datetime, cap: float | None = None) -> int:
    left = (expires_at - django_timezone.now()).total_seconds()
    if cap is not None:
        left = min(left, cap)
    return max(1, int(left * 1000))


# Connection --------------------------------------------------------------
_clients: dict[Any, tuple[Any, str]] = {}
_clients_lock = threading.Lock()


def _describe(setting: Any) -> str:
    if isinstance(setting, str):
        return setting
    return getattr(setting, "__qualname__", type(setting).__name__)


def connection() -> tuple[Any, str]:
    """The redis-py client of the current configuration, and its alias."""
    setting = conf.REDIS_CLIENT
    if setting:
        try:
            key: Any = ("client", setting, hash(setting))
        except TypeError:
            key = ("client", id(setting))
    else:
        alias = conf.REDIS_CACHE
        key = ("cache", alias, repr(getattr(settings, "CACHES", {}).get(alias)))
    found = _clients.get(key)
    if found is not None:
        return found
    with _clients_lock:
        found = _clients.get(key)
        if found is None:
            found = _connect(setting)
            _clients[key] = found
    return found


def _connect(setting: Any) -> tuple[Any, str]:
    try:
        if setting:
            factory: Callable[[], Any] = (
                import_string(setting) if isinstance(setting, str) else setting
            )
            return factory(), _describe(setting)
        from django_redis import get_redis_connection

        alias = conf.REDIS_CACHE
        return get_redis_connection(alias), alias
    except UNAVAILABLE_ERRORS as exc:
        name = _describe(setting) if setting else conf.REDIS_CACHE
        raise StoreUnavailable(str(exc), alias=name, address="") from exc


def address(client: Any) -> str:
    """Where the client connects, for messages (never credentials)."""
    nodes = getattr(getattr(client, "nodes_manager", None), "startup_nodes", None)
    if isinstance(nodes, dict):
        return ",".join(sorted(nodes))
    pool = getattr(client, "connection_pool", None)
    kwargs = getattr(pool, "connection_kwargs", {}) or {}
    if "path" in kwargs:
        return str(kwargs["path"])
    service = getattr(pool, "service_name", None)
    if service:
        return f"sentinel:{service}"
    if "host" in kwargs:
        return f"{kwargs['host']}:{kwargs.get('port', 6379)}"
    return type(client).__name__


def is_cluster(client: Any) -> bool:
    from redis.cluster import RedisCluster

    return isinstance(client, RedisCluster)


def escape_glob(value: str) -> str:
    return "".join("\\" + char if char in "*?[]\\" else char for char in value)


class RedisBase:
    """Connection, error translation and key names shared by both Redis stores."""

    def client(self) -> Any:
        return connection()[0]

    def prefix(self) -> str:
        return conf.REDIS_KEY_PREFIX

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Turn "Redis cannot be reached" into ``StoreUnavailable``."""
        try:
            yield
        except UNAVAILABLE_ERRORS as exc:
            try:
                client, alias = connection()
                where = address(client)
            except StoreUnavailable:
                alias, where = conf.REDIS_CACHE, ""
            raise StoreUnavailable(
                f"Redis did not answer: {exc}", alias=alias, address=where
            ) from exc

    def by_tag(self, public_ids: Iterable[str]) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = {}
        for public_id in dict.fromkeys(public_ids):
            groups.setdefault(public_id[: tokens.TAG_LENGTH], []).append(public_id)
        return groups
