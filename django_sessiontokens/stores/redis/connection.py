"""Clients, the per-request command path, and errors as ``StoreUnavailable``.

The client comes from ``SESSIONTOKENS_REDIS_CLIENT`` (a callable or a dotted
path returning any redis-py client) or else from the django-redis cache alias
``SESSIONTOKENS_REDIS_CACHE``; one client is kept per configuration (dropped
when Django's ``setting_changed`` fires, so ``override_settings`` works).

The per-request commands (``GET`` of a session, ``EVALSHA`` of a write) go
through ``call``: on a plain ``redis.Redis`` client, over a connection lent
by a process-wide free list (``FreeList``), without the pool's per-checkout
health check and bookkeeping, which cost as much as the command. Any thread
takes the most recently returned connection, so Django's ASGI handler, which
runs each request's sync code in a fresh thread, reuses connections as WSGI
threads do.
"""

from __future__ import annotations

import os
import socket
import threading
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.utils.module_loading import import_string
from redis import Redis
from redis import exceptions as redis_exceptions
from redis.cluster import RedisCluster

from django_sessiontokens.conf import conf
from django_sessiontokens.exceptions import StoreUnavailable

UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    redis_exceptions.ConnectionError,
    redis_exceptions.TimeoutError,
    redis_exceptions.ClusterDownError,
    redis_exceptions.RedisClusterException,
)
#: Idle connections kept per pool; one returned beyond that is closed.
FREE_CONNECTIONS = 32

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
            for free in list(_free_lists.values()):
                free.close()
            _free_lists.clear()


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


class FreeList:
    """Idle connections of one pool, shared by every thread of the process:
    last returned, first lent (``deque`` append and pop are atomic). A
    connection is made by the pool's connection class with the pool's
    settings (address, TLS, password, database, protocol, Sentinel) and
    connects on first use and again after an error. In a forked child the
    parent's connections are forgotten, never closed (``disconnect`` would
    not shut a socket down from another process anyway) and never used."""

    def __init__(self, pool: Any, size: int = FREE_CONNECTIONS) -> None:
        self.pool, self.size = pool, size
        self.pid = os.getpid()
        self.free: deque[Any] = deque()

    def take(self) -> Any:
        if self.pid != os.getpid():
            self.pid, self.free = os.getpid(), deque()
        try:
            return self.free.pop()
        except IndexError:
            return self.pool.connection_class(**self.pool.connection_kwargs)

    def give(self, conn: Any) -> None:
        if self.pid == os.getpid() and len(self.free) < self.size:
            self.free.append(conn)
        else:
            conn.disconnect()

    def close(self) -> None:
        while self.free:
            self.free.pop().disconnect()


#: One free list per connection pool (for as long as the pool lives).
_free_lists: weakref.WeakKeyDictionary[Any, FreeList] = weakref.WeakKeyDictionary()


def free_list(pool: Any) -> FreeList:
    found = _free_lists.get(pool)
    if found is None:
        with _clients_lock:
            found = _free_lists.get(pool)
            if found is None:
                found = _free_lists[pool] = FreeList(pool)
    return found


_EXECUTE = Redis.execute_command
#: The standard library's socket class (green threads patch it).
_SOCKET = socket.socket


#: Commands of the hot path that may be sent twice (they change nothing).
_READS = frozenset({"GET", "MGET"})


def call(client: Any, *args: Any) -> Any:
    """Run one command of a request's hot path (reading its session, saving
    it) over a connection of the free list. When that connection fails, the
    free list is emptied (its other connections are as dead, after a restart
    or a failover) and the command runs once more through the client's
    ``execute_command`` — but only if it cannot have reached Redis yet, or
    is a read: a write that timed out, or whose reply was lost, may still
    run (a frozen Redis runs what it buffered when it resumes), so it is
    never sent twice, and a timeout is never waited for twice. Other clients
    (Cluster, single-connection clients, client-side caching, an
    ``execute_command`` replaced by instrumentation), and processes whose
    sockets gevent or eventlet patched, always use ``execute_command``."""
    if not _free_list_serves(client):
        return client.execute_command(*args)
    lender = free_list(client.connection_pool)
    conn = lender.take()
    sent = False
    try:
        conn.send_packed_command([pack_command(args)])
        sent = True
        reply = conn.read_response()
    except redis_exceptions.ResponseError:
        lender.give(conn)  # a reply: the connection is fine
        raise
    except UNAVAILABLE_ERRORS as exc:
        conn.disconnect()  # dropped; a fresh one is made when needed
        lender.close()
        if isinstance(exc, redis_exceptions.TimeoutError) or (
            sent and args[0] not in _READS
        ):
            raise
    except BaseException:
        conn.disconnect()  # a reply may be left unread
        raise
    else:
        lender.give(conn)
        return reply
    return client.execute_command(*args)


def _free_list_serves(client: Any) -> bool:
    return not (
        getattr(type(client), "execute_command", None) is not _EXECUTE
        or client.connection is not None
        or getattr(client.connection_pool, "cache", None) is not None
        or socket.socket is not _SOCKET  # gevent/eventlet: greenlets share threads
    )


def call_reads(client: Any, commands: Sequence[Sequence[Any]]) -> list[Any]:
    """Read commands (they change nothing) sent together, their replies in
    order: one round trip over a connection of the free list, as ``call``,
    without building a redis-py pipeline. When the connection fails they
    are sent again once through a client pipeline (reads may be resent);
    other clients always use one."""
    if not commands:
        return []
    if _free_list_serves(client):
        lender = free_list(client.connection_pool)
        conn = lender.take()
        try:
            # One write (a list would be one system call per command).
            packed = b"".join(pack_command(tuple(args)) for args in commands)
            conn.send_packed_command([packed])
            replies = [conn.read_response() for _ in commands]
        except UNAVAILABLE_ERRORS as exc:
            conn.disconnect()
            lender.close()
            if isinstance(exc, redis_exceptions.TimeoutError):
                raise
        except BaseException:
            conn.disconnect()  # replies may be left unread
            raise
        else:
            lender.give(conn)
            return replies
    pipe = client.pipeline(transaction=False)
    for args in commands:
        pipe.execute_command(*args)
    return list(pipe.execute())


def pack_command(args: tuple[Any, ...]) -> bytes:
    """A command in the Redis protocol (RESP), arguments as UTF-8."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        value = arg if isinstance(arg, bytes) else str(arg).encode("utf-8")
        out.append(b"$%d\r\n%s\r\n" % (len(value), value))
    return b"".join(out)


_CLUSTER_TYPES: dict[type, bool] = {}


def is_cluster(client: Any) -> bool:
    kind = type(client)
    found = _CLUSTER_TYPES.get(kind)
    if found is None:
        found = _CLUSTER_TYPES[kind] = issubclass(kind, RedisCluster)
    return found


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


GUARD = _Guard()


class RedisAccess:
    """The client, the key prefix and error translation, for both stores."""

    def client(self) -> Any:
        return connection()[0]

    def prefix(self) -> str:
        return conf.REDIS_KEY_PREFIX

    def guard(self) -> _Guard:
        """Turn "Redis cannot be reached" into ``StoreUnavailable``."""
        return GUARD
