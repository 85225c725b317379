"""Rows of the audit trail (``models.SessionEvent``) as SQL: one multi-row
``INSERT`` per batch from plain values (no model instance is built), and
the select list that records an ending in the statement that removes the
sessions (``stores.db_ending``).

The rows' content is decided by ``services.audit`` and
``types.EndedEvent``; this module only writes what it is given.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import connections, models

from django_sessiontokens.models import SessionEvent
from django_sessiontokens.types import EndedEvent

#: Every column but the primary key, in the order of the statements.
FIELDS = [f for f in SessionEvent._meta.concrete_fields if not f.primary_key]
NAMES = [field.attname for field in FIELDS]
#: Text columns: their values go to the database as they are.
_TEXT = frozenset(
    field.attname for field in FIELDS if isinstance(field, models.CharField)
)

#: Databases whose ``INSERT`` takes several ``VALUES`` rows; others get the
#: ORM's ``bulk_create``.
_MULTI_ROW = frozenset({"sqlite", "postgresql", "mysql"})


def insert(alias: str, rows: Sequence[dict[str, Any]]) -> None:
    """Write these rows (each a value per ``NAMES``, missing ones empty)."""
    connection = connections[alias]
    if connection.vendor not in _MULTI_ROW:
        SessionEvent.objects.using(alias).bulk_create(
            [SessionEvent(**row) for row in rows]
        )
        return
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(field.column)) for field in FIELDS)
    target = f"INSERT INTO {quote(table())} ({columns})"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and len(rows) > 1:
            # One array per column: a short statement whatever the number
            # of rows (psycopg parses a long one again on every call).
            arrays = ", ".join(
                f"%s::{field.cast_db_type(connection)}[]" for field in FIELDS
            )
            columns_of = [
                [field.get_prep_value(_value(row, field)) for row in rows]
                for field in FIELDS
            ]
            # Identifiers come from the model and are quoted; values are
            # parameters.
            cursor.execute(f"{target} SELECT * FROM unnest({arrays})", columns_of)  # noqa: S608
            return
        one = "(" + ", ".join(["%s"] * len(FIELDS)) + ")"
        size = max(1, connection.ops.bulk_batch_size(FIELDS, rows))
        prepared = _Prepared(connection)
        for start in range(0, len(rows), size):
            batch = rows[start : start + size]
            params = [
                prepared(field, _value(row, field)) for row in batch for field in FIELDS
            ]
            cursor.execute(f"{target} VALUES {', '.join([one] * len(batch))}", params)


def _value(row: dict[str, Any], field: Any) -> Any:
    return row.get(field.attname, _empty(field))


class _Prepared:
    """Values as the database takes them; the rows of one batch share most
    of theirs (time, reason, user), so each distinct one is prepared once."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.done: dict[tuple[str, Any], Any] = {}

    def __call__(self, field: Any, value: Any) -> Any:
        if value is None or field.attname in _TEXT:
            return value
        key = (field.attname, value)
        found = self.done.get(key, self)
        if found is self:
            found = self.done[key] = field.get_db_prep_save(value, self.connection)
        return found


def _empty(field: Any) -> Any:
    return None if field.null else ""


def ended_select(
    connection: Any, event: EndedEvent, source: str, column: Callable[[str], str]
) -> tuple[str, str, list[Any]]:
    """``(columns, select list, parameters)`` of an ``INSERT INTO event
    (columns) SELECT <select list> FROM <source>`` recording that the
    sessions in ``source`` ended: the shared values as parameters (typed on
    PostgreSQL), the copied ones as ``source.<column(record field)>``. The
    SQL is made once per database and shape; the parameters every time."""
    key = (connection.alias, connection.vendor, event.user_gone, source)
    found = _SELECTS.get(key)
    if found is None:
        found = _SELECTS[key] = _select(connection, event, source, column)
    columns, select, shared = found
    values = event.shared()
    prepared = _Prepared(connection)
    return (
        columns,
        select,
        [prepared(field, _value(values, field)) for field in shared],
    )


_SELECTS: dict[tuple[str, str, bool, str], tuple[str, str, list[Any]]] = {}


def _select(
    connection: Any, event: EndedEvent, source: str, column: Callable[[str], str]
) -> tuple[str, str, list[Any]]:
    quote = connection.ops.quote_name
    copied = event.copied()
    select, shared = [], []
    for field in FIELDS:
        if field.attname in copied:
            select.append(f"{source}.{column(copied[field.attname])}")
            continue
        shared.append(field)
        if connection.vendor == "postgresql":
            select.append(f"CAST(%s AS {field.cast_db_type(connection)})")
        else:
            select.append("%s")
    columns = ", ".join(quote(str(field.column)) for field in FIELDS)
    return columns, ", ".join(select), shared


def table() -> str:
    return str(SessionEvent._meta.db_table)
