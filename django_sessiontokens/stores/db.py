"""Database store: one table, primary key = public id, indexed by user."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, connections, router, transaction
from django.db.models import F, Q

from django_sessiontokens.exceptions import CreateError, StaleCopy, UpdateError
from django_sessiontokens.models import Session
from django_sessiontokens.stores.base import UPDATABLE, BaseStore, SessionRecord
from django_sessiontokens.types import MOVING

if TYPE_CHECKING:
    from django_sessiontokens.core.policy import Cutoffs

_COLUMNS = list(SessionRecord.__dataclass_fields__)
_LIGHT = [name for name in _COLUMNS if name != "data"]


def _field(name: str) -> Any:
    return Session._meta.get_field("user" if name == "user_id" else name)


class _Statements:
    """SQL of the hot path (read by public id, update by public id) for one
    database, with the converters the ORM would apply."""

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
        expires = quote(_field("expires_at").column)
        rows = {"postgresql": "ctid", "sqlite": "rowid"}.get(connection.vendor)
        self.purge: str | None = None
        if rows == "ctid":
            # The outer condition is checked again on the current row version,
            # so a session touched meanwhile is kept.
            self.purge = (
                f"DELETE FROM {self._table} WHERE ctid = ANY(ARRAY("  # noqa: S608
                f"SELECT ctid FROM {self._table} WHERE {expires} <= %s LIMIT %s)) "
                f"AND {expires} <= %s"
            )
        elif rows == "rowid":
            self.purge = (
                f"DELETE FROM {self._table} WHERE rowid IN ("  # noqa: S608
                f"SELECT rowid FROM {self._table} WHERE {expires} <= %s LIMIT %s) "
                f"AND {expires} <= %s"
            )
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
        rows = self._manager().filter(user_id=user_id).values(*_LIGHT)
        return [_record(row) for row in rows]

    def purge_expired(
        self, cutoffs: Cutoffs, *, batch_size: int, dry_run: bool = False
    ) -> Iterator[list[SessionRecord]]:
        fields = ["public_id", "user_id", "expires_at"]
        expired = _expired(cutoffs)
        if dry_run:
            last = None
            while True:
                qs = self._manager().filter(expired)
                if last is not None:
                    qs = qs.filter(public_id__gt=last)
                rows = list(qs.order_by("public_id").values(*fields)[:batch_size])
                if not rows:
                    return
                last = rows[-1]["public_id"]
                yield [_partial(row) for row in rows]
        while True:
            with transaction.atomic(using=self.using):
                rows = list(
                    self._manager()
                    .filter(expired)
                    .order_by()
                    .values(*fields)[:batch_size]
                )
                if not rows:
                    return
                self._manager().filter(
                    expired, public_id__in=[row["public_id"] for row in rows]
                ).delete()
            yield [_partial(row) for row in rows]

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
        total = qs.count()
        rows = qs.order_by("-last_activity", "public_id").values(*_LIGHT)
        return total, [_record(row) for row in rows[offset : offset + limit]]

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
        """One DELETE per batch, nothing read back. The condition is checked
        again on the row being deleted, so a session touched meanwhile is
        kept."""
        connection, _sql = self._sql(for_write=True)
        expired = _expired(cutoffs)
        manager = self._manager()
        if connection.vendor == "sqlite":
            # Every batch revisits the same index pages: keep them in SQLite's
            # own cache (32 MiB for this connection) instead of re-reading.
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA cache_size = -32768")
        while True:
            batch = manager.filter(expired).order_by().values("pk")[:batch_size]
            with transaction.atomic(using=connection.alias):
                removed = int(
                    manager.filter(expired, pk__in=batch)._raw_delete(connection.alias)
                )
            if removed:
                yield removed
            if removed < batch_size:
                return

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


def _expired(cutoffs: Cutoffs) -> Q:
    """``Cutoffs`` as a query: each bound is a range on an indexed column."""
    found = Q(expires_at__lte=cutoffs.now)
    if cutoffs.idle is not None:
        found |= Q(user__isnull=False, last_activity__lte=cutoffs.idle)
    if cutoffs.absolute is not None:
        found |= Q(user__isnull=False, authenticated_at__lte=cutoffs.absolute)
        found |= Q(
            user__isnull=False,
            authenticated_at__isnull=True,
            created_at__lte=cutoffs.absolute,
        )
    if cutoffs.anonymous is not None:
        found |= Q(user__isnull=True, last_activity__lte=cutoffs.anonymous)
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
