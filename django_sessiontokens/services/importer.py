"""Move ``django.contrib.sessions`` database sessions into ours.

Each live row of ``django_session`` (the db and cached_db engines of
``django.contrib.sessions``) is decoded as Django decodes it and stored as a
record whose public id is ``tokens.legacy_public_id(key)`` and whose secret
hash is the SHA-256 of the old key: the raw key is never stored. With
``SESSIONTOKENS_ACCEPT_IMPORTED = True`` the browser's old cookie is accepted
once and replaced at once by a token of ours (``session_rotated``, reason
``"imported"``).

``django.contrib.sessions`` need not be installed: the table is read through
a model of our own, registered in a private app registry.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.apps.registry import Apps
from django.conf import settings
from django.contrib.auth import SESSION_KEY, get_user_model
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import connections, models, router, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from django_sessiontokens.conf import conf
from django_sessiontokens.core import policy, tokens
from django_sessiontokens.stores.base import BaseStore, SessionRecord

#: ``SessionBase.key_salt`` of every engine of django.contrib.sessions (their
#: classes are all called ``SessionStore``).
LEGACY_SALT = "django.contrib.sessions.SessionStore"
LEGACY_TABLE = "django_session"


class LegacySession(models.Model):
    """``django.contrib.sessions.models.Session``'s table, read-only use."""

    session_key = models.CharField(max_length=40, primary_key=True)
    session_data = models.TextField()
    expire_date = models.DateTimeField()

    objects: models.Manager[LegacySession] = models.Manager()

    class Meta:
        apps = Apps()
        app_label = "sessiontokens_import"
        db_table = LEGACY_TABLE
        managed = False

    def __str__(self) -> str:
        return "django.contrib.sessions session"


@dataclass
class ImportBatch:
    """What one batch did (or would do, in a dry run)."""

    imported: list[str] = field(default_factory=list)
    already: int = 0
    undecodable: int = 0
    unknown_user: int = 0
    removed: int = 0

    @property
    def rows(self) -> int:
        return len(self.imported) + self.already + self.undecodable + self.unknown_user


class LegacyTableMissing(Exception):
    pass


def _database() -> str:
    return router.db_for_read(LegacySession) or "default"


def table_exists() -> bool:
    connection = connections[_database()]
    return LEGACY_TABLE in connection.introspection.table_names()


def counts(now: datetime) -> tuple[int, int]:
    """``(live, expired)`` rows of the old table."""
    if not table_exists():
        raise LegacyTableMissing(LEGACY_TABLE)
    rows = LegacySession.objects.using(_database())
    live = rows.filter(expire_date__gt=now).count()
    return live, rows.count() - live


def decode(session_data: str) -> dict[str, Any] | None:
    """The session dict, as ``SessionBase.decode`` reads it (``SECRET_KEY``
    and its fallbacks), or ``None`` when it cannot be read."""
    try:
        data = signing.loads(
            session_data,
            salt=LEGACY_SALT,
            serializer=import_string(settings.SESSION_SERIALIZER),
        )
    except Exception:  # a bad signature or unreadable payload
        return None
    return data if isinstance(data, dict) else None


def _existing_users(user_ids: set[str]) -> set[str]:
    model = get_user_model()
    pks = []
    for user_id in user_ids:
        try:
            pks.append(model._meta.pk.to_python(user_id))
        except (ValidationError, ValueError, TypeError):
            continue
    found = model._default_manager.filter(pk__in=pks).values_list("pk", flat=True)
    return {str(pk) for pk in found}


def build_record(
    token: tokens.Token, data: dict[str, Any], expire_date: datetime, now: datetime
) -> SessionRecord:
    """The record for an imported session: signed in (if it was) as of the
    import, and ending no later than the old session would have."""
    raw_user = data.get(SESSION_KEY)
    user_id = None if raw_user in (None, "") else str(raw_user)
    limits = policy.limits(
        authenticated=user_id is not None,
        idle=conf.IDLE_TIMEOUT,
        absolute=conf.ABSOLUTE_TIMEOUT,
        anonymous=conf.ANONYMOUS_TIMEOUT,
    )
    end = policy.expires_at(
        limits=limits,
        last_activity=now,
        authenticated_at=now if user_id else None,
        created_at=now,
        custom=data.get("_session_expiry"),
    )
    serializer = import_string(settings.SESSION_SERIALIZER)
    return SessionRecord(
        public_id=token.public_id,
        secret_hash=token.secret_hash,
        created_at=now,
        last_activity=now,
        expires_at=min(end, expire_date),
        data=bytes(serializer().dumps(data)).decode("latin-1"),
        user_id=user_id,
        authenticated_at=now if user_id else None,
        rotated_at=now,
    )


def _batch_records(
    rows: list[LegacySession], now: datetime, batch: ImportBatch
) -> list[tuple[str, SessionRecord]]:
    decoded: list[tuple[str, tokens.Token, dict[str, Any], datetime]] = []
    for row in rows:
        token = tokens.parse(row.session_key, accept_legacy=True)
        data = decode(row.session_data)
        if token is None or not token.legacy or not data:
            batch.undecodable += 1
            continue
        decoded.append((row.session_key, token, data, row.expire_date))
    user_ids = {str(d[SESSION_KEY]) for _, _, d, _ in decoded if d.get(SESSION_KEY)}
    users = _existing_users(user_ids) if user_ids else set()
    records = []
    for key, token, data, expire_date in decoded:
        user_id = data.get(SESSION_KEY)
        if user_id not in (None, "") and str(user_id) not in users:
            batch.unknown_user += 1
            continue
        records.append((key, build_record(token, data, expire_date, now)))
    return records


def import_sessions(
    store: BaseStore,
    *,
    batch_size: int,
    dry_run: bool = False,
    keep_source: bool = False,
    now: datetime | None = None,
) -> Iterator[ImportBatch]:
    """Import live rows batch by batch (in primary-key order), yielding what
    each batch did. Rows already imported are skipped, so a second run only
    picks up what is new. Unless ``keep_source``, each imported row (and
    each one imported before) is deleted from the old table in the batch's
    transaction, so it cannot be imported twice."""
    if not table_exists():
        raise LegacyTableMissing(LEGACY_TABLE)
    now = now or timezone.now()
    using = _database()
    last = ""
    while True:
        rows = list(
            LegacySession.objects.using(using)
            .filter(expire_date__gt=now, session_key__gt=last)
            .order_by("session_key")[:batch_size]
        )
        if not rows:
            return
        last = rows[-1].session_key
        batch = ImportBatch()
        with transaction.atomic(using=using):
            records = _batch_records(rows, now, batch)
            if dry_run:
                for _key, record in records:
                    if store.get(record.public_id) is None:
                        batch.imported.append(record.public_id)
                    else:
                        batch.already += 1
            else:
                created = set(store.create_many([r for _, r in records]))
                batch.imported = [
                    r.public_id for _, r in records if r.public_id in created
                ]
                batch.already = len(records) - len(created)
                if not keep_source:
                    keys = [key for key, _ in records]
                    batch.removed, _ = (
                        LegacySession.objects.using(using)
                        .filter(session_key__in=keys)
                        .delete()
                    )
        yield batch
