"""SQL of the database store's listing, ending and purge paths (the read
and write hot path is ``stores.db._Statements``; the purge's passes are
``stores.db_passes``, its loops ``stores.db_purge``).

``Cutoffs`` become one ``Pass`` per bound of today's settings, each a range
on a (partial) index of its own (``models.Session``): the purge walks each
pass's index in key order with keyset batches, with the index plan forced
(``INDEXED BY`` on SQLite, planner settings for the batch's transaction on
PostgreSQL), so no plan depends on statistics; a table just filled (bulk
load, restore) has none.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Q
from django.db.models.sql import Query

from django_sessiontokens.models import Session
from django_sessiontokens.stores.base import SEARCH_COUNT_LIMIT
from django_sessiontokens.stores.db_passes import Pass, expired, passes
from django_sessiontokens.types import SessionRecord

if TYPE_CHECKING:
    from django_sessiontokens.core.policy import Cutoffs

#: Every column but the session data (listings, ending, purge records).
LIGHT = [name for name in SessionRecord.__dataclass_fields__ if name != "data"]


def _field(name: str) -> Any:
    return Session._meta.get_field("user" if name == "user_id" else name)


def record(row: dict[str, Any]) -> SessionRecord:
    user_id = row.get("user_id")
    row["user_id"] = None if user_id is None else str(user_id)
    return SessionRecord(**row)


def _as_index_condition(connection: Any, condition: Q) -> str:
    """``condition`` in SQL as Django writes a partial index's condition on
    this database (``Index._get_condition_sql``: values inlined)."""
    query = Query(model=Session, alias_cols=False)
    where = query.build_where(condition)
    sql, params = where.as_sql(query.get_compiler(connection=connection), connection)
    editor = connection.schema_editor()
    return str(sql % tuple(editor.quote_value(value) for value in params))


# Listing and ending -----------------------------------------------------------
def for_user(connection: Any, user_id: str) -> list[SessionRecord]:
    """One indexed query by user, prepared once per database (no queryset
    compiled per call); tombstones and expired records included."""
    sql = table_sql(connection)
    try:
        value = _field("user_id").get_db_prep_value(user_id, connection)
    except (TypeError, ValueError):
        return []
    with connection.cursor() as cursor:
        cursor.execute(sql.by_user, [value])
        return sql.records(cursor.fetchall(), connection)


def delete(
    manager: Any, connection: Any, public_ids: Sequence[str]
) -> list[SessionRecord]:
    """Remove these sessions; the records that existed."""
    sql = table_sql(connection)
    ids = list(public_ids)
    if sql.returning:
        # One statement per chunk: it is atomic on its own, and returns
        # exactly the rows it removed.
        found: list[SessionRecord] = []
        with connection.cursor() as cursor:
            for start in range(0, len(ids), IN_CHUNK):
                chunk = ids[start : start + IN_CHUNK]
                marks = ", ".join(["%s"] * len(chunk))
                cursor.execute(sql.delete_returning.format(marks), chunk)
                found += sql.records(cursor.fetchall(), connection)
        return found
    with transaction.atomic(using=connection.alias):
        rows = list(
            manager.select_for_update().filter(public_id__in=ids).values(*LIGHT)
        )
        if rows:
            manager.filter(public_id__in=[row["public_id"] for row in rows]).delete()
    return [record(row) for row in rows]


def search(
    manager: Any,
    connection: Any,
    cutoffs: Cutoffs,
    *,
    user_ids: Sequence[str] | None,
    ip: str | None,
    state: str,
    offset: int,
    limit: int,
) -> tuple[int, list[SessionRecord]]:
    """``BaseStore.search``: a capped total and one page."""
    qs = manager.filter(user__isnull=False)
    if user_ids is not None:
        qs = qs.filter(user_id__in=list(user_ids))
    if ip:
        qs = qs.filter(ip=ip)
    if state == "active":
        qs = qs.exclude(expired(cutoffs))
    elif state == "expired":
        qs = qs.filter(expired(cutoffs))
    # Exact up to the cap, "more than" beyond it: a listing never counts
    # all sessions (SELECT COUNT(*) FROM (SELECT ... LIMIT cap + 1)).
    total = qs.order_by().values("pk")[: SEARCH_COUNT_LIMIT + 1].count()
    if total <= offset:
        return total, []
    # The page from the activity index, in its order (signed-in rows).
    page = qs.order_by("-last_activity", "public_id").values(*LIGHT)
    page = page[offset : offset + limit]
    if user_ids is not None:  # a few users: their index, then a sort
        return total, [record(row) for row in page]
    with transaction.atomic(using=connection.alias):
        # Walk the index in the page's order whatever the statistics say
        # (a table without them gets a scan and a sort of all rows).
        index_plan(connection)
        return total, [record(row) for row in page]


#: Ids per ``IN (...)`` list (SQLite allows 999 parameters before 3.32).
IN_CHUNK = 500
#: Planner settings for the purge's transactions on PostgreSQL: walk the
#: pass's index in key order, never a sequential or bitmap scan plus sort,
#: so the plan is the same with and without statistics.
INDEX_PLAN = (
    "SELECT set_config('enable_seqscan', 'off', true), "
    "set_config('enable_bitmapscan', 'off', true), "
    "set_config('enable_sort', 'off', true)"
)


def index_plan(connection: Any) -> None:
    """Force index plans until the current transaction ends (PostgreSQL)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(INDEX_PLAN)


