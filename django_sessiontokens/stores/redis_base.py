"""Connection, encoding and error translation shared by the Redis stores.

The client comes from ``SESSIONTOKENS_REDIS_CLIENT`` (a callable or a dotted
path returning any redis-py client) or else from the django-redis cache alias
``SESSIONTOKENS_REDIS_CACHE``; one client is kept per configuration (dropped
when Django's ``setting_changed`` fires, so ``override_settings`` works).

A record is stored as one string value: ``m``, every field but ``data`` as
one compact JSON object of strings (``None`` as ``""``, datetimes as
microseconds since the epoch), then a newline, then the data. JSON never holds
a raw newline, so the first one splits the two. Lua scripts read and change
``m`` with ``cjson`` and carry the data along; Python reads the whole record
with one ``GET`` (a plain string reply is the cheapest one redis-py parses).

The per-request commands (``GET`` of a session, ``EVALSHA`` of an update) go
through ``call``: straight to a pooled connection of a plain ``redis.Redis``
client, falling back to the client's own ``execute_command`` (and its retry
policy) when the connection fails, and used only when that method is not
overridden or instrumented.
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
from redis import Redis
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
    """``m`` (or a change to it) for these values."""
    return _dumps(encode(values))


def pack_record(record: SessionRecord) -> str:
    """The stored value of a whole record: ``m``, a newline, the data."""
    return pack({name: getattr(record, name) for name in LIGHT}) + "\n" + record.data


def unpack(raw: str | bytes, *, data: bool = True) -> SessionRecord:
    """The record of a stored value (with ``data=False``, without its data)."""
    if isinstance(raw, bytes):
        meta, _, rest = raw.partition(b"\n")
        text_data = rest.decode("utf-8") if data else ""
    else:
        meta, _, text_data = raw.partition("\n")
        if not data:
            text_data = ""
    epoch = _EPOCH if settings.USE_TZ else _NAIVE_EPOCH
    return _record(json.loads(meta), epoch, text_data)


def records_from(rows: list[dict[str, Any]]) -> list[SessionRecord]:
    """Records (without data) of many decoded ``m``."""
    epoch = _EPOCH if settings.USE_TZ else _NAIVE_EPOCH
    return [_record(values, epoch, "") for values in rows]


def _record(values: dict[str, Any], epoch: datetime, data: str) -> SessionRecord:
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
    values["data"] = data
    return SessionRecord(**values)


#: Lua: ``m`` and the data of a stored value ``raw``.
LUA_SPLIT = """
local function split(raw)
  local cut = string.find(raw, '\\n', 1, true)
  return string.sub(raw, 1, cut - 1), string.sub(raw, cut + 1)
end
"""


def ttl_ms(expires_at: datetime, cap: float | None = None) -> int:
    left = (expires_at - django_timezone.now()).total_seconds()
    if cap is not None:
        left = min(left, cap)
    return max(1, int(left * 1000))


# Connection --------------------------------------------------------------
_clients: dict[Any, tuple[Any, str]] = {}
_clients_lock = threading.Lock()
#: The client of the current configuration, until a setting changes.
_current: list[tuple[Any, str]] = []


def _describe(setting: Any) -> str:
    if isinstance(setting, str):
        return setting
    return getattr(setting, "__qualname__", type(setting).__name__)


def connection() -> tuple[Any, str]:
    """The redis-py client of the current configuration, and its alias."""
    if _current:
        return _current[0]
    setting = conf.REDIS_CLIENT
    if setting:
        try:
            key: Any = ("client", setting, hash(setting))
        except TypeError:
            key = ("client", id(setting))
    else:
        key = ("cache", conf.REDIS_CACHE, id(getattr(settings, "CACHES", None)))
    with _clients_lock:
        found = _clients.get(key)
        if found is None:
            found = _connect(setting)
            _clients[key] = found
        _current[:] = [found]
    return found


def _forget_clients(*, setting: str, **kwargs: Any) -> None:
    """A changed ``CACHES`` or Redis setting picks its client anew."""
    if setting == "CACHES" or setting.startswith("SESSIONTOKENS_REDIS_"):
        with _clients_lock:
            _clients.clear()
            _current.clear()


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


_EXECUTE = Redis.execute_command


def call(client: Any, *args: Any) -> Any:
    """Run one command: on a plain ``redis.Redis`` client, straight on a pooled
    connection (what ``execute_command`` does, without its per-command
    bookkeeping); when that connection fails, once more through the client's
    own ``execute_command`` and its retry policy. Clients of other kinds, or
    whose ``execute_command`` was replaced (instrumentation), use it always."""
    if (
        getattr(type(client), "execute_command", None) is not _EXECUTE
        or client.connection is not None
    ):
        return client.execute_command(*args)
    pool = client.connection_pool
    conn = pool.get_connection()
    try:
        conn.send_command(*args)
        return conn.read_response()
    except redis_exceptions.ResponseError:
        raise  # a reply: the connection is fine
    except UNAVAILABLE_ERRORS:
        conn.disconnect()
    except BaseException:
        conn.disconnect()  # a reply may be left unread
        raise
    finally:
        pool.release(conn)
    return client.execute_command(*args)


def run_script(client: Any, script: Any, keys: list[str], args: list[Any]) -> Any:
    """``EVALSHA`` through ``call``; the script is loaded when Redis lacks it."""
    if is_cluster(client):
        return script(keys=keys, args=args)
    try:
        return call(client, "EVALSHA", script.sha, len(keys), *keys, *args)
    except redis_exceptions.NoScriptError:
        return script(keys=keys, args=args)


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
