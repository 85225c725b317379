"""Connection, encoding and error translation shared by the Redis stores.

The client comes from ``SESSIONTOKENS_REDIS_CLIENT`` (a callable or a dotted
path returning any redis-py client) or else from the django-redis cache alias
``SESSIONTOKENS_REDIS_CACHE``; one client is kept per configuration (dropped
when Django's ``setting_changed`` fires, so ``override_settings`` works).

A record is stored as two hash fields: ``m``, every field but ``data`` as one
compact JSON object of strings (``None`` as ``""``, datetimes as microseconds
since the epoch), which Lua scripts read and change with ``cjson``; and
``d``, the data. Two fields decode in a fraction of the time of one field per
column (redis-py parses replies in Python).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.utils import timezone as django_timezone
from django.utils.module_loading import import_string
from redis import exceptions as redis_exceptions
from redis.cluster import RedisCluster

from django_sessiontokens import tokens
from django_sessiontokens.conf import conf
from django_sessiontokens.exceptions import StoreUnavailable
from django_sessiontokens.stores.base import SessionRecord

FIELDS = list(SessionRecord.__dataclass_fields__)
LIGHT = [name for name in FIELDS if name != "data"]
_TIMES = ("created_at", "last_activity", "expires_at", "authenticated_at", "rotated_at")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_NAIVE_EPOCH = datetime(1970, 1, 1)
_MICROSECOND = timedelta(microseconds=1)
_dumps = json.JSONEncoder(separators=(",", ":")).encode
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


def text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return "" if value is None else str(value)


def encode(values: dict[str, Any]) -> dict[str, str]:
    """Stored strings for record values; ``None`` is stored as ``""``."""
    out: dict[str, str] = {}
    for name, value in values.items():
        if value is None:
            out[name] = ""
        elif name in _TIMES:
            out[name] = str(micros(value))
        else:
            out[name] = str(value)
    return out


def pack(values: dict[str, Any]) -> str:
    """The ``m`` field (or a change to it) for these values."""
    return _dumps(encode(values))


def pack_record(record: SessionRecord) -> tuple[str, str]:
    """``(m, d)`` for a whole record."""
    return pack({name: getattr(record, name) for name in LIGHT}), record.data


def unpack(meta: str | bytes, data: Any = "") -> SessionRecord:
    """The record stored as ``m`` (and ``d``, or no data)."""
    return record_from(json.loads(meta), data)


def record_from(values: dict[str, Any], data: Any = "") -> SessionRecord:
    """The record of a decoded ``m`` (changed in place)."""
    return _record(values, _EPOCH if settings.USE_TZ else _NAIVE_EPOCH, data)


def records_from(rows: list[dict[str, Any]]) -> list[SessionRecord]:
    """Records (without data) of many decoded ``m``."""
    epoch = _EPOCH if settings.USE_TZ else _NAIVE_EPOCH
    return [_record(values, epoch, "") for values in rows]


def _record(values: dict[str, Any], epoch: datetime, data: Any) -> SessionRecord:
    seen: dict[str, datetime | None] = {"": None}
    for name in _TIMES:
        value = values[name]
        moment = seen.get(value)
        if moment is None and value:
            moment = seen[value] = epoch + timedelta(0, 0, int(value))
        values[name] = moment
    if not values["user_id"]:
        values["user_id"] = None
    if not values["ip"]:
        values["ip"] = None
    values["data"] = data if isinstance(data, str) else text(data)
    return SessionRecord(**values)


def field(raw: dict[Any, Any], name: str) -> Any:
    """A field of an ``HGETALL`` reply, whether the client decodes or not."""
    found = raw.get(name.encode())
    return raw.get(name) if found is None else found


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
        key = ("cache", conf.REDIS_CACHE, id(getattr(settings, "CACHES", None)))
    found = _clients.get(key)
    if found is not None:
        return found
    with _clients_lock:
        found = _clients.get(key)
        if found is None:
            found = _connect(setting)
            _clients[key] = found
    return found


def _forget_clients(*, setting: str, **kwargs: Any) -> None:
    """A changed ``CACHES`` or Redis setting picks its client anew."""
    if setting == "CACHES" or setting.startswith("SESSIONTOKENS_REDIS_"):
        with _clients_lock:
            _clients.clear()


setting_changed.connect(_forget_clients, dispatch_uid="sessiontokens-redis-clients")


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
    return isinstance(client, RedisCluster)


def escape_glob(value: str) -> str:
    return "".join("\\" + char if char in "*?[]\\" else char for char in value)


class _Guard:
    """A context manager (a class: cheaper than ``contextmanager`` on every
    request) that raises ``StoreUnavailable`` for the errors that mean Redis
    cannot be reached."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> None:
        if isinstance(exc, UNAVAILABLE_ERRORS):
            try:
                client, alias = connection()
                where = address(client)
            except StoreUnavailable:
                alias, where = conf.REDIS_CACHE, ""
            raise StoreUnavailable(
                f"Redis did not answer: {exc}", alias=alias, address=where
            ) from exc


_GUARD = _Guard()


class RedisBase:
    """Connection, error translation and key names shared by both Redis stores."""

    def client(self) -> Any:
        return connection()[0]

    def prefix(self) -> str:
        return conf.REDIS_KEY_PREFIX

    def guard(self) -> _Guard:
        """Turn "Redis cannot be reached" into ``StoreUnavailable``."""
        return _GUARD

    def by_tag(self, public_ids: Iterable[str]) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = {}
        for public_id in dict.fromkeys(public_ids):
            groups.setdefault(public_id[: tokens.TAG_LENGTH], []).append(public_id)
        return groups
