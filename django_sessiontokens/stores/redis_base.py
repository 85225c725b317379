"""Connection, encoding and error translation shared by the Redis stores.

The client comes from ``SESSIONTOKENS_REDIS_CLIENT`` (a callable or a dotted
path returning any redis-py client) or else from the django-redis cache alias
``SESSIONTOKENS_REDIS_CACHE``; one client is kept per configuration (dropped
when Django's ``setting_changed`` fires, so ``override_settings`` works).

A record is stored as one string value: its fields but ``data`` in the
order of ``STORED``, separated by ``SEP`` (``None`` as ``""``, datetimes as
microseconds since the epoch), then a newline, then the data. The fields
never hold a newline or ``SEP`` (``pack`` replaces them), so the first newline
ends them. Python splits a record in about a microsecond, and Lua scripts
read and change a field by its position (``LUA_FIELDS``), without JSON.

The per-request commands (``GET`` of a session, ``EVALSHA`` of an update) go
through ``call``: straight to a pooled connection of a plain ``redis.Redis``
client, falling back to the client's own ``execute_command`` (and its retry
policy) when the connection fails, and used only when that method is not
overridden or instrumented.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.utils import timezone as django_timezone
from django.utils.module_loading import import_string
from redis import Redis
from redis import exceptions as redis_exceptions
from redis.cluster import RedisCluster

from django_sessiontokens.conf import conf
from django_sessiontokens.exceptions import StoreUnavailable
from django_sessiontokens.stores.base import SessionRecord

#: The order of a record's fields in its stored value (``data`` follows).
STORED = (
    "public_id",
    "secret_hash",
    "created_at",
    "last_activity",
    "expires_at",
    "user_id",
    "authenticated_at",
    "ip",
    "user_agent",
    "retired_hashes",
    "rotated_at",
    "sealed_secret",
    "version",
)
#: A field's position, as Lua counts (from 1).
POSITION = {name: str(n) for n, name in enumerate(STORED, start=1)}
SEP = "\x1f"
#: What cannot be stored inside a field: the separators.
_UNSAFE = str.maketrans({"\n": " ", "\r": " ", SEP: " "})
_TIMES = ("created_at", "last_activity", "expires_at", "authenticated_at", "rotated_at")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_NAIVE_EPOCH = datetime(1970, 1, 1)
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


def text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return "" if value is None else str(value)


def encode(name: str, value: Any) -> str:
    """A field as stored."""
    if value is None:
        return ""
    if name in _TIMES:
        return str(micros(value))
    return str(value).translate(_UNSAFE)


def pack_record(record: SessionRecord) -> str:
    """The stored value of a whole record."""
    fields = SEP.join(encode(name, getattr(record, name)) for name in STORED)
    return fields + "\n" + record.data


def pack_changes(changes: dict[str, Any]) -> list[str]:
    """Changes to the fields (not ``data``) as script arguments: position,
    value, position, value..."""
    out: list[str] = []
    for name, value in changes.items():
        if name != "data":
            out += [POSITION[name], encode(name, value)]
    return out


def unpack(raw: str | bytes, *, data: bool = True) -> SessionRecord:
    """The record of a stored value (with ``data=False``, without its data)."""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8")
    fields, _, rest = raw.partition("\n")
    return _record(fields, rest if data else "")


def _record(fields: str, data: str) -> SessionRecord:
    (
        public_id,
        secret_hash,
        created_at,
        last_activity,
        expires_at,
        user_id,
        authenticated_at,
        ip,
        user_agent,
        retired_hashes,
        rotated_at,
        sealed_secret,
        version,
    ) = fields.split(SEP)
    epoch = _EPOCH if settings.USE_TZ else _NAIVE_EPOCH
    created = epoch + timedelta(0, 0, int(created_at))

    def moment(value: str) -> Any:
        """A stored time (most equal the creation time: computed once)."""
        if value == created_at:
            return created
        return epoch + timedelta(0, 0, int(value)) if value else None

    return SessionRecord(
        public_id=public_id,
        secret_hash=secret_hash,
        created_at=created,
        last_activity=moment(last_activity),
        expires_at=moment(expires_at),
        data=data,
        user_id=user_id or None,
        authenticated_at=moment(authenticated_at),
        ip=ip or None,
        user_agent=user_agent,
        retired_hashes=retired_hashes,
        rotated_at=moment(rotated_at),
        sealed_secret=sealed_secret,
        version=int(version or 0),
    )


#: Lua: ``F``, the position of each field; ``fields(raw)``, the fields of a
#: stored value (a table) and its data; ``field(raw, n)``, one field (not the
#: last); ``join(f, data)``, the value to store.
LUA_FIELDS = (
    "local F = {"
    + ", ".join(f"{name} = {POSITION[name]}" for name in STORED)
    + "}\n"
    + """local SEP = '\\031'
