"""Database store: one table, primary key = public id, indexed by user."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction

from django_sessiontokens.exceptions import CreateError, UpdateError
from django_sessiontokens.models import Session
from django_sessiontokens.stores.base import UPDATABLE, BaseStore, SessionRecord

_COLUMNS = list(SessionRecord.__dataclass_fields__)
_LIGHT = [name for name in _COLUMNS if name != "data"]


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

    def get(self, public_id: str) -> SessionRecord | None:
        # The values() clause is built once and cloned by filter(): building
        # it costs about half as much as the query on the read hot path.
        base = self.__dict__.get("_values")
        if base is None:
            base = self.__dict__["_values"] = self._manager().values(*_COLUMNS)
        rows = list(base.filter(public_id=public_id))
        return _record(rows[0]) if rows else None

    def create(self, record: SessionRecord) -> None:
        values = {name: getattr(record, name) for name in _COLUMNS}
        try:
            with transaction.atomic(using=self.using):
                self._manager().create(**values)
        except IntegrityError as exc:
            raise CreateError from exc

    def update(self, public_id: str, changes: dict[str, Any]) -> None:
        unknown = set(changes) - UPDATABLE
        if unknown:
            raise ValueError(f"cannot update {sorted(unknown)}")
        updated = self._manager().filter(public_id=public_id).update(**changes)
        if not updated:
            raise UpdateError

    def rotate(
        self, public_id: str, expected_hash: str, changes: dict[str, Any]
    ) -> bool:
        updated = (
            self._manager()
            .filter(public_id=public_id, secret_hash=expected_hash)
            .update(**changes)
        )
        return bool(updated)

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
        self, now: datetime, *, batch_size: int, dry_run: bool = False
    ) -> Iterator[list[SessionRecord]]:
        fields = ["public_id", "user_id", "expires_at"]
        if dry_run:
            last = None
            while True:
                qs = self._manager().filter(expires_at__lte=now)
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
                    .filter(expires_at__lte=now)
                    .order_by()
                    .values(*fields)[:batch_size]
                )
                if not rows:
                    return
                self._manager().filter(
                    public_id__in=[row["public_id"] for row in rows],
                    expires_at__lte=now,
                ).delete()
            yield [_partial(row) for row in rows]

    def search(
        self,
        *,
        now: datetime,
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
            qs = qs.filter(expires_at__gt=now)
        elif state == "expired":
            qs = qs.filter(expires_at__lte=now)
        total = qs.count()
        rows = qs.order_by("-last_activity", "public_id").values(*_LIGHT)
        return total, [_record(row) for row in rows[offset : offset + limit]]

    def count(self) -> int:
        return int(self._manager().count())

    def count_expired(self, now: datetime) -> int:
        return int(self._manager().filter(expires_at__lte=now).count())

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
                [
                    Session(**{name: getattr(record, name) for name in _COLUMNS})
                    for record in fresh
                ],
                ignore_conflicts=True,
            )
        return [record.public_id for record in fresh]

    def all(self) -> Iterator[SessionRecord]:
        for row in self._manager().values(*_COLUMNS).iterator():
            yield _record(row)


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
