"""Database store: one table, primary key = public id, indexed by user."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, connections, router, transaction
from django.db.models import F

from django_sessiontokens.exceptions import CreateError, StaleCopy, UpdateError
from django_sessiontokens.models import Session
from django_sessiontokens.stores import db_ending, db_purge, db_sql
from django_sessiontokens.stores.base import (
    UPDATABLE,
    BaseStore,
    Selection,
    SessionRecord,
)
from django_sessiontokens.stores.bindings_db import DatabaseBindingStore, joined_columns
from django_sessiontokens.types import MOVING

if TYPE_CHECKING:
    from django_sessiontokens.core.policy import Cutoffs
    from django_sessiontokens.stores.bindings import BindingStore
    from django_sessiontokens.types import DeviceBinding, EndedEvent

_COLUMNS = list(SessionRecord.__dataclass_fields__)
_LIGHT = [name for name in _COLUMNS if name != "data"]


def _field(name: str) -> Any:
    return Session._meta.get_field("user" if name == "user_id" else name)


class _Statements:
    """SQL of the hot path (read by public id, update by public id) for one
    database, with the converters the ORM would apply. The listing, ending
    and purge SQL is ``db_sql``'s."""

    def __init__(self, connection: Any) -> None:
        self.vendor = connection.vendor
        quote = connection.ops.quote_name
        table = Session._meta.db_table
        self._table = quote(table)
        self._quote = quote
        self._key = quote(_field("public_id").column)
        columns = ", ".join(
            f"{self._table}.{quote(_field(name).column)}" for name in _COLUMNS
        )
        # Identifiers come from the model and are quoted; values are parameters.
        self.table = self._table
        self.key = f"{self._table}.{self._key}"
        self.select_columns = f"SELECT {columns}"
        self.select = f"{self.select_columns} FROM {self._table} WHERE {self.key} = %s"
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

    def database_alias(self) -> str:
        return self.using or router.db_for_write(Session)

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

    def get_with_binding(
        self, public_id: str, bindings: BindingStore
    ) -> tuple[SessionRecord | None, DeviceBinding | None]:
        """The session and its device binding in one query (a ``LEFT JOIN``)
        when the bindings are in the same database."""
        if (
            not isinstance(bindings, DatabaseBindingStore)
            or bindings.using != self.using
        ):
            return super().get_with_binding(public_id, bindings)
        connection, sql = self._sql()
        joined = joined_columns(connection)
        statement = (
            f"{sql.select_columns}, {joined.columns} FROM {sql.table} "
            f"LEFT JOIN {joined.table} ON {joined.key} = {sql.key} WHERE {sql.key} = %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(statement, [public_id])
            row = cursor.fetchone()
        if row is None:
            return None, None
        width = len(_COLUMNS)
        record = _record(sql.convert(row[:width], connection))
        if record.moving:
            return None, None
        if record.user_id is None:
            return record, None
        return record, joined.binding(row[width:], connection)

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
        base: SessionRecord | None = None,
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
                removed, _ = self._manager().filter(public_id=old_public_id).delete()
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
        return db_sql.delete(self._manager(), connection, public_ids)

    def end(
        self, selection: Selection, event: EndedEvent | None = None
    ) -> tuple[list[SessionRecord], list[SessionRecord]]:
        """One statement (PostgreSQL) or one transaction (SQLite) removes
        the sessions and writes their audit rows (``db_ending``)."""
        connection, _sql = self._sql(for_write=True)
        if not db_sql.table_sql(connection).returning:
            return super().end(selection, event)
        return db_ending.end(connection, selection, event)

    def for_user(self, user_id: str) -> list[SessionRecord]:
        connection, _sql = self._sql()
        return db_sql.for_user(connection, user_id)

    def purge_expired(
        self, cutoffs: Cutoffs, *, batch_size: int, dry_run: bool = False
    ) -> Iterator[list[SessionRecord]]:
        """Pass by pass (``db_sql.passes``), each walking its own index in
        key order with keyset batches; a batch's rows are deleted only if
        they still match the pass's condition, and only those deleted are
        yielded. A dry run walks the primary key under ``_expired``."""
        connection, _sql = self._sql(for_write=not dry_run)
        walk = db_purge.dry_run if dry_run else db_purge.purge
        yield from walk(self._manager(), connection, cutoffs, batch_size)

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
        connection, _sql = self._sql()
        return db_sql.search(
            self._manager(),
            connection,
            cutoffs,
            user_ids=user_ids,
            ip=ip,
            state=state,
            offset=offset,
            limit=limit,
        )

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
        pass (``db_sql.passes``). Each pass walks its own (partial) index in
        key order, so a batch costs in proportion to the rows it removes;
        the pass's condition is checked again on the row being deleted, so
        a session touched meanwhile is kept.

        PostgreSQL: the batch's row ids are taken from the index in key
        order, from the last key of the previous batch on (the dead tuples
        of earlier batches are not walked again), and the index plan is
        forced for the batch's transaction, so the plan does not depend on
        statistics (a table just filled has none). SQLite deletes rows in
        place: each batch starts again at the beginning of the range, which
        holds only rows still to remove."""
        connection, _sql = self._sql(for_write=True)
        if connection.vendor in ("postgresql", "sqlite"):
            yield from db_purge.purge_quietly(connection, cutoffs, batch_size)
        else:
            yield from super().purge_expired_quietly(cutoffs, batch_size=batch_size)

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


#: ``Cutoffs`` as a query (the OR of the purge's passes).
_expired = db_sql.expired