class TableSQL:
    """SQL of the listing, ending and purge paths for one database (the hot
    path's is ``_Statements``), with the converters the ORM would apply."""

    def __init__(self, connection: Any) -> None:
        self.vendor = connection.vendor
        self.quote = connection.ops.quote_name
        self.table = self.quote(Session._meta.db_table)
        light = self.light = ", ".join(self.column(name) for name in LIGHT)
        # Identifiers come from the model and are quoted; values are parameters.
        self.by_user = (
            f"SELECT {light} FROM {self.table} "  # noqa: S608
            f"WHERE {self.column('user_id')} = %s "
            f"ORDER BY {self.column('last_activity')} DESC"
        )
        #: ``DELETE ... RETURNING`` (PostgreSQL, SQLite 3.35+): ending
        #: sessions in one statement, no transaction around it.
        self.returning = bool(
            getattr(connection.features, "can_return_columns_from_insert", False)
        ) and self.vendor in ("postgresql", "sqlite")
        self.delete_returning = (
            f"DELETE FROM {self.table} WHERE {self.column('public_id')} "  # noqa: S608
            f"IN ({{}}) RETURNING {light}"
        )
        # The name Django gave the ``db_index`` of ``expires_at`` (the editor
        # is only asked for a name, never entered).
        self.expires_index: str = connection.schema_editor()._create_index_name(
            Session._meta.db_table, [_field("expires_at").column], suffix=""
        )
        #: ``remembered`` as the partial indexes say it, with no parameter
        #: (SQLite's planner must see that a pass's rows are in its index):
        #: in both of the forms Django has written it in (``NOT "remembered"``
        #: up to 6.0, ``"remembered" = 0`` since 6.1), so that an index
        #: created by either matches.
        self.remembered = {
            flag: " AND ".join(
                dict.fromkeys(
                    [
                        f"{'NOT ' * (not flag)}{self.column('remembered')}",
                        _as_index_condition(connection, Q(remembered=flag)),
                    ]
                )
            )
            for flag in (False, True)
        }
        self._converters = []
        for name in LIGHT:
            col = _field(name).get_col(Session._meta.db_table)
            found = connection.ops.get_db_converters(col) + col.get_db_converters(
                connection
            )
            self._converters.append((col, found))
        #: Only the columns that have converters: (position, column, them).
        self._converting = [
            (i, col, found) for i, (col, found) in enumerate(self._converters) if found
        ]

    def records(
        self, rows: Sequence[Sequence[Any]], connection: Any
    ) -> list[SessionRecord]:
        """Rows of the ``LIGHT`` columns as records."""
        found = []
        for row in rows:
            values = list(row)
            for i, col, converters in self._converting:
                value = values[i]
                for converter in converters:
                    value = converter(value, col, connection)
                values[i] = value
            found.append(record(dict(zip(LIGHT, values, strict=True))))
        return found

    def column(self, name: str) -> str:
        return str(self.quote(_field(name).column))

    def value(self, name: str, value: Any, connection: Any) -> Any:
        return _field(name).get_db_prep_value(value, connection, prepared=False)

    def condition(self, step: Pass) -> str:
        """``step.q()`` in SQL; its parameters are ``params(step)``."""
        parts = [f"{self.column(step.key)} <= %s"]
        if step.signed_in is not None:
            parts.append(f"{self.column('user_id')} IS {'NOT ' * step.signed_in}NULL")
        if step.never_authenticated:
            parts.append(f"{self.column('authenticated_at')} IS NULL")
        if step.remembered is not None:
            parts.append(self.remembered[step.remembered])
        if step.ends_after is not None:
            parts.append(f"{self.column('expires_at')} > %s")
        return " AND ".join(parts)

    def params(self, step: Pass, connection: Any) -> list[Any]:
        """The parameters of ``condition(step)``."""
        found = [self.value(step.key, step.bound, connection)]
        if step.ends_after is not None:
            found.append(self.value("expires_at", step.ends_after, connection))
        return found

    def convert(self, name: str, value: Any, connection: Any) -> Any:
        col, converters = self._converters[LIGHT.index(name)]
        for converter in converters:
            value = converter(value, col, connection)
        return value

    def source(self, step: Pass) -> str:
        """The table, and on SQLite the pass's index forced (``INDEXED
        BY``): without statistics SQLite may prefer the user index for
        ``user_id IS NULL`` and sort, walking every anonymous session."""
        if self.vendor != "sqlite":
            return str(self.table)
        index = step.index or self.expires_index
        return f"{self.table} INDEXED BY {self.quote(index)}"

    def select(self, step: Pass, *, after: bool = False) -> str:
        """Up to a batch of the pass's rows in key order: (public id, user
        id, expires_at, key). Parameters: the condition's, [last key], batch
        size."""
        key = self.column(step.key)
        start = f" AND {key} >= %s" if after else ""
        columns = ", ".join(
            self.column(name) for name in ("public_id", "user_id", "expires_at")
        )
        return (
            f"SELECT {columns}, {key} FROM {self.source(step)} "  # noqa: S608
            f"WHERE {self.condition(step)}{start} ORDER BY {key} LIMIT %s"
        )

    def batch(self, step: Pass, *, after: bool = False) -> str:
        """Delete up to a batch of the pass's rows, taken from its index in
        key order, if they still match. PostgreSQL parameters: the
        condition's, [last key], batch size, the condition's; it answers
        (rows taken, last key taken, rows deleted). SQLite: the condition's,
        batch size, the condition's."""
        key, table, condition = self.column(step.key), self.table, self.condition(step)
        # Identifiers come from the model and are quoted; values are parameters.
        if self.vendor == "postgresql":
            start = f" AND {key} >= %s" if after else ""
            return (
                f"WITH batch AS MATERIALIZED (SELECT ctid AS rid, {key} AS k "  # noqa: S608
                f"FROM {table} WHERE {condition}{start} ORDER BY {key} LIMIT %s), "
                f"gone AS (DELETE FROM {table} WHERE ctid = ANY(ARRAY("
                f"SELECT rid FROM batch)) AND {condition} RETURNING 1) "
                "SELECT (SELECT count(*) FROM batch), (SELECT max(k) FROM batch), "
                "(SELECT count(*) FROM gone)"
            )
        return (
            f"DELETE FROM {table} WHERE rowid IN (SELECT rowid FROM "  # noqa: S608
            f"{self.source(step)} WHERE {condition} ORDER BY {key} LIMIT %s) "
            f"AND {condition}"
        )


TABLE_SQL: dict[str, TableSQL] = {}


def table_sql(connection: Any) -> TableSQL:
    found = TABLE_SQL.get(connection.alias)
    if found is None or found.vendor != connection.vendor:
        found = TABLE_SQL[connection.alias] = TableSQL(connection)
    return found


def partial(row: dict[str, Any]) -> SessionRecord:
    user_id = row["user_id"]
    return SessionRecord(
        public_id=row["public_id"],
        secret_hash="",
        created_at=row["expires_at"],
        last_activity=row["expires_at"],
        expires_at=row["expires_at"],
        user_id=None if user_id is None else str(user_id),
    )


__all__ = ["Pass", "expired", "passes"]
