"""New-device sign-in alerts (``SESSIONTOKENS_NEW_DEVICE_ALERT``).

After a sign-in commits, the rule of ``core.new_device`` is asked about the
new session against the user's other sessions and audit events; for a new
device the alert is recorded in the audit trail (``new_device``), an email
goes to the user (templates ``sessiontokens/email/new_device_*``) and
``session_new_device`` is sent, whether or not the email could be sent.
Nothing here can fail the sign-in: every error is logged.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from django_sessiontokens import devices, location, signals
from django_sessiontokens.conf import conf
from django_sessiontokens.core import new_device
from django_sessiontokens.models import Session, SessionEvent
from django_sessiontokens.services import audit
from django_sessiontokens.stores import registry

if TYPE_CHECKING:
    from django.http import HttpRequest

    from django_sessiontokens.types import SessionRecord

logger = logging.getLogger("django_sessiontokens")

SUBJECT_TEMPLATE = "sessiontokens/email/new_device_subject.txt"
TEXT_TEMPLATE = "sessiontokens/email/new_device_body.txt"
HTML_TEMPLATE = "sessiontokens/email/new_device_body.html"
#: Audit events read per check, newest first (enough for any real user).
MAX_EVENTS = 500


def signed_in(record: SessionRecord, request: HttpRequest | None) -> None:
    """A sign-in stored ``record``: check it once the transaction commits."""
    if not conf.NEW_DEVICE_ALERT or not conf.AUDIT or record.user_id is None:
        return
    transaction.on_commit(lambda: _after_commit(record, request))


def _after_commit(record: SessionRecord, request: HttpRequest | None) -> None:
    try:
        user = get_user_model()._default_manager.filter(pk=record.user_id).first()
        if user is None or check(record, user) is not new_device.Verdict.NEW:
            return
        audit.record_new_device(record)
        emailed = conf.NEW_DEVICE_ALERT is True and send_email(user, record, request)
        found = location.locate(record.ip)
        signals.session_new_device.send(
            sender=Session,
            public_id=record.public_id,
            user_id=record.user_id,
            user=user,
            device=devices.describe(record.user_agent).label,
            ip=record.ip,
            location=found.as_json() if found else None,
            emailed=emailed,
            request=request,
        )
    except Exception:
        logger.exception("New-device check of session %s failed", record.public_id)


def _sightings(
    record: SessionRecord, since: Any
) -> tuple[list[new_device.Sighting], bool]:
    """The user's other sessions and recent audit events as sightings, and
    whether anything of theirs is on record."""
    user_id = record.user_id
    assert user_id is not None
    sightings = [
        new_device.Sighting(
            devices.family(other.user_agent),
            new_device.network(other.ip),
            other.last_activity,
        )
        for other in registry.get_store().for_user(user_id)
        if other.public_id != record.public_id and not other.moving
    ]
    events = (
        SessionEvent.objects.filter(user_id=user_id, time__gte=since)
        .exclude(public_id=record.public_id)
        .order_by("-time")
        .values_list("kind", "device", "ip", "time")[:MAX_EVENTS]
    )
    sightings += [
        new_device.Sighting(
            device, new_device.network(ip), time, alerted=kind == audit.NEW_DEVICE
        )
        for kind, device, ip, time in events
    ]
    on_record = bool(sightings) or (
        SessionEvent.objects.filter(user_id=user_id)
        .exclude(public_id=record.public_id)
        .exists()
    )
    return sightings, on_record


def check(record: SessionRecord, user: Any) -> new_device.Verdict:
    """What the new-device rule says about the sign-in that stored
    ``record`` (see ``core.new_device``)."""
    now = timezone.now()
    window = timedelta(seconds=conf.NEW_DEVICE_WINDOW)
    sightings, on_record = _sightings(record, now - window)
    return new_device.decide(
        devices.family(record.user_agent),
        new_device.network(record.ip),
        sightings,
        now=now,
        window=window,
        anything_on_record=on_record,
        joined=getattr(user, "date_joined", None),
    )


def sessions_url(request: HttpRequest | None) -> str:
    """The "your sessions" page, absolute when the request is known."""
    try:
        path = reverse("sessiontokens:list")
    except NoReverseMatch:
        return ""
    return request.build_absolute_uri(path) if request is not None else path


def send_email(user: Any, record: SessionRecord, request: HttpRequest | None) -> bool:
    """Email the alert to the user; ``False`` when they have no address or
    sending failed (logged)."""
    address = getattr(user, user.get_email_field_name(), "") or ""
    if not address:
        return False
    context = {
        "user": user,
        "device": devices.describe(record.user_agent),
        "ip": record.ip,
        "location": location.locate(record.ip),
        "time": record.authenticated_at or record.created_at,
        "sessions_url": sessions_url(request),
    }
    subject = " ".join(render_to_string(SUBJECT_TEMPLATE, context).split())
    try:
        send_mail(
            subject,
            render_to_string(TEXT_TEMPLATE, context),
            None,
            [address],
            html_message=render_to_string(HTML_TEMPLATE, context),
        )
    except Exception:
        logger.exception("Could not send the new-device email for %s", record.public_id)
        return False
    return True
