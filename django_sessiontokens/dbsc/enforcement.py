"""The bound cookie on every in-scope request, and the registration offer.

``admit`` runs inside the session's load (only with ``SESSIONTOKENS_DBSC``
on, for a signed-in session in scope), given the binding the load read with
the session (``BaseStore.get_with_binding``: one round trip on Redis). An
unbound session is served as it always was; a bound one only with a valid
bound cookie, or else as signed out (the session is not ended: the real
device refreshes and carries on). ``finish`` runs on the response: it
offers registration when the request signed a user in (and once more on
the next page when that answer was a redirect).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from django_sessiontokens import services
from django_sessiontokens.conf import conf
from django_sessiontokens.core import dbsc
from django_sessiontokens.core import dbsc_headers as headers
from django_sessiontokens.dbsc import scope
from django_sessiontokens.stores import registry

if TYPE_CHECKING:
    from django.http import HttpResponseBase

    from django_sessiontokens.types import DeviceBinding, SessionRecord

security_logger = logging.getLogger("django.security.sessiontokens")


def in_scope(request: Any) -> bool:
    """Must this request carry the bound cookie of a bound session?"""
    return scope.in_scope(request.path_info)


def admit(session: Any, record: SessionRecord, binding: DeviceBinding | None) -> bool:
    """May this request (in scope) use its signed-in session, whose binding
    is ``binding``? Sets ``session.device_bound`` when it carried a valid
    bound cookie."""
    request = session.context.request
    if binding is None:
        return True
    if binding.state != dbsc.BOUND:
        session.dbsc_pending = binding
        return True
    now = timezone.now()
    state = dbsc.cookie_state(binding, request.COOKIES.get(conf.DBSC_COOKIE_NAME), now)
    if state == "valid":
        session.device_bound = True
        return True
    skip = headers.skipped(request.headers.get(headers.SKIPPED))
    ours = skip is not None and skip.session_identifier == binding.dbsc_id
    if (ours and conf.DBSC_ON_SKIPPED == "allow") or dbsc.just_registered(
        binding, state, now
    ):
        return True
    if dbsc.looks_stolen(binding, state, ours, now):
        services.report_binding_anomaly(
            record, "used without its bound cookie", request=request
        )
    else:
        security_logger.info(
            "Session %s served as signed out: bound cookie %s", record.public_id, state
        )
    return False


def forget(request: Any, response: HttpResponseBase) -> None:
    """The session cookie is being deleted (sign-out, an ended or expired
    session): expire the bound cookie too, so that the browser asks for a
    refresh at once and learns that its DBSC session is over."""
    if conf.DBSC and conf.DBSC_COOKIE_NAME in request.COOKIES:
        scope.delete_cookie(response)


def finish(request: Any, response: HttpResponseBase, session: Any) -> None:
    """Offer registration on the answer that signed a user in, and on the
    next page if that answer was a redirect."""
    record = session.record
    if record is None or record.user_id is None or response.status_code >= 400:
        return
    redirect = 300 <= response.status_code < 400
    store = registry.binding_store()
    now = timezone.now()
    if session.signed_in_now:
        stored = store.save(
            dbsc.offer(record.public_id, now, reoffer=redirect), expected=None
        )
    elif session.dbsc_pending is not None and session.dbsc_pending.reoffer:
        if redirect:
            return
        found = session.dbsc_pending
        stored = store.save(
            dbsc.with_new_challenge(found, now).replace(reoffer=False),
            expected=found.version,
        )
    else:
        return
    if stored is not None and conf.DBSC_ORIGIN:
        response[headers.REGISTRATION] = headers.registration(
            scope.register_path(), stored.challenge
        )
