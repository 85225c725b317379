"""The audit trail: one ``SessionEvent`` row per lifecycle event of a
signed-in session.

``services`` calls the recorders below, with one multi-row INSERT per batch
(``stores.event_rows``); a database store writes an ending's rows in the
statement that removes the sessions (``ended_event``, ``BaseStore.end``),
so they commit together. Inside a transaction the rows are written in it
(in a savepoint), so they commit with the change they record and a rollback
leaves none; outside one they are written at once. A database error while
writing is logged, never raised: the session operation (on Redis, say) has
already happened and stands.
``SESSIONTOKENS_AUDIT = False`` turns all of it off, without a query.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import DatabaseError, router, transaction
from django.utils import timezone

from django_sessiontokens import devices
from django_sessiontokens.conf import conf
from django_sessiontokens.models import SessionEvent
from django_sessiontokens.stores import event_rows
from django_sessiontokens.types import EndedEvent

if TYPE_CHECKING:
    from django.http import HttpRequest

    from django_sessiontokens.stores.base import SessionRecord

logger = logging.getLogger("django_sessiontokens")


#: ``SessionEvent.kind`` values.
CREATED, ROTATED, ENDED, REUSE_DETECTED, NEW_DEVICE = (
    "created",
    "rotated",
    "ended",
    "reuse_detected",
    "new_device",
)

#: Events that record the device (``devices.family``).
_SIGHTINGS = frozenset({CREATED, ROTATED, NEW_DEVICE})
BOUND, BINDING_REFUSED = "bound", "binding_refused"

#: Reasons after which the user row no longer exists when the event is written.
_USER_GONE = frozenset({"user_deleted"})


#: The sizes of the free-text columns.
_SIZES = {
    name: int(getattr(SessionEvent._meta.get_field(name), "max_length", 0) or 0)
    for name in ("reason", "actor")
}


def _fit(name: str, value: str) -> str:
    """A reason or actor cut to its column: a row is never refused for it
    (custom reasons are free text)."""
    return value[: _SIZES[name]]


def _event(
    kind: str,
    record: SessionRecord,
    *,
    reason: str = "",
    actor: str = "",
    previous_public_id: str | None = None,
) -> dict[str, Any]:
    """The row of one event (``ended`` rows: ``EndedEvent.row``)."""
    return {
        "time": timezone.now(),
        "kind": kind,
        "public_id": record.public_id,
        "previous_public_id": previous_public_id or "",
        "user_id": record.user_id,
        "reason": _fit("reason", reason),
        "actor": _fit("actor", actor),
        "ended_by_id": None,
        "ip": record.ip or None,
        # What the new-device rule compares: sign-ins and alerts only (an
        # ending of many sessions parses no user agents).
        "device": devices.family(record.user_agent) if kind in _SIGHTINGS else "",
        "impersonator_id": record.impersonator_id,
    }


def _write(rows: list[dict[str, Any]]) -> None:
    alias = router.db_for_write(SessionEvent)
    try:
        if transaction.get_connection(alias).in_atomic_block:
            # In a savepoint: a failed INSERT must not abort the caller's
            # transaction (PostgreSQL would refuse the rest of it).
            with transaction.atomic(using=alias):
                event_rows.insert(alias, rows)
        else:
            event_rows.insert(alias, rows)
    except DatabaseError:
        logger.exception("Could not write %d session event(s)", len(rows))


def _signed_in(records: Iterable[SessionRecord]) -> list[SessionRecord]:
    return [record for record in records if record.user_id is not None]


def _request_actor(request: HttpRequest | None) -> str:
    return "user" if request is not None else "system"


def record_created(
    record: SessionRecord, request: HttpRequest | None, *, reason: str = ""
) -> None:
    if conf.AUDIT and record.user_id is not None:
        _write([_event(CREATED, record, reason=reason, actor=_request_actor(request))])


def record_rotated(
    previous_public_id: str | None,
    record: SessionRecord,
    *,
    reason: str,
    request: HttpRequest | None,
) -> None:
    """A sign-in (reason ``"login"``) starts a signed-in session: that is
    recorded as ``created``, naming the session it replaced; any other new
    token is ``rotated``."""
    if not conf.AUDIT or record.user_id is None:
        return
    kind = CREATED if reason == "login" else ROTATED
    actor = "system" if reason == "periodic" else _request_actor(request)
    row = _event(
        kind, record, reason=reason, actor=actor, previous_public_id=previous_public_id
    )
    _write([row])


def ended_event(reason: str, actor: str, ended_by: Any) -> EndedEvent | None:
    """What an ending's rows share (``None`` with the audit trail off): a
    database store writes them with the removal (``BaseStore.end``)."""
    if not conf.AUDIT:
        return None
    return EndedEvent(
        time=timezone.now(),
        reason=_fit("reason", reason),
        actor=_fit("actor", actor),
        ended_by_id=getattr(ended_by, "pk", None),
        user_gone=reason in _USER_GONE,
    )


def record_ended(
    records: Iterable[SessionRecord], *, reason: str, actor: str, ended_by: Any
) -> None:
    event = ended_event(reason, actor, ended_by)
    if event is None:
        return
    rows = [event.row(record) for record in _signed_in(records)]
    if rows:
        _write(rows)


def record_reuse(record: SessionRecord) -> None:
    if conf.AUDIT and record.user_id is not None:
        _write([_event(REUSE_DETECTED, record, actor="system")])


def record_new_device(record: SessionRecord) -> None:
    """The new-device alert for this sign-in (what limits alerts to one per
    device a day). Written at once: alerts run after commit."""
    try:
        event_rows.insert(
            router.db_for_write(SessionEvent),
            [_event(NEW_DEVICE, record, actor="system")],
        )
    except DatabaseError:
        logger.exception("Could not write a session event")


def record_binding(kind: str, record: SessionRecord, *, reason: str = "") -> None:
    """``bound`` (a key registered) or ``binding_refused`` (a refresh or
    registration proof refused; ``reason`` says why)."""
    if conf.AUDIT and record.user_id is not None:
        _write([_event(kind, record, reason=reason, actor="system")])


def prune_events(now: datetime | None = None) -> int:
    """Delete events older than ``SESSIONTOKENS_AUDIT_RETENTION``, batch by
    batch; returns how many. ``None`` retention keeps everything."""
    retention = conf.AUDIT_RETENTION
    if retention is None:
        return 0
    cutoff = (now or timezone.now()) - timedelta(seconds=retention)
    batch_size = max(conf.PURGE_BATCH_SIZE or 5000, 1)
    removed = 0
    while True:
        ids = list(
            SessionEvent.objects.filter(time__lt=cutoff)
            .order_by()
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return removed
        removed += SessionEvent.objects.filter(pk__in=ids).delete()[0]
