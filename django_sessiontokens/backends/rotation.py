"""Rotation for ``TokenSessionStore``: a new public id (login, privilege
change, the binding policy, imported cookies) and a new secret on the same
public id (periodic); and what a load does about a binding change or a
reused token. The decisions are ``core.lifecycle``'s; this is the I/O
they call for.

A rotation to a new public id leaves the old record as a moving tombstone
(``BaseStore.mark_moving``: the old token stops working at once) and the
next save replaces it by the new record only if the tombstone is still there
(``BaseStore.replace``). Ending the session meanwhile, by any path, deletes
the tombstone, so the in-flight request creates nothing and fails with
``UpdateError``: an ended session stays ended.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from django.utils import timezone

from django_sessiontokens import services
from django_sessiontokens.conf import conf
from django_sessiontokens.core import binding, lifecycle, tokens
from django_sessiontokens.exceptions import CreateError, UpdateError
from django_sessiontokens.services import bindings, events, limits
from django_sessiontokens.types import Reason

security_logger = logging.getLogger("django.security.sessiontokens")

if TYPE_CHECKING:
    from django_sessiontokens.backends.base import TokenSessionStore
    from django_sessiontokens.stores.base import BaseStore
    from django_sessiontokens.types import RequestContext, SessionRecord


@dataclass
class _Pending:
    """A rotation to a new public id, stored by the next save. ``previous``
    is the public id left as a moving tombstone (``None``: nothing stored)."""

    previous: str | None
    reason: str
    authenticated_at: datetime | None
    #: Carried over, except by a sign-in (chosen again at each one).
    remembered: bool = False


class RotationMixin:
    """Mixed into ``TokenSessionStore`` (which provides the rest)."""

    _record: SessionRecord | None
    _pending: _Pending | None
    _session_key: str | None
    _session_cache: dict[str, Any]
    _authenticated_now: bool
    context: RequestContext
    resend_cookie: bool
    cookie_due: bool
    signed_in_now: bool
    modified: bool
    #: ``session_rotated``'s reason for the next ``cycle_key``.
    rotation_reason = "privilege_change"

    if TYPE_CHECKING:

        def get_store(self) -> BaseStore: ...
        def _token(self) -> tokens.Token | None: ...
        def _user_id(self, data: dict[str, Any]) -> str | None: ...
        def _cache(self) -> dict[str, Any]: ...
        def _new_record(
            self, token: tokens.Token, data: dict[str, Any]
        ) -> SessionRecord: ...
        def _forget(self, reason: str) -> dict[str, Any]: ...
        @property
        def session_key(self) -> str | None: ...
        @property
        def _session(self) -> dict[str, Any]: ...

    def _apply_binding(
        self, record: SessionRecord, data: dict[str, Any]
    ) -> dict[str, Any]:
        """IP / user-agent change policy (``core.binding``)."""
        ctx = self.context
        action, anomalies = binding.decide(
            record,
            ip=ctx.ip,
            user_agent=ctx.user_agent,
            on_ip_change=conf.ON_IP_CHANGE,
            on_ua_change=conf.ON_UA_CHANGE,
        )
        events.announce_anomalies(record, anomalies, ctx.request)
        if action == "end":
            services.end_sessions(
                [record.public_id],
                reason=Reason.BINDING,
                request=ctx.request,
                store=self.get_store(),
            )
            return self._forget("ended")
        if action == "rotate" and not self._rotate_new_id(data, reason="binding"):
            return self._forget("ended")
        return data

    def _reuse_detected(self, record: SessionRecord) -> None:
        security_logger.error(
            "Session %s: a rotated-away token was used after its grace window; "
            "the session was ended",
            record.public_id,
        )
        services.report_reuse(
            record, request=self.context.request, store=self.get_store()
        )

    def _rotate_new_id(self, data: dict[str, Any], *, reason: str) -> bool:
        """Replace the token by one with a new public id: the old token dies
        now (a moving tombstone), the new record is written by the next save.
        ``False`` when the stored session was ended meanwhile."""
        old = self._record
        previous = None
        if old is not None:
            if not self.get_store().mark_moving(old.public_id, old.secret_hash):
                self._record = None
                return False
            previous = old.public_id
        self._pending = _Pending(
            previous=previous,
            reason=reason,
            authenticated_at=old.authenticated_at if old else None,
            remembered=old.remembered if old else False,
        )
        self._record = None
        self._session_cache = data
        self._session_key = tokens.new_token(self._user_id(data)).value
        self.modified = True
        return True

    def cycle_key(self) -> None:
        """New token, same data; the previous token stops working at once.
        If the session was ended meanwhile, it stays ended: the data is
        dropped instead."""
        data: dict[str, Any] = self._session
        if self._pending is not None:
            self._pending.reason = self.rotation_reason
            self._session_key = tokens.new_token(self._user_id(data)).value
        elif not self._rotate_new_id(data, reason=self.rotation_reason):
            self._session_cache = {}
            self._session_key = None
            self.modified = True

    def rotate(self, *, reason: str = "privilege_change") -> None:
        """Public entry point (``django_sessiontokens.rotate``)."""
        self.rotation_reason = reason
        self.cycle_key()

    def note_login(self) -> None:
        """Called on ``user_logged_in``: the token always changes at login,
        even when Django kept it (same user signing in again)."""
        if self._pending is not None:
            self._pending.reason = "login"
            # Final now (under the user's routing tag), not at the save:
            # allauth headless hands the key to app clients in the view.
            self._session_key = tokens.new_token(self._user_id(self._cache())).value
        elif self.session_key is not None:
            self.rotate(reason="login")
        if self._pending is not None:
            self._pending.remembered = False  # unless ``remember`` says so
        self.signed_in_now = True
        self.mark_authenticated()
        if conf.MAX_SESSIONS_PER_USER is not None:
            # Stores the new record now, under the user's lock (``limits``).
            limits.admit(cast("TokenSessionStore", self))

    @property
    def authenticated_at(self) -> datetime | None:
        """When the signed-in user last authenticated; ``None`` if nobody is
        signed in. Loads the session."""
        data: dict[str, Any] = self._get_session()  # type: ignore[attr-defined]
        if self._user_id(data) is None:
            return None
        if self._authenticated_now:
            return timezone.now()
        if self._record is not None:
            return self._record.authenticated_at
        return self._pending.authenticated_at if self._pending else None

    def mark_authenticated(self) -> None:
        """A (re-)authentication happened in this request."""
        self._authenticated_now = True
        self.modified = True

    def _rotate_secret(self, now: datetime) -> None:
        """Periodic rotation when due: same public id, new secret; the
        previous secret stays valid for the grace window."""
        record, token = self._record, self._token()
        if record is None or token is None or self._pending is not None:
            return
        plan = lifecycle.periodic_rotation(record, token, now, conf.ROTATE_INTERVAL)
        if plan is None:
            return
        new, changes = plan
        store = self.get_store()
        if store.rotate(record.public_id, record.secret_hash, changes):
            self._record = record.replace(**changes)
            self._session_key = new.value
            self.resend_cookie = True
            services.announce_rotated_to(
                record.public_id,
                self._record,
                reason="periodic",
                request=self.context.request,
            )
            return
        # Another request rotated first: follow it through the grace mapping.
        fresh = store.get(record.public_id)
        found = lifecycle.classify(token, fresh, now, grace=conf.ROTATION_GRACE)
        if found.current is None or fresh is None:
            self._forget(found.verdict.value)
            raise UpdateError
        self._record, self._session_key = fresh, found.current.value
        self.resend_cookie = True
        self._apply_binding(fresh, self._cache())
        if self._record is None and self._pending is None:
            raise UpdateError

    def _save_pending(self, data: dict[str, Any]) -> None:
        """Store the rotated session under its new public id, only if the
        tombstone of the old one is still there (``BaseStore.replace``)."""
        pending = self._pending
        assert pending is not None
        user_id = self._user_id(data)
        token = self._token()
        assert token is not None
        if user_id is not None and not token.public_id.startswith(
            tokens.routing_tag(user_id)
        ):
            # Never sent to anyone yet: re-issue it under the user's tag.
            self._session_key = tokens.new_token(user_id).value
        store = self.get_store()
        previous = pending.previous
        for _attempt in range(10):
            token = self._token()
            assert token is not None
            record = self._new_record(token, data)
            try:
                removed = store.replace(previous, record) if previous else False
                outcome = lifecycle.after_rotation(
                    old_removed=removed,
                    had_previous=previous is not None,
                    signing_in=pending.reason == "login",
                )
                if outcome is lifecycle.AfterRotation.ENDED:
                    self._pending = None
                    raise UpdateError  # ended while this request ran
                if not removed:
                    store.create(record)
            except CreateError:
                self._session_key = tokens.new_token(user_id).value
                continue
            break
        else:
            raise RuntimeError("Unable to create a new session token.")
        self._record = record
        self._pending = None
        self._authenticated_now = False
        self.resend_cookie = self.cookie_due = True
        bindings.follow_rotation(previous, record.public_id, pending.reason)
        if previous is None:
            services.announce_created(
                record, self.context.request, reason=pending.reason
            )
        else:
            services.announce_rotated_to(
                previous, record, reason=pending.reason, request=self.context.request
            )
