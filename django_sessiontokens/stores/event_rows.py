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
    target = f"INSERT INTO {quote(SessionEvent._meta.db_table)} ({columns})"
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
        for start in range(0, len(rows), size):
            batch = rows[start : start + size]
            params = [
                _prepared(field, _value(row, field), connection)
                for row in batch
                for field in FIELDS
            ]
            cursor.execute(f"{target} VALUES {', '.join([one] * len(batch))}", params)


def _value(row: dict[str, Any], field: Any) -> Any:
    return row.get(field.attname, _empty(field))


def _prepared(field: Any, value: Any, connection: Any) -> Any:
    if value is None or field.attname in _TEXT:
        return value
    return field.get_db_prep_save(value, connection)


def _empty(field: Any) -> Any:
    return None if field.null else ""


def ended_select(
    connection: Any, event: EndedEvent, column_of: Callable[[str], str]
) -> tuple[str, str, list[Any]]:
    """``(columns, select list, parameters)`` of an ``INSERT INTO event
    (columns) SELECT <select list> FROM <the sessions>`` recording that
    they ended: the shared values as parameters (typed on PostgreSQL), the
    copied ones as ``column_of(record field)``."""
    quote = connection.ops.quote_name
    shared, copied = event.shared(), event.copied()
    select, params = [], []
    for field in FIELDS:
        if field.attname in copied:
            select.append(column_of(copied[field.attname]))
            continue
        value = shared.get(field.attname, _empty(field))
        params.append(field.get_db_prep_save(value, connection))
        if connection.vendor == "postgresql":
            select.append(f"CAST(%s AS {field.cast_db_type(connection)})")
        else:
            select.append("%s")
    columns = ", ".join(quote(str(field.column)) for field in FIELDS)
    return columns, ", ".join(select), params


def table() -> str:
    return str(SessionEvent._meta.db_table)
