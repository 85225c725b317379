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
