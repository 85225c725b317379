"""Database store: one table, primary key = public id, indexed by user."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, connections, router, transaction
from django.db.models import F, Q

from django_sessiontokens.exceptions import CreateError, StaleCopy, UpdateError
from django_sessiontokens.models import Session
from django_sessiontokens.stores.base import (
    SEARCH_COUNT_LIMIT,
    UPDATABLE,
    BaseStore,
    SessionRecord,
)
from django_sessiontokens.types import MOVING

if TYPE_CHECKING:
    from django_sessiontokens.core.policy import Cutoffs

_COLUMNS = list(SessionRecord.__dataclass_fields__)
_LIGHT = [name for name in _COLUMNS if name != "data"]


def _field(name: str) -> Any:
    return Session._meta.get_field("user" if name == "user_id" else name)


class _Statements:
    """SQL of the hot path (read by public id, update by public id) for one
    database, with the converters the ORM would apply. The purge's SQL is
    ``_TableSQL``."""

    def __init__(self, connection: Any) -> None:
        self.vendor = connection.vendor
        quote = connection.ops.quote_name
        table = Session._meta.db_table
        self._table = quote(table)
        self._quote = quote
        self._key = quote(_field("public_id").column)
        columns = ", ".join(quote(_field(name).column) for name in _COLUMNS)
        # Identifiers come from the model and are quoted; values are parameters.
        self.select = f"SELECT {columns} FROM {self._table} WHERE {self._key} = %s"  # noqa: S608
        self._converters = []
        for name in _COLUMNS:
            col = _field(name).get_col(table)
            found = connection.ops.get_db_converters(col) + col.get_db_converters(
                connection
            )
            self._converters.append((col, found))

    def convert(self, row: Sequence[Any], connection: Any) -> dict[str, Any]:
        values = {}
        for name, value, (col, converters) in zip(
            _COLUMNS, row, self._converters, strict=True
        ):
            for converter in converters:
                value = converter(value, col, connection)
            values[name] = value
        return values

    def update(
        self,
        changes: dict[str, Any],
        public_id: str,
        connection: Any,
        unless_newer_than: tuple[int, Any] | None = None,
    ) -> tuple[str, list[Any]]:
        assignments, params = [], []
        for name, value in {**changes, "written_at": _now()}.items():
            field = _field(name)
            assignments.append(f"{self._quote(field.column)} = %s")
            params.append(field.get_db_prep_save(value, connection=connection))
        version = self._quote(_field("version").column)
        assignments.append(f"{version} = {version} + 1")
        sets = ", ".join(assignments)
        statement = f"UPDATE {self._table} SET {sets} WHERE {self._key} = %s"  # noqa: S608
        params.append(public_id)
        if unless_newer_than is not None:
            written = self._quote(_field("written_at").column)
            statement += f" AND ({version} = %s OR {written} > %s)"
            seen, read_at = unless_newer_than
            params += [seen, _field("written_at").get_db_prep_save(read_at, connection)]
        return statement, params


_STATEMENTS: dict[str, _Statements] = {}


def _record(row: dict[str, Any]) -> SessionRecord:
    user_id = row.get("user_id")
    row["user_id"] = None if user_id is None else str(user_id)
    return SessionRecord(**row)


class DatabaseStore(BaseStore):
    name = "db"

    def __init__(self, using: str | None = None) -> None:
        self.using = using

    def _manager(self) -> Any:
        return Session.objects.using(self.using) if self.using else Session.objects

    def _sql(self, for_write: bool = False) -> tuple[Any, _Statements]:
        alias = self.using or (
            router.db_for_write(Session) if for_write else router.db_for_read(Session)
        )
        connection = connections[alias]
        statements = _STATEMENTS.get(alias)
        if statements is None or statements.vendor != connection.vendor:
            statements = _STATEMENTS[alias] = _Statements(connection)
        return connection, statements

    def get(self, public_id: str) -> SessionRecord | None:
        record = self.peek(public_id)
        return None if record is None or record.moving else record

    def peek(self, public_id: str) -> SessionRecord | None:
        # The read hot path: SQL prepared once per database, Django's own
        # converters applied; no queryset is compiled per request.
        connection, sql = self._sql()
        with connection.cursor() as cursor:
            cursor.execute(sql.select, [public_id])
            row = cursor.fetchone()
        if row is None:
            return None
        return _record(sql.convert(row, connection))

    def create(self, record: SessionRecord) -> None:
        values = _values(record)
        record.version = values["version"]
        try:
            with transaction.atomic(using=self.using):
                self._manager().create(**values)
        except IntegrityError as exc:
            raise CreateError from exc

    def update(
        self,
        public_id: str,
        changes: dict[str, Any],
        *,
        unless_newer_than: tuple[int, Any] | None = None,
    ) -> None:
        """``unless_newer_than=(version, read_at)``: apply only if the row
        still has that version or was written after ``read_at`` (a write
        racing this one, not one the caller's copy missed); else
        ``StaleCopy``."""
        unknown = set(changes) - UPDATABLE
        if unknown:
            raise ValueError(f"cannot update {sorted(unknown)}")
        connection, sql = self._sql(for_write=True)
        statement, params = sql.update(
            changes, public_id, connection, unless_newer_than
        )
        with connection.cursor() as cursor:
            cursor.execute(statement, params)
            updated = cursor.rowcount
        if not updated:
            if unless_newer_than is not None and self._exists(public_id):
                raise StaleCopy
            raise UpdateError

    def _exists(self, public_id: str) -> bool:
        return bool(self._manager().filter(public_id=public_id).exists())

    def rotate(
        self, public_id: str, expected_hash: str, changes: dict[str, Any]
    ) -> bool:
        updated = (
            self._manager()
            .filter(public_id=public_id, secret_hash=expected_hash)
            .update(**changes, **_write_stamp())
        )
        return bool(updated)

    def mark_moving(self, public_id: str, expected_hash: str) -> bool:
        updated = (
            self._manager()
            .filter(public_id=public_id, secret_hash=expected_hash)
            .exclude(secret_hash__startswith=MOVING)
            .update(secret_hash=MOVING + expected_hash, **_write_stamp())
        )
        return bool(updated)

    def replace(self, old_public_id: str, record: SessionRecord) -> bool:
        values = _values(record)
        try:
            with transaction.atomic(using=self.using):
                removed, _ = (
                    self._manager().filter(public_id=old_public_id).delete()
                )
                if not removed:
                    return False
                self._manager().create(**values)
        except IntegrityError as exc:
            raise CreateError from exc
        record.version = values["version"]
        return True

    def delete(self, public_ids: Sequence[str]) -> list[SessionRecord]:
        if not public_ids:
            return []
        connection, _sql = self._sql(for_write=True)
        sql = _table_sql(connection)
        if sql.returning:
            # One statement per chunk: it is atomic on its own, and returns
            # exactly the rows it removed.
            found: list[SessionRecord] = []
            ids = list(public_ids)
            with connection.cursor() as cursor:
                for start in range(0, len(ids), _IN_CHUNK):
                    chunk = ids[start : start + _IN_CHUNK]
                    marks = ", ".join(["%s"] * len(chunk))
                    cursor.execute(sql.delete_returning.format(marks), chunk)
                    found += sql.records(cursor.fetchall(), connection)
            return found
        with transaction.atomic(using=self.using):
            rows = list(
                self._manager()
                .select_for_update()
                .filter(public_id__in=list(public_ids))
                .values(*_LIGHT)
            )
            if rows:
                self._manager().filter(
                    public_id__in=[row["public_id"] for row in rows]
                ).delete()
        return [_record(row) for row in rows]

    def for_user(self, user_id: str) -> list[SessionRecord]:
        # One indexed query by user, prepared once per database (no queryset
        # compiled per call); tombstones and expired records included.
        connection, _sql = self._sql()
        sql = _table_sql(connection)
        try:
            value = _field("user_id").get_db_prep_value(user_id, connection)
        except (TypeError, ValueError):
            return []
        with connection.cursor() as cursor:
            cursor.execute(sql.by_user, [value])
            return sql.records(cursor.fetchall(), connection)

    def purge_expired(
        self, cutoffs: Cutoffs, *, batch_size: int, dry_run: bool = False
    ) -> Iterator[list[SessionRecord]]:
        """Pass by pass (``_passes``), each walking its own index in key
        order with keyset batches; a batch's rows are deleted only if they
        still match the pass's condition, and only those deleted are
        yielded. A dry run walks the primary key under ``_expired`` (each
        expired row once, whichever bounds it is past)."""
        fields = ["public_id", "user_id", "expires_at"]
        if dry_run:
            expired = _expired(cutoffs)
            last = None
            while True:
                qs = self._manager().filter(expired)
                if last is not None:
                    qs = qs.filter(public_id__gt=last)
                connection, _sql = self._sql()
                with transaction.atomic(using=connection.alias):
                    _index_plan(connection)  # the primary key, in its order
                    rows = list(qs.order_by("public_id").values(*fields)[:batch_size])
                if not rows:
                    return
                last = rows[-1]["public_id"]
                yield [_partial(row) for row in rows]
        connection, _sql = self._sql(for_write=True)
        for step in _passes(cutoffs):
            condition = step.q()
            after: Any = None
            while True:
                with transaction.atomic(using=connection.alias):
                    rows = self._batch(step, after, batch_size, connection)
                    gone = self._delete_matching(
                        condition, [row[0] for row in rows], connection.alias
                    )
                batch = [
                    _partial(dict(zip(fields, row, strict=False)))
                    for row in rows
                    if row[0] in gone
                ]
                if batch:
                    yield batch
                if len(rows) < batch_size:
                    break
                after = rows[-1][3]

    def _batch(
        self, step: _Pass, after: Any, batch_size: int, connection: Any
    ) -> list[tuple[Any, ...]]:
        """Up to ``batch_size`` rows of the pass from ``after`` on, in key
        order, from the pass's index: (public id, user id, expires_at, key)."""
        if connection.vendor not in ("postgresql", "sqlite"):
            qs = self._manager().filter(step.q())
            if after is not None:
                qs = qs.filter(**{f"{step.key}__gte": after})
            qs = qs.order_by(step.key)
            fields = ("public_id", "user_id", "expires_at", step.key)
            return list(qs.values_list(*fields)[:batch_size])
        sql = _table_sql(connection)
        bound = sql.value(step.key, step.bound, connection)
        params = [bound, *([] if after is None else [after]), batch_size]
        _index_plan(connection)
        with connection.cursor() as cursor:
            cursor.execute(sql.select(step, after=after is not None), params)
            rows = cursor.fetchall()
        return [
            (pid, uid, sql.convert("expires_at", end, connection), key)
            for pid, uid, end, key in rows
        ]

    def _delete_matching(
        self, condition: Q, public_ids: list[str], alias: str
    ) -> set[str]:
        """Delete those of ``public_ids`` that still match ``condition``;
        the ids deleted."""
        gone: set[str] = set()
        manager = self._manager()
        for start in range(0, len(public_ids), _IN_CHUNK):
            chunk = public_ids[start : start + _IN_CHUNK]
            removed = manager.filter(condition, pk__in=chunk)._raw_delete(alias)
            if removed == len(chunk):
                gone.update(chunk)
                continue
            kept = set(manager.filter(pk__in=chunk).values_list("pk", flat=True))
            gone.update(pid for pid in chunk if pid not in kept)
        return gone

    def search(
        self,
        cutoffs: Cutoffs,
        *,
        user_ids: Sequence[str] | None = None,
        ip: str | None = None,
        state: str = "active",
        offset: int = 0,
        limit: int = 100,
    ) -> tuple[int, list[SessionRecord]]:
        qs = self._manager().filter(user__isnull=False)
        if user_ids is not None:
            qs = qs.filter(user_id__in=list(user_ids))
        if ip:
            qs = qs.filter(ip=ip)
        if state == "active":
            qs = qs.exclude(_expired(cutoffs))
        elif state == "expired":
            qs = qs.filter(_expired(cutoffs))
        # Exact up to the cap, "more than" beyond it: a listing never counts
        # all sessions (SELECT COUNT(*) FROM (SELECT ... LIMIT cap + 1)).
        total = qs.order_by().values("pk")[: SEARCH_COUNT_LIMIT + 1].count()
        if total <= offset:
            return total, []
        # The page from the activity index, in its order (signed-in rows).
        page = qs.order_by("-last_activity", "public_id").values(*_LIGHT)
        page = page[offset : offset + limit]
        if user_ids is not None:  # a few users: their index, then a sort
            return total, [_record(row) for row in page]
        connection, _sql = self._sql()
        with transaction.atomic(using=connection.alias):
            # Walk the index in the page's order whatever the statistics
            # say (a table without them gets a scan and a sort of all rows).
            _index_plan(connection)
            return total, [_record(row) for row in page]

    def purge_batch_size(self) -> int:
        # Measured at 1M rows, half expired: a batch rewrites every page it
        # touches (rows and index entries are spread over the whole table), so
        # SQLite, which also syncs per commit, needs large batches (~1 s each)
        # to pass 100k rows/s; PostgreSQL passes 300k rows/s with 50k rows a
        # statement (about 0.15 s each).
        connection, _sql = self._sql(for_write=True)
        return 100_000 if connection.vendor == "sqlite" else 50_000

    def purge_expired_quietly(
        self, cutoffs: Cutoffs, *, batch_size: int
    ) -> Iterator[int]:
        """One statement per batch, nothing read back but counts, pass by
        pass (``_passes``). Each pass walks its own (partial) index in key
        order, so a batch costs in proportion to the rows it removes; the
        pass's condition is checked again on the row being deleted, so a
        session touched meanwhile is kept.

        PostgreSQL: the batch's row ids are taken from the index in key
        order, from the last key of the previous batch on (the dead tuples
        of earlier batches are not walked again), and the index plan is
        forced for the batch's transaction, so the plan does not depend on
        statistics (a table just filled has none). SQLite deletes rows in
        place: each batch starts again at the beginning of the range, which
        holds only rows still to remove."""
        connection, _sql = self._sql(for_write=True)
        if connection.vendor not in ("postgresql", "sqlite"):
            yield from super().purge_expired_quietly(cutoffs, batch_size=batch_size)
            return
        sql = _table_sql(connection)
        if connection.vendor == "sqlite":
            # Every batch revisits the same index pages: keep them in SQLite's
            # own cache (32 MiB for this connection) instead of re-reading.
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA cache_size = -32768")
        for step in _passes(cutoffs):
            bound = sql.value(step.key, step.bound, connection)
            after: Any = None
            while True:
                if connection.vendor == "postgresql":
                    statement = sql.batch(step, after=after is not None)
                    params = [bound, *([] if after is None else [after])]
                    with transaction.atomic(using=connection.alias):
                        _index_plan(connection)
                        with connection.cursor() as cursor:
                            cursor.execute(statement, [*params, batch_size, bound])
                            selected, after, removed = cursor.fetchone()
                else:
                    with connection.cursor() as cursor:
                        cursor.execute(sql.batch(step), [bound, batch_size, bound])
                        # One statement holds the write lock from its
                        # subquery to its deletes: nothing changes between.
                        selected = removed = cursor.rowcount
                if removed:
                    yield removed
                if selected < batch_size:
                    break

    def count(self) -> int:
        return int(self._manager().count())

    def count_expired(self, cutoffs: Cutoffs) -> int:
        return int(self._manager().filter(_expired(cutoffs)).count())

    def create_many(self, records: Sequence[SessionRecord]) -> list[str]:
        ids = [record.public_id for record in records]
        with transaction.atomic(using=self.using):
            taken = set(
                self._manager()
                .filter(public_id__in=ids)
                .values_list("public_id", flat=True)
            )
            fresh = [record for record in records if record.public_id not in taken]
            self._manager().bulk_create(
                [Session(**_values(record)) for record in fresh],
                ignore_conflicts=True,
            )
        return [record.public_id for record in fresh]

    def all(self) -> Iterator[SessionRecord]:
        for row in self._manager().values(*_COLUMNS).iterator():
            yield _record(row)


def _now() -> Any:
    from django.utils import timezone

    return timezone.now()


def _write_stamp() -> dict[str, Any]:
    """What every write changes besides its own fields."""
    return {"version": F("version") + 1, "written_at": _now()}


def _values(record: SessionRecord) -> dict[str, Any]:
    """Column values to insert ``record`` with (a first version)."""
    values = {name: getattr(record, name) for name in _COLUMNS}
    values["version"] = 1
    values["written_at"] = _now()
    return values


@dataclass(frozen=True)
class _Pass:
    """One bound of ``Cutoffs``: rows whose ``key`` is at most ``bound``,
    among signed-in (``signed_in=True``), anonymous (``False``) or all
    (``None``) sessions; ``never_authenticated`` adds ``authenticated_at IS
    NULL``. Each pass has an index of its own (``models.Session``)."""

    key: str
    bound: datetime
    signed_in: bool | None = None
    never_authenticated: bool = False
    #: The pass's index (``None``: the ``expires_at`` field's own).
    index: str | None = None

    def q(self) -> Q:
        found = Q(**{f"{self.key}__lte": self.bound})
        if self.signed_in is not None:
            found &= Q(user__isnull=not self.signed_in)
        if self.never_authenticated:
            found &= Q(authenticated_at__isnull=True)
        return found


def _passes(cutoffs: Cutoffs) -> list[_Pass]:
    """``Cutoffs`` as ranges, one per index: a session is expired when it
    falls in any of them (``Cutoffs.expired``)."""
    found = [_Pass("expires_at", cutoffs.now)]
    if cutoffs.idle is not None:
        found.append(
            _Pass(
                "last_activity",
                cutoffs.idle,
                signed_in=True,
                index="sessiontokens_activity",
            )
        )
    if cutoffs.absolute is not None:
        found.append(
            _Pass(
                "authenticated_at",
                cutoffs.absolute,
                signed_in=True,
                index="sessiontokens_authenticated",
            )
        )
        found.append(
            _Pass(
                "created_at",
                cutoffs.absolute,
                signed_in=True,
                never_authenticated=True,
                index="sessiontokens_created",
            )
        )
    if cutoffs.anonymous is not None:
        found.append(
            _Pass(
                "last_activity",
                cutoffs.anonymous,
                signed_in=False,
                index="sessiontokens_anonymous",
            )
        )
    return found


def _expired(cutoffs: Cutoffs) -> Q:
    """``Cutoffs`` as a query: the OR of ``_passes``, each a range on an
    indexed column."""
    found = Q()
    for step in _passes(cutoffs):
        found |= step.q()
    return found


#: Ids per ``IN (...)`` list (SQLite allows 999 parameters before 3.32).
_IN_CHUNK = 500
#: Planner settings for the purge's transactions on PostgreSQL: walk the
#: pass's index in key order, never a sequential or bitmap scan plus sort,
#: so the plan is the same with and without statistics.
_INDEX_PLAN = (
    "SELECT set_config('enable_seqscan', 'off', true), "
    "set_config('enable_bitmapscan', 'off', true), "
    "set_config('enable_sort', 'off', true)"
)


def _index_plan(connection: Any) -> None:
    """Force index plans until the current transaction ends (PostgreSQL)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_INDEX_PLAN)


class _TableSQL:
    """SQL of the listing, ending and purge paths for one database (the hot
    path's is ``_Statements``), with the converters the ORM would apply."""

    def __init__(self, connection: Any) -> None:
        self.vendor = connection.vendor
        self.quote = connection.ops.quote_name
        self.table = self.quote(Session._meta.db_table)
        light = ", ".join(self.column(name) for name in _LIGHT)
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
        self._converters = []
        for name in _LIGHT:
            col = _field(name).get_col(Session._meta.db_table)
            found = connection.ops.get_db_converters(col) + col.get_db_converters(
                connection
            )
            self._converters.append((col, found))

    def records(
        self, rows: Sequence[Sequence[Any]], connection: Any
    ) -> list[SessionRecord]:
        """Rows of the ``_LIGHT`` columns as records."""
        found = []
        for row in rows:
            values = {}
            for name, value, (col, converters) in zip(
                _LIGHT, row, self._converters, strict=True
            ):
                for converter in converters:
                    value = converter(value, col, connection)
                values[name] = value
            found.append(_record(values))
        return found

    def column(self, name: str) -> str:
        return str(self.quote(_field(name).column))

    def value(self, name: str, value: Any, connection: Any) -> Any:
        return _field(name).get_db_prep_value(value, connection, prepared=False)

    def condition(self, step: _Pass) -> str:
        """``step.q()`` in SQL, with the bound as the one parameter."""
        parts = [f"{self.column(step.key)} <= %s"]
        if step.signed_in is not None:
            parts.append(f"{self.column('user_id')} IS {'NOT ' * step.signed_in}NULL")
        if step.never_authenticated:
            parts.append(f"{self.column('authenticated_at')} IS NULL")
        return " AND ".join(parts)

    def convert(self, name: str, value: Any, connection: Any) -> Any:
        col, converters = self._converters[_LIGHT.index(name)]
        for converter in converters:
            value = converter(value, col, connection)
        return value

    def source(self, step: _Pass) -> str:
        """The table, and on SQLite the pass's index forced (``INDEXED
        BY``): without statistics SQLite may prefer the user index for
        ``user_id IS NULL`` and sort, walking every anonymous session."""
        if self.vendor != "sqlite":
            return str(self.table)
        index = step.index or self.expires_index
        return f"{self.table} INDEXED BY {self.quote(index)}"

    def select(self, step: _Pass, *, after: bool = False) -> str:
        """Up to a batch of the pass's rows in key order: (public id, user
        id, expires_at, key). Parameters: bound, [last key], batch size."""
        key = self.column(step.key)
        start = f" AND {key} >= %s" if after else ""
        columns = ", ".join(
            self.column(name) for name in ("public_id", "user_id", "expires_at")
        )
        return (
            f"SELECT {columns}, {key} FROM {self.source(step)} "  # noqa: S608
            f"WHERE {self.condition(step)}{start} ORDER BY {key} LIMIT %s"
        )

    def batch(self, step: _Pass, *, after: bool = False) -> str:
        """Delete up to a batch of the pass's rows, taken from its index in
        key order, if they still match. PostgreSQL parameters: bound,
        [last key], batch size, bound; it answers (rows taken, last key
        taken, rows deleted). SQLite: bound, batch size, bound."""
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


_TABLE_SQL: dict[str, _TableSQL] = {}


def _table_sql(connection: Any) -> _TableSQL:
    found = _TABLE_SQL.get(connection.alias)
    if found is None or found.vendor != connection.vendor:
        found = _TABLE_SQL[connection.alias] = _TableSQL(connection)
    return found


def _partial(row: dict[str, Any]) -> SessionRecord:
    user_id = row["user_id"]
    return SessionRecord(
        public_id=row["public_id"],
        secret_hash="",
        created_at=row["expires_at"],
        last_activity=row["expires_at"],
        expires_at=row["expires_at"],
        user_id=None if user_id is None else str(user_id),
    )
