"""Announcing lifecycle events: the audit trail, the log and the signals
(sent after commit, so a rolled-back change announces nothing)."""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.db import transaction
from django.dispatch import Signal
from django.utils.translation import gettext_lazy

from django_sessiontokens import metrics, signals
from django_sessiontokens.conf import conf
from django_sessiontokens.models import Session, SessionEvent
from django_sessiontokens.services import alerts, audit

if TYPE_CHECKING:
    from django.http import HttpRequest

    from django_sessiontokens.core.binding import Anomaly
    from django_sessiontokens.types import Actor, Reason, SessionRecord

logger = logging.getLogger("django_sessiontokens")


def send_after_commit(signal: Signal, **kwargs: Any) -> None:
    """Send one of ``signals`` with ``sender=Session`` once the surrounding
    transaction commits (at once outside one), so a rollback sends nothing."""
    transaction.on_commit(lambda: signal.send(sender=Session, **kwargs))


def _value(item: Any) -> str:
    return str(item.value if isinstance(item, enum.Enum) else item)


def announce_ended(
    records: Iterable[SessionRecord],
    *,
    reason: Reason | str,
    actor: Actor | str,
    ended_by: Any = None,
    request: HttpRequest | None = None,
    unrecorded: Iterable[SessionRecord] | None = None,
) -> None:
    """The log, metrics, audit rows and ``session_ended`` of sessions just
    ended. ``unrecorded``: those whose audit rows are still to write (the
    store wrote the others with the removal); default all."""
    records = list(records)
    if not records:
        return
    reason_value, actor_value = _value(reason), _value(actor)
    metrics.ended(reason_value, actor_value, len(records))
    audit.record_ended(
        records if unrecorded is None else unrecorded,
        reason=reason_value,
        actor=actor_value,
        ended_by=ended_by,
    )
    for record in records:
        logger.info(
            "session ended",
            extra={
                "public_id": record.public_id,
                "user_id": record.user_id,
                "reason": reason_value,
                "actor": actor_value,
            },
        )
        send_after_commit(
            signals.session_ended,
            public_id=record.public_id,
            user_id=record.user_id,
            reason=reason_value,
            actor=actor_value,
            ended_by=ended_by,
            request=request,
        )


def announce_created(
    record: SessionRecord, request: HttpRequest | None, *, reason: str = ""
) -> None:
    """A new session; ``reason`` is ``"login"`` when a sign-in made it."""
    metrics.created(reason)
    audit.record_created(record, request, reason=reason)
    if reason == "login":
        alerts.signed_in(record, request)
    send_after_commit(
        signals.session_created,
        public_id=record.public_id,
        user_id=record.user_id,
        request=request,
    )


def announce_rotated_to(
    previous_public_id: str | None,
    record: SessionRecord,
    *,
    reason: str,
    request: HttpRequest | None = None,
) -> None:
    metrics.rotated(reason)
    audit.record_rotated(previous_public_id, record, reason=reason, request=request)
    if reason == "login":
        alerts.signed_in(record, request)
    send_after_commit(
        signals.session_rotated,
        public_id=record.public_id,
        previous_public_id=previous_public_id,
        user_id=record.user_id,
        reason=reason,
        request=request,
    )


def announce_reuse(record: SessionRecord, request: HttpRequest | None) -> None:
    metrics.reuse()
    audit.record_reuse(record)
    send_after_commit(
        signals.session_reuse_detected,
        public_id=record.public_id,
        user_id=record.user_id,
        request=request,
    )


def announce_anomalies(
    record: SessionRecord, anomalies: list[Anomaly], request: HttpRequest | None
) -> None:
    """``session_anomaly`` for each change the binding policy noticed."""
    for anomaly in anomalies:
        metrics.anomaly(anomaly.kind, anomaly.action)
        send_after_commit(
            signals.session_anomaly,
            public_id=record.public_id,
            user_id=record.user_id,
            kind=anomaly.kind,
            old=anomaly.old,
            new=anomaly.new,
            action=anomaly.action,
            request=request,
        )


#: What a browser whose session was ended elsewhere is told on its next page,
#: by the reason recorded in the audit trail.
SIGNED_OUT = {
    "expired": gettext_lazy("Your session expired. Please sign in again."),
    "password_change": gettext_lazy(
        "You were signed out because your password was changed."
    ),
    "token_reuse": gettext_lazy(
        "You were signed out for your safety: this session was used from two "
        "places at once."
    ),
}
SIGNED_OUT_ELSEWHERE = gettext_lazy(
    "You were signed out: this session was ended from another device or by an "
    "administrator."
)


def explain_sign_out(public_id: str, request: HttpRequest | None) -> None:
    """A cookie names a session that is gone: if the audit trail says it
    was ended (not by signing out here), tell the browser on this page
    through Django's messages. One query, only for such cookies."""
    if request is None or not hasattr(request, "_messages") or not conf.AUDIT:
        return
    reason = (
        SessionEvent.objects.filter(public_id=public_id, kind=SessionEvent.Kind.ENDED)
        .values_list("reason", flat=True)
        .first()
    )
    if reason is None or reason == "logout":
        return
    text = SIGNED_OUT.get(reason, SIGNED_OUT_ELSEWHERE)
    messages.warning(request, text, fail_silently=True)
