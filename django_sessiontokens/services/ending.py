"""Ending, listing and purging sessions: the only code that ends them.

Admin, views, API, commands, receivers and the session engines all call these
functions; each ends sessions in storage first, then records and announces it
(``session_ended`` after commit).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import OperationalError, connections
from django.utils import timezone

from django_sessiontokens import metrics
from django_sessiontokens.core import policy
from django_sessiontokens.services import audit, bindings, events
from django_sessiontokens.stores import registry
from django_sessiontokens.stores.base import BaseStore, Selection
from django_sessiontokens.types import Actor, Reason, SessionInfo, SessionRecord

if TYPE_CHECKING:
    from django.http import HttpRequest

logger = logging.getLogger("django_sessiontokens")


#: Waits between tries when SQLite reports "database is locked" (seconds).
LOCKED_RETRY_DELAYS = (0.05, 0.1, 0.2, 0.4, 0.8)


def _retry_when_locked(
    delete: Callable[[], list[SessionRecord]],
) -> list[SessionRecord]:
    """A revocation must not fail under ordinary concurrency: SQLite without
    ``transaction_mode = "IMMEDIATE"`` (and every SQLite on Django 4.2) can
    refuse a write with "database is locked" while another writer holds the
    lock; try again a few times, outside a transaction (inside one the
    caller's transaction is already lost)."""
    for delay in (*LOCKED_RETRY_DELAYS, None):
        try:
            return delete()
        except OperationalError as exc:
            if delay is None or "locked" not in str(exc) or _in_transaction():
                raise
            logger.warning("Ending sessions: %s; trying again", exc)
            time.sleep(delay)
    raise AssertionError("unreachable")


def _in_transaction() -> bool:
    return any(connection.in_atomic_block for connection in connections.all())


def get_store() -> BaseStore:
    """The store of the configured ``SESSION_ENGINE`` (``stores.registry``)."""
    return registry.get_store()


def info(record: SessionRecord, now: datetime) -> SessionInfo:
    """What a listing shows of ``record``, decided under today's settings."""
    expires_at, active = policy.ending(record, now)
    return SessionInfo(
        public_id=record.public_id,
        user_id=record.user_id,
        created_at=record.created_at,
        authenticated_at=record.authenticated_at,
        last_activity=record.last_activity,
        expires_at=expires_at,
        ip=record.ip,
        user_agent=record.user_agent,
        active=active,
        impersonator_id=record.impersonator_id,
        remembered=record.remembered,
    )


def end_sessions(
    public_ids: Iterable[str],
    *,
    reason: Reason | str,
    actor: Actor | str = Actor.SYSTEM,
    ended_by: Any = None,
    request: HttpRequest | None = None,
    store: BaseStore | None = None,
) -> list[SessionInfo]:
    """End these sessions; returns what was ended (unknown ids are skipped)."""
    ids = list(dict.fromkeys(public_ids))
    if not ids:
        return []
    return _end(
        Selection(ids=ids),
        reason=reason,
        actor=actor,
        ended_by=ended_by,
        request=request,
        store=store or get_store(),
    )


def _end(
    selection: Selection,
    *,
    reason: Reason | str,
    actor: Actor | str,
    ended_by: Any,
    request: HttpRequest | None,
    store: BaseStore,
) -> list[SessionInfo]:
    """Remove, then record and announce. A database store writes the audit
    rows with the removal (one statement or one transaction: one commit);
    otherwise they follow it. The signals go out after commit."""
    reason_value, actor_value = _value(reason), _value(actor)
    event = audit.ended_event(reason_value, actor_value, ended_by)

    def end() -> list[SessionRecord]:
        ended, unrecorded = store.end(selection, event)
        bindings.end([record.public_id for record in ended])
        events.announce_ended(
            ended,
            reason=reason_value,
            actor=actor_value,
            ended_by=ended_by,
            request=request,
            unrecorded=unrecorded,
        )
        return ended

    ended = _retry_when_locked(end)
    now = timezone.now()
    return [info(record, now) for record in ended]


def end_session(
    public_id: str,
    *,
    reason: Reason | str = Reason.REVOKED,
    actor: Actor | str = Actor.SYSTEM,
    ended_by: Any = None,
    request: HttpRequest | None = None,
    user: Any = None,
    store: BaseStore | None = None,
) -> bool:
    """End one session. With ``user``, only if it belongs to that user."""
    store = store or get_store()
    if user is not None:
        owned = {record.public_id for record in store.for_user(str(user.pk))}
        if public_id not in owned:
            return False
    return bool(
        end_sessions(
            [public_id],
            reason=reason,
            actor=actor,
            ended_by=ended_by,
            request=request,
            store=store,
        )
    )


#: Reasons that end impersonated sessions too: the account cannot be used.
_ACCOUNT_GONE = frozenset({Reason.USER_DISABLED.value, Reason.USER_DELETED.value})


def _value(item: Reason | Actor | str) -> str:
    return item.value if isinstance(item, (Reason, Actor)) else str(item)


def _public_id_of(item: Any) -> str | None:
    if item is None:
        return None
    if isinstance(item, str):
        return item
    public_id = getattr(item, "public_id", None)  # a session object
    return public_id if isinstance(public_id, str) else None


def end_user_sessions(
    user: Any,
    *,
    except_: Any = None,
    reason: Reason | str = Reason.REVOKED,
    actor: Actor | str = Actor.SYSTEM,
    ended_by: Any = None,
    request: HttpRequest | None = None,
    store: BaseStore | None = None,
) -> list[SessionInfo]:
    """End every session of ``user`` (a user or a pk) but ``except_`` (a
    public id or a session object, read when this runs) and the sessions in
    which someone else impersonates them: those are the impersonator's (they
    end with the account itself, or one by one by public id)."""
    return _end(
        Selection(
            user_id=str(getattr(user, "pk", user)),
            keep=_public_id_of(except_),
            impersonated=_value(reason) in _ACCOUNT_GONE,
        ),
        reason=reason,
        actor=actor,
        ended_by=ended_by,
        request=request,
        store=store or get_store(),
    )


def list_user_sessions(
    user: Any, *, include_expired: bool = False, store: BaseStore | None = None
) -> list[SessionInfo]:
    """The user's sessions, most recently active first."""
    store = store or get_store()
    now = timezone.now()
    infos = [
        found
        for found in (
            info(record, now)
            for record in store.for_user(str(getattr(user, "pk", user)))
            if not record.moving
        )
        if include_expired or found.active
    ]
    infos.sort(key=lambda info: (info.last_activity, info.created_at), reverse=True)
    return infos


def purge_expired(
    *,
    batch_size: int | None = None,
    dry_run: bool = False,
    send_signals: bool | None = None,
    now: datetime | None = None,
    store: BaseStore | None = None,
) -> Iterator[int]:
    """Remove expired sessions batch by batch, yielding each batch's size."""
    from django_sessiontokens.conf import conf

    store = store or get_store()
    batch_size = batch_size or conf.PURGE_BATCH_SIZE or store.purge_batch_size()
    if send_signals is None:
        send_signals = conf.PURGE_SEND_SIGNALS
    cutoffs = policy.cutoffs(now or timezone.now())
    if not dry_run:
        metrics.purge_run()
    if not send_signals and not dry_run:
        for count in store.purge_expired_quietly(cutoffs, batch_size=batch_size):
            metrics.purged(count)
            yield count
        bindings.purge_orphans()
        return
    for batch in store.purge_expired(cutoffs, batch_size=batch_size, dry_run=dry_run):
        if send_signals and not dry_run:
            metrics.purged(len(batch))
            events.announce_ended(batch, reason=Reason.EXPIRED, actor=Actor.SYSTEM)
        yield len(batch)
    if not dry_run:
        bindings.purge_orphans()


def clear_expired() -> int:
    """Everything ``purge_expired`` removes, counted (Django's clearsessions)."""
    return sum(purge_expired())


def count_expired(
    *, now: datetime | None = None, store: BaseStore | None = None
) -> int:
    """How many sessions ``purge_expired`` would remove now."""
    store = store or get_store()
    return store.count_expired(policy.cutoffs(now or timezone.now()))


def search_sessions(
    *,
    state: str = "active",
    user_ids: list[str] | None = None,
    offset: int = 0,
    limit: int = 100,
    now: datetime | None = None,
    store: BaseStore | None = None,
) -> tuple[int, list[SessionInfo]]:
    """Signed-in sessions, most recently active first: ``(total, page)``.
    ``state`` is ``"active"``, ``"expired"`` or ``"all"``."""
    store = store or get_store()
    now = now or timezone.now()
    total, records = store.search(
        policy.cutoffs(now),
        user_ids=user_ids,
        state=state,
        offset=offset,
        limit=limit,
    )
    return total, [info(record, now) for record in records]


def report_reuse(
    record: SessionRecord,
    *,
    request: HttpRequest | None = None,
    store: BaseStore | None = None,
) -> None:
    """A rotated-away token came back after its grace: end the session."""
    end_sessions(
        [record.public_id],
        reason=Reason.TOKEN_REUSE,
        actor=Actor.SYSTEM,
        request=request,
        store=store,
    )
    events.announce_reuse(record, request)


def report_binding_anomaly(
    record: SessionRecord,
    why: str,
    *,
    request: HttpRequest | None = None,
    store: BaseStore | None = None,
) -> bool:
    """A proof signed by another key, or the bound session used without its
    bound cookie in a way only another client would: ``session_anomaly``
    (kind ``device_binding``); the session ends if
    ``SESSIONTOKENS_DBSC_ON_ANOMALY = "end"``. ``True`` when it ended."""
    from django_sessiontokens.conf import conf

    action = conf.DBSC_ON_ANOMALY
    bindings.announce_anomaly(record, why, action, request)
    if action != "end":
        return False
    end_sessions(
        [record.public_id], reason=Reason.DEVICE_BINDING, request=request, store=store
    )
    return True
