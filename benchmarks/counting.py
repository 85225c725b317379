"""Count what a request costs: SQL statements (``execute_wrapper``) and Redis
round trips and commands (at the connection, so pipelines, transactions and
Lua scripts are counted as what goes over the wire)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import connections


@dataclass
class Counts:
    sql: int = 0
    redis_calls: int = 0
    redis_commands: int = 0


@contextmanager
def counting() -> Iterator[Counts]:
    counts = Counts()

    def sql(execute: Callable[..., Any], *args: Any) -> Any:
        counts.sql += 1
        return execute(*args)

    with ExitStack() as stack:
        for connection in connections.all():
            stack.enter_context(connection.execute_wrapper(sql))
        stack.enter_context(_counting_redis(counts))
        yield counts


@contextmanager
def _counting_redis(counts: Counts) -> Iterator[None]:
    try:
        from redis.connection import AbstractConnection
    except ImportError:
        yield
        return
    send_packed = AbstractConnection.send_packed_command
    send_command = AbstractConnection.send_command
    pack_commands = AbstractConnection.pack_commands

    def counted_send_packed(self: Any, *args: Any, **kwargs: Any) -> Any:
        counts.redis_calls += 1
        return send_packed(self, *args, **kwargs)

    def counted_send_command(self: Any, *args: Any, **kwargs: Any) -> Any:
        counts.redis_commands += 1
        return send_command(self, *args, **kwargs)

    def counted_pack_commands(self: Any, commands: Any) -> Any:
        commands = list(commands)
        counts.redis_commands += len(commands)
        return pack_commands(self, commands)

    # Commands our Redis stores pack themselves (``connection.call``).
    from django_sessiontokens.stores.redis import connection as redis_connection

    pack_command = redis_connection.pack_command

    def counted_pack_command(args: Any) -> bytes:
        counts.redis_commands += 1
        return pack_command(args)

    AbstractConnection.send_packed_command = counted_send_packed  # type: ignore[method-assign]
    AbstractConnection.send_command = counted_send_command  # type: ignore[method-assign]
    AbstractConnection.pack_commands = counted_pack_commands  # type: ignore[method-assign]
    redis_connection.pack_command = counted_pack_command  # type: ignore[assignment]
    try:
        yield
    finally:
        redis_connection.pack_command = pack_command  # type: ignore[assignment]
        AbstractConnection.send_packed_command = send_packed  # type: ignore[method-assign]
        AbstractConnection.send_command = send_command  # type: ignore[method-assign]
        AbstractConnection.pack_commands = pack_commands  # type: ignore[method-assign]
