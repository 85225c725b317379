"""Device bindings in the database (db and cached_db engines)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction

from django_sessiontokens.models import DeviceBinding as Row
from django_sessiontokens.models import Session
from django_sessiontokens.stores.bindings import BindingStore
from django_sessiontokens.types import BINDING_FIELDS, DeviceBinding


def _binding(values: dict[str, Any]) -> DeviceBinding:
    return DeviceBinding(**values)


class JoinedColumns:
    """The binding's columns joined to a session read (``LEFT JOIN`` on the
    public id), with the converters the ORM would apply: the database
    store's ``get_with_binding`` reads both in one query."""

    def __init__(self, connection: Any) -> None:
        quote = connection.ops.quote_name
        self.vendor = connection.vendor
        self.table = quote(Row._meta.db_table)
        fields: list[Any] = [Row._meta.get_field(name) for name in BINDING_FIELDS]
        self.key = f"{self.table}.{quote(fields[0].column)}"
        self.columns = ", ".join(f"{self.table}.{quote(f.column)}" for f in fields)
        self._converters = []
        for field in fields:
            col = field.get_col(Row._meta.db_table)
            self._converters.append(
                (
                    col,
                    connection.ops.get_db_converters(col)
                    + col.get_db_converters(connection),
                )
            )

    def binding(self, row: Sequence[Any], connection: Any) -> DeviceBinding | None:
        """The binding in the joined columns of ``row``; ``None`` when the
        session has none (the join found no row)."""
        if row[0] is None:
            return None
        values = {}
        for name, value, (col, converters) in zip(
            BINDING_FIELDS, row, self._converters, strict=True
        ):
            for converter in converters:
                value = converter(value, col, connection)
            values[name] = value
        return _binding(values)


_JOINED: dict[str, JoinedColumns] = {}


def joined_columns(connection: Any) -> JoinedColumns:
    found = _JOINED.get(connection.alias)
    if found is None or found.vendor != connection.vendor:
        found = _JOINED[connection.alias] = JoinedColumns(connection)
    return found


class DatabaseBindingStore(BindingStore):
    def __init__(self, using: str | None = None) -> None:
        self.using = using

    def _rows(self) -> Any:
        return Row.objects.using(self.using) if self.using else Row.objects

    def get(self, public_id: str) -> DeviceBinding | None:
        found = self._rows().filter(public_id=public_id).values(*BINDING_FIELDS)
        for values in found[:1]:
            return _binding(values)
        return None

    def get_many(self, public_ids: Sequence[str]) -> dict[str, DeviceBinding]:
        if not public_ids:
            return {}
        found = self._rows().filter(public_id__in=list(public_ids))
        return {
            values["public_id"]: _binding(values)
            for values in found.values(*BINDING_FIELDS)
        }

    def save(
        self, binding: DeviceBinding, *, expected: int | None
    ) -> DeviceBinding | None:
        stored = binding.replace(version=(expected or 0) + 1)
        values = {name: getattr(stored, name) for name in BINDING_FIELDS}
        if expected is None:
            try:
                with transaction.atomic(using=self.using):
                    self._rows().create(**values)
            except IntegrityError:
                return None
            return stored
        del values["public_id"]
        updated = (
            self._rows()
            .filter(public_id=binding.public_id, version=expected)
            .update(**values)
        )
        return stored if updated else None

    def delete(self, public_ids: Sequence[str]) -> None:
        if public_ids:
            self._rows().filter(public_id__in=list(public_ids)).delete()

    def delete_orphans(self) -> int:
        sessions = Session.objects.using(self.using) if self.using else Session.objects
        alive = sessions.filter(public_id__in=self._rows().values("public_id"))
        orphans = self._rows().exclude(public_id__in=alive.values("public_id"))
        deleted: int = orphans.delete()[0]
        return deleted
