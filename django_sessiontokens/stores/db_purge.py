"""The database store's purge: pass by pass (``db_sql.passes``, one per
bound of today's settings), each walking its own index in key order with
keyset batches, the condition checked again on each row deleted."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Q

from django_sessiontokens.stores.db_sql import (
    IN_CHUNK,
    Pass,
    expired,
    index_plan,
    partial,
    passes,
    table_sql,
)

if TYPE_CHECKING:
    from django_sessiontokens.core.policy import Cutoffs
    from django_sessiontokens.types import SessionRecord

FIELDS = ["public_id", "user_id", "expires_at"]


def purge_quietly(connection: Any, cutoffs: Cutoffs, batch_size: int) -> Iterator[int]:
    """``DatabaseStore.purge_expired_quietly`` on PostgreSQL and SQLite."""
    sql = table_sql(connection)
    if connection.vendor == "sqlite":
        # Every batch revisits the same index pages: keep them in SQLite's
        # own cache (32 MiB for this connection) instead of re-reading.
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size = -32768")
    for step in passes(cutoffs):
        bound = sql.params(step, connection)
        after: Any = None
        while True:
            if connection.vendor == "postgresql":
                statement = sql.batch(step, after=after is not None)
                params = [*bound, *([] if after is None else [after])]
                with transaction.atomic(using=connection.alias):
                    index_plan(connection)
                    with connection.cursor() as cursor:
                        cursor.execute(statement, [*params, batch_size, *bound])
                        selected, after, removed = cursor.fetchone()
            else:
                with connection.cursor() as cursor:
                    cursor.execute(sql.batch(step), [*bound, batch_size, *bound])
                    # One statement holds the write lock from its subquery
                    # to its deletes: nothing changes in between.
                    selected = removed = cursor.rowcount
            if removed:
                yield removed
            if selected < batch_size:
                break


def purge(
    manager: Any, connection: Any, cutoffs: Cutoffs, batch_size: int
) -> Iterator[list[SessionRecord]]:
    """``DatabaseStore.purge_expired`` (not a dry run): pass by pass, keyset
    batches read from the pass's index, deleted if they still match."""
    for step in passes(cutoffs):
        condition = step.q()
        after: Any = None
        while True:
            with transaction.atomic(using=connection.alias):
                rows = _batch(manager, connection, step, after, batch_size)
                gone = delete_matching(
                    manager, condition, [row[0] for row in rows], connection.alias
                )
            batch = [
                partial(dict(zip(FIELDS, row, strict=False)))
                for row in rows
                if row[0] in gone
            ]
            if batch:
                yield batch
            if len(rows) < batch_size:
                break
            after = rows[-1][3]


def dry_run(
    manager: Any, connection: Any, cutoffs: Cutoffs, batch_size: int
) -> Iterator[list[SessionRecord]]:
    """What ``purge`` would remove, by primary key under ``expired`` (each
    expired row once, whichever bounds it is past)."""
    condition = expired(cutoffs)
    last = None
    while True:
        qs = manager.filter(condition)
        if last is not None:
            qs = qs.filter(public_id__gt=last)
        with transaction.atomic(using=connection.alias):
            index_plan(connection)  # the primary key, in its order
            rows = list(qs.order_by("public_id").values(*FIELDS)[:batch_size])
        if not rows:
            return
        last = rows[-1]["public_id"]
        yield [partial(row) for row in rows]


def _batch(
    manager: Any, connection: Any, step: Pass, after: Any, batch_size: int
) -> list[tuple[Any, ...]]:
    """Up to ``batch_size`` rows of the pass from ``after`` on, in key
    order, from the pass's index: (public id, user id, expires_at, key)."""
    if connection.vendor not in ("postgresql", "sqlite"):
        qs = manager.filter(step.q())
        if after is not None:
            qs = qs.filter(**{f"{step.key}__gte": after})
        fields = (*FIELDS, step.key)
        return list(qs.order_by(step.key).values_list(*fields)[:batch_size])
    sql = table_sql(connection)
    bound = sql.params(step, connection)
    params = [*bound, *([] if after is None else [after]), batch_size]
    index_plan(connection)
    with connection.cursor() as cursor:
        cursor.execute(sql.select(step, after=after is not None), params)
        rows = cursor.fetchall()
    return [
        (pid, uid, sql.convert("expires_at", end, connection), key)
        for pid, uid, end, key in rows
    ]


def delete_matching(
    manager: Any, condition: Q, public_ids: list[str], alias: str
) -> set[str]:
    """Delete those of ``public_ids`` that still match ``condition``; the
    ids deleted."""
    gone: set[str] = set()
    for start in range(0, len(public_ids), IN_CHUNK):
        chunk = public_ids[start : start + IN_CHUNK]
        removed = manager.filter(condition, pk__in=chunk)._raw_delete(alias)
        if removed == len(chunk):
            gone.update(chunk)
            continue
        kept = set(manager.filter(pk__in=chunk).values_list("pk", flat=True))
        gone.update(pid for pid in chunk if pid not in kept)
    return gone
