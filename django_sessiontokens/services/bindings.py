"""Device bindings (DBSC) in the session lifecycle: they follow rotations,
end with their session, and what they notice is announced here (signal,
audit trail, log). Every function does nothing, without any I/O, while
``SESSIONTOKENS_DBSC`` is off."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from django_sessiontokens import signals
from django_sessiontokens.conf import conf
from django_sessiontokens.core.binding import Anomaly
from django_sessiontokens.services import audit, events
from django_sessiontokens.stores import registry

if TYPE_CHECKING:
    from django.http import HttpRequest

    from django_sessiontokens.types import DeviceBinding, SessionRecord

security_logger = logging.getLogger("django.security.sessiontokens")
KIND = "device_binding"


def follow_rotation(previous: str | None, new_public_id: str, reason: str) -> None:
    """A sign-in drops the old binding (the new session registers again);
    any other rotation to a new public id keeps the key."""
    if not conf.DBSC or previous is None or previous == new_public_id:
        return
    store = registry.binding_store()
    if reason == "login":
        store.delete([previous])
    else:
        store.move(previous, new_public_id)


def end(public_ids: Sequence[str]) -> None:
    """The sessions ended: so do their bindings (the device then hears
    ``continue: false`` at its next refresh)."""
    if conf.DBSC and public_ids:
        registry.binding_store().delete(public_ids)


def purge_orphans() -> None:
    """After a purge: bindings whose session is gone (the database; Redis
    bindings expire on their own)."""
    if conf.DBSC:
        registry.binding_store().delete_orphans()


def bound_ids(public_ids: Sequence[str]) -> set[str]:
    """Which of these sessions are bound to a device (listings)."""
    if not conf.DBSC or not public_ids:
        return set()
    found = registry.binding_store().get_many(public_ids)
    return {pid for pid, binding in found.items() if binding.state == "bound"}


def announce_bound(
    record: SessionRecord, binding: DeviceBinding, request: HttpRequest | None
) -> None:
    audit.record_binding(audit.BOUND, record)
    events.send_after_commit(
        signals.session_bound,
        public_id=record.public_id,
        user_id=record.user_id,
        algorithm=binding.algorithm,
        request=request,
    )


def announce_refused(record: SessionRecord, why: str) -> None:
    """A registration or refresh proof was refused (logged and audited)."""
    security_logger.warning(
        "Session %s: device binding refused: %s", record.public_id, why
    )
    audit.record_binding(audit.BINDING_REFUSED, record, reason=why)


def announce_anomaly(
    record: SessionRecord, why: str, action: str, request: HttpRequest | None
) -> None:
    """``session_anomaly`` with kind ``device_binding`` (``old`` is None,
    ``new`` says what was seen)."""
    security_logger.warning(
        "Session %s: device binding anomaly (%s); action %s",
        record.public_id,
        why,
        action,
    )
    events.announce_anomalies(
        record, [Anomaly(kind=KIND, old=None, new=why, action=action)], request
    )