local function fields(raw)
  local cut = string.find(raw, '\\n', 1, true)
  local meta, out, start = string.sub(raw, 1, cut - 1), {}, 1
  while true do
    local i = string.find(meta, SEP, start, true)
    if not i then
      out[#out + 1] = string.sub(meta, start)
      return out, string.sub(raw, cut + 1)
    end
    out[#out + 1] = string.sub(meta, start, i - 1)
    start = i + 1
  end
end
local function field(raw, n)
  local start = 1
  for _ = 2, n do start = string.find(raw, SEP, start, true) + 1 end
  return string.sub(raw, start, string.find(raw, SEP, start, true) - 1)
end
local function join(f, data)
  return table.concat(f, SEP) .. '\\n' .. data
end
"""
)


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
#: Registered scripts by (client, source); a script keeps its client alive.
_scripts: dict[tuple[int, str], Any] = {}


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
            _scripts.clear()
        _own.__dict__.pop("found", None)  # this thread's; others on next use


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
#: The standard library's socket class (green threads patch it).
_SOCKET = socket.socket


def call(client: Any, *args: Any) -> Any:
    """Run one command of a request's hot path (reading its session, saving
    it). On a plain ``redis.Redis`` client the command goes over this
    thread's own connection to the client's server (``own_connection``),
    without the pool's per-checkout health check and bookkeeping, which cost
    as much as the command; when that connection fails, the command runs
    once more through the client's ``execute_command`` and its retry policy.
    Other clients (Cluster, single-connection clients, client-side caching,
    an ``execute_command`` replaced by instrumentation), and processes whose
    sockets gevent or eventlet patched, always use ``execute_command``."""
    if (
        getattr(type(client), "execute_command", None) is not _EXECUTE
        or client.connection is not None
        or getattr(client.connection_pool, "cache", None) is not None
        or socket.socket is not _SOCKET  # gevent/eventlet: greenlets share threads
    ):
        return client.execute_command(*args)
    conn = own_connection(client.connection_pool)
    try:
        conn.send_packed_command([pack_command(args)])
        return conn.read_response()
    except redis_exceptions.ResponseError:
        raise  # a reply: the connection is fine
    except UNAVAILABLE_ERRORS:
        conn.disconnect()  # reconnects on next use
    except BaseException:
        conn.disconnect()  # a reply may be left unread
        raise
    return client.execute_command(*args)


class _Own:
    """A thread's connection; closed when the thread ends or the connection
    is replaced (``disconnect`` never shuts down a socket that a forked
    child inherited from its parent)."""

    __slots__ = ("conn", "pid", "pool")

    def __init__(self, pool: Any, pid: int, conn: Any) -> None:
        self.pool, self.pid, self.conn = pool, pid, conn

    def __del__(self) -> None:
        # At interpreter shutdown redis-py may already be torn down.
        with contextlib.suppress(Exception):
            self.conn.disconnect()


_own = threading.local()


def own_connection(pool: Any) -> Any:
    """This thread's connection for ``call``: made by the pool's connection
    class with the pool's settings (address, TLS, password, database,
    protocol, Sentinel), kept for the thread's life, made anew in a forked
    child or for another pool. It connects on first use and again after an
    error."""
    found = getattr(_own, "found", None)
    pid = os.getpid()
    if found is not None and found.pool is pool and found.pid == pid:
        return found.conn
    conn = pool.connection_class(**pool.connection_kwargs)
    _own.found = _Own(pool, pid, conn)
    return conn


def pack_command(args: tuple[Any, ...]) -> bytes:
    """A command in the Redis protocol (RESP), arguments as UTF-8."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        value = arg if isinstance(arg, bytes) else str(arg).encode("utf-8")
        out.append(b"$%d\r\n%s\r\n" % (len(value), value))
    return b"".join(out)


def run_script(client: Any, script: Any, keys: list[str], args: list[Any]) -> Any:
    """``EVALSHA`` through ``call``; when Redis lacks the script (after a
    restart or ``SCRIPT FLUSH``), ``EVAL``, which also caches it again."""
    if is_cluster(client):
        return script(keys=keys, args=args)
    try:
        return call(client, "EVALSHA", script.sha, len(keys), *keys, *args)
    except redis_exceptions.NoScriptError:
        return call(client, "EVAL", script.script, len(keys), *keys, *args)


_CLUSTER_TYPES: dict[type, bool] = {}


def is_cluster(client: Any) -> bool:
    kind = type(client)
    found = _CLUSTER_TYPES.get(kind)
    if found is None:
        found = _CLUSTER_TYPES[kind] = issubclass(kind, RedisCluster)
    return found


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

    def script(self, client: Any, source: str) -> Any:
        """``source`` registered with ``client`` (once per client)."""
        found = _scripts.get((id(client), source))
        if found is None:
            found = _scripts[(id(client), source)] = client.register_script(source)
        return found

    def run(self, source: str, keys: list[str], args: list[Any]) -> Any:
        """Run the script ``source`` (``run_script``)."""
        client = self.client()
        return run_script(client, self.script(client, source), keys, args)
