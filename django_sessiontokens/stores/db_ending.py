"""Ending sessions on the database, and recording it in the same breath.

With an ``EndedEvent``, the audit rows are written by the statement that
removes the sessions, so the ending and its record commit together:

- PostgreSQL: one data-modifying ``WITH gone AS (DELETE ... RETURNING)``
  that inserts the rows from ``gone``: one statement, atomic on its own, one
  round trip (no transaction around it);
- SQLite (3.35+): ``INSERT ... SELECT`` of the rows, then ``DELETE ...
  RETURNING``, in one transaction (the first write takes the database's
  write lock, so both see the same sessions).

Other databases remove the sessions as ``BaseStore.end`` does, and an audit
trail routed to another database is left to ``services.audit`` (the rows
are returned as still to write). A row the database refuses (naming a user
deleted meanwhile) does not stop the ending: the rest is done without the
rows, returned as still to write, which ``services.audit`` then tries and
logs.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from typing import Any

from django.db import DataError, IntegrityError, router, transaction

from django_sessiontokens.models import SessionEvent
from django_sessiontokens.stores import db_sql, event_rows
from django_sessiontokens.stores.base import Selection
from django_sessiontokens.types import EndedEvent, SessionRecord

logger = logging.getLogger("django_sessiontokens")


def end(
    connection: Any, selection: Selection, event: EndedEvent | None
) -> tuple[list[SessionRecord], list[SessionRecord]]:
    """Remove the selected sessions: ``(records removed, those whose rows
    are still to write)``. Only for databases with ``DELETE ... RETURNING``
    (``TableSQL.returning``)."""
    sql = db_sql.table_sql(connection)
    if event is not None and router.db_for_write(SessionEvent) != connection.alias:
        event = None
    found: list[SessionRecord] = []
    for where, params in _conditions(sql, connection, selection):
        try:
            found += _remove(sql, connection, where, params, event)
        except (IntegrityError, DataError) as exc:
            if event is None:
                raise
            logger.warning("Ending sessions: the audit trail refused a row (%s)", exc)
            rest = end(connection, _rest(selection, found), None)[0]
            return found + rest, rest
    return found, ([] if event is not None else found)


def _rest(selection: Selection, done: list[SessionRecord]) -> Selection:
    if selection.user_id is not None:
        return selection
    removed = {record.public_id for record in done}
    return Selection(ids=[i for i in selection.ids if i not in removed])


def _conditions(
    sql: db_sql.TableSQL, connection: Any, selection: Selection
) -> list[tuple[str, list[Any]]]:
    """The ``WHERE`` clauses (with parameters) of the statements to run."""
    if selection.user_id is None:
        ids = list(selection.ids)
        key = sql.column("public_id")
        found = []
        for start in range(0, len(ids), db_sql.IN_CHUNK):
            chunk = ids[start : start + db_sql.IN_CHUNK]
            found.append((f"{key} IN ({', '.join(['%s'] * len(chunk))})", chunk))
        return found
    try:
        user = sql.value("user_id", selection.user_id, connection)
    except (TypeError, ValueError):
        return []
    where, params = [f"{sql.column('user_id')} = %s"], [user]
    if selection.keep is not None:
        where.append(f"{sql.column('public_id')} <> %s")
        params.append(selection.keep)
    if not selection.impersonated:
        where.append(f"{sql.column('impersonator_id')} IS NULL")
    return [(" AND ".join(where), params)]


def _remove(
    sql: db_sql.TableSQL,
    connection: Any,
    where: str,
    params: list[Any],
    event: EndedEvent | None,
) -> list[SessionRecord]:
    light = sql.light
    delete = f"DELETE FROM {sql.table} WHERE {where}"  # noqa: S608
    signed_in = f"{sql.column('user_id')} IS NOT NULL"
    events = connection.ops.quote_name(event_rows.table())
    # Identifiers come from the models and are quoted; values are parameters.
    if event is None:
        statements = [(f"{delete} RETURNING {light}", params)]
    elif sql.vendor == "postgresql":
        columns, select, shared = event_rows.ended_select(
            connection, event, "gone", sql.column
        )
        statements = [
            (
                f"WITH gone AS ({delete} RETURNING {light}), "  # noqa: S608
                f"logged AS (INSERT INTO {events} ({columns}) "
                f"SELECT {select} FROM gone WHERE gone.{signed_in}) "
                f"SELECT {light} FROM gone",
                [*params, *shared],
            )
        ]
    else:
        columns, select, shared = event_rows.ended_select(
            connection, event, sql.table, sql.column
        )
        statements = [
            (
                f"INSERT INTO {events} ({columns}) SELECT {select} "  # noqa: S608
                f"FROM {sql.table} WHERE {where} AND {signed_in}",
                [*shared, *params],
            ),
            (f"{delete} RETURNING {light}", params),
        ]
    # One statement is atomic on its own; inside a caller's transaction it
    # gets a savepoint, so a refused row does not abort the caller's work.
    atomic = len(statements) > 1 or connection.in_atomic_block
    block = transaction.atomic(using=connection.alias) if atomic else nullcontext()
    with block, connection.cursor() as cursor:
        for statement, values in statements:
            cursor.execute(statement, values)
        return sql.records(cursor.fetchall(), connection)
