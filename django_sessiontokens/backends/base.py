"""The ``SessionBase`` adapter shared by every engine.

It translates Django's session contract (dict API, ``accessed``/``modified``,
``cycle_key``, ``flush``, the expiry API and the async twins) into the
decisions of ``core.lifecycle`` and the operations of a ``BaseStore``.
``session_key`` is the cookie value; only ``public_id`` ever leaves this
object. What the request tells the session lives in ``context``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, ClassVar

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.base import SessionBase
from django.utils import timezone

from django_sessiontokens import impersonation, metrics, services
from django_sessiontokens.backends.bound import UNBOUND, BoundMixin
from django_sessiontokens.backends.compat import AsyncSessionAPI
from django_sessiontokens.backends.remember import REMEMBER_ATTRIBUTE, RememberMixin
from django_sessiontokens.backends.rotation import RotationMixin, _Pending
from django_sessiontokens.backends.serialization import deserialize, serialize
from django_sessiontokens.conf import conf
from django_sessiontokens.core import lifecycle, policy, tokens
from django_sessiontokens.core.lifecycle import Verdict
from django_sessiontokens.exceptions import (
    DATABASE_ERRORS,
    CreateError,
    StoreUnavailable,
    UpdateError,
)
from django_sessiontokens.services import events
from django_sessiontokens.stores.base import BaseStore
from django_sessiontokens.types import RequestContext, SessionRecord

security_logger = logging.getLogger("django.security.sessiontokens")

__all__ = ["REMEMBER_ATTRIBUTE", "TokenSessionStore"]


class TokenSessionStore(
    BoundMixin, RememberMixin, RotationMixin, AsyncSessionAPI, SessionBase
):
    """Engines subclass this and provide ``get_store``."""

    store_name: ClassVar[str] = "base"

    # Per-session state, with class-level defaults (set on the instance when
    # it changes: most requests change few of them).
    _record: SessionRecord | None = None
    _pending: _Pending | None = None
    #: The cookie must be sent again (grace mapping, periodic rotation).
    resend_cookie = False
    #: After ``save()``: must the response carry the cookie? Not when only
    #: the data changed and the expiry did not move.
    cookie_due = True
    _authenticated_now = False
    #: ``set_expiry()``'s value when the session was loaded.
    _custom_expiry_at_load: Any = None
    #: Outcome of reading the cookie, for the middleware ("" = fine).
    rejected: str = ""
    #: Set when loading failed because storage did not answer (the
    #: middleware then answers 503 and leaves the cookie alone).
    unavailable: StoreUnavailable | None = None

    def __init__(self, session_key: str | None = None) -> None:
        super().__init__(session_key)
        self.context = RequestContext()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.public_id or '(no session)'}>"

    @classmethod
    def get_store(cls) -> BaseStore:
        raise NotImplementedError

    # Tokens ---------------------------------------------------------------
    def _validate_session_key(self, key: Any) -> bool:
        return self._parse(key) is not None

    def _parse(self, key: Any) -> tokens.Token | None:
        cached = self.__dict__.get("_parsed")
        if cached is not None and cached[0] == key:
            return cached[1]  # type: ignore[no-any-return]
        token = tokens.parse(key, accept_legacy=conf.ACCEPT_IMPORTED)
        self._parsed = (key, token)
        return token

    def _token(self) -> tokens.Token | None:
        return self._parse(self.session_key)

    @property
    def public_id(self) -> str | None:
        if self._record is not None:
            return self._record.public_id
        token = self._token()
        return token.public_id if token else None

    @property
    def record(self) -> SessionRecord | None:
        """The loaded record (no data is decoded from it)."""
        return self._record

    def _get_new_session_key(self) -> str:
        return tokens.new_token(self._user_id(self._cache())).value

    def _cache(self) -> dict[str, Any]:
        return getattr(self, "_session_cache", None) or {}

    @staticmethod
    def _user_id(data: dict[str, Any]) -> str | None:
        value = data.get(SESSION_KEY)
        return None if value in (None, "") else str(value)

    def _forget(self, reason: str) -> dict[str, Any]:
        # The presented token is kept for ``delete``: signing out with a token
        # whose session is being rotated away still ends that session.
        self._presented = self._token()
        self.rejected = reason
        self._record = None
        self._session_key = None
        return {}

    # Loading --------------------------------------------------------------
    def load(self) -> dict[str, Any]:
        """Storage that does not answer (Redis, or the database) is noted on
        the session wherever the load happens (in the view, or in a
        middleware reading ``request.user``), so the response is a 503 that
        keeps the cookie, not Django's 500."""
        try:
            return self._load()
        except StoreUnavailable as exc:
            self.unavailable = exc
            raise
        except DATABASE_ERRORS as exc:
            self.unavailable = StoreUnavailable.from_database(exc)
            raise

    def _load(self) -> dict[str, Any]:
        token = self._token()
        if token is None:
            return self._forget(Verdict.MALFORMED.value)
        record, binding = self._read(token.public_id)
        found = lifecycle.classify(
            token, record, timezone.now(), grace=conf.ROTATION_GRACE
        )
        if found.verdict is Verdict.REUSE:
            assert record is not None
            self._reuse_detected(record)
        elif found.verdict is Verdict.UNKNOWN:
            events.explain_sign_out(token.public_id, self.context.request)
        elif found.verdict is Verdict.FORGED:
            security_logger.warning(
                "Session %s was presented with a wrong secret", token.public_id
            )
        if not found.usable:
            return self._forget(found.verdict.value)
        assert record is not None
        if found.current is not None:  # within grace: continue with the new token
            self._session_key = found.current.value
            self.resend_cookie = True
        self._record = record
        data = deserialize(self.serializer, record.data)
        self._custom_expiry_at_load = data.get("_session_expiry")
        if not self._admitted(record, binding):
            # Bound, without a valid bound cookie: served as signed out; the
            # session is not ended and the cookie is left alone.
            return self._forget(UNBOUND)
        if token.legacy:
            # An imported django.contrib.sessions cookie: accepted once, then
            # replaced by a token of ours on this response.
            self._rotate_new_id(data, reason="imported")
            return data
        return self._apply_binding(record, data)

    def _owned(self, token: tokens.Token | None) -> SessionRecord | None:
        """The stored record ``token`` names and holds the current secret of
        (expired or being rotated away included): what ``delete`` ends."""
        if token is None:
            return None
        record = self.get_store().peek(token.public_id)
        found = lifecycle.classify(token, record, timezone.now(), grace=0)
        if found.verdict in (Verdict.LIVE, Verdict.EXPIRED, Verdict.MOVING):
            return record
        return None

    def exists(self, session_key: str | None) -> bool:
        token = tokens.parse(session_key, accept_legacy=conf.ACCEPT_IMPORTED)
        if token is None:
            return False
        record = self.get_store().get(token.public_id)
        found = lifecycle.classify(token, record, timezone.now(), grace=0)
        return found.verdict is Verdict.LIVE

    # Writing --------------------------------------------------------------
    def create(self) -> None:
        for _attempt in range(10):
            self._session_key = self._get_new_session_key()
            try:
                self.save(must_create=True)
            except CreateError:
                continue
            self.modified = True
            return
        raise RuntimeError("Unable to create a new session token.")

    def _new_record(self, token: tokens.Token, data: dict[str, Any]) -> SessionRecord:
        previous = self._pending.authenticated_at if self._pending else None
        ctx = self.context
        return lifecycle.new_record(
            token,
            user_id=self._user_id(data),
            data=serialize(self.serializer, data),
            custom=data.get("_session_expiry"),
            now=timezone.now(),
            authenticated_at=None if self._authenticated_now else previous,
            ip=ctx.ip,
            user_agent=ctx.user_agent,
            impersonator_id=impersonation.impersonator_of(data),
            remembered=self._remembered(data),
        )

    def save(self, must_create: bool = False) -> None:
        if self.session_key is None:
            return self.create()
        data: dict[str, Any] = self._get_session(no_load=must_create)  # type: ignore[attr-defined]
        if self.session_key is None:  # the cookie was not a live session
            return self.create()
        if self._pending is not None:
            return self._save_pending(data)
        store = self.get_store()
        token = self._token()
        assert token is not None
        if must_create:
            created = self._new_record(token, data)
            store.create(created)
            self._record = created
            self._authenticated_now = False
            self.cookie_due = True
            services.announce_created(created, self.context.request)
            return None
        record = self._record
        if record is None:
            raise UpdateError
        user_id = self._user_id(data)
        if lifecycle.id_rotation(record, user_id):
            if not self._rotate_new_id(data, reason="privilege_change"):
                raise UpdateError  # ended while this request ran
            return self._save_pending(data)
        now = timezone.now()
        self._rotate_secret(now)
        if self._pending is not None:  # the binding policy rotated it meanwhile
            return self._save_pending(data)
        record = self._record
        assert record is not None
        ctx = self.context
        custom = data.get("_session_expiry")
        changes = lifecycle.save_changes(
            record,
            now,
            user_id=user_id,
            authenticated_now=self._authenticated_now,
            data=serialize(self.serializer, data),
            custom=custom,
            interval=conf.TOUCH_INTERVAL,
            ip=ctx.ip,
            user_agent=ctx.user_agent,
            impersonator_id=impersonation.impersonator_of(data),
            remembered=self._remembered(data),
        )
        metrics.timed("update", store.update, record.public_id, changes, base=record)
        self._record = record.replace(**changes)
        self._authenticated_now = False
        self.cookie_due = (
            self.resend_cookie
            or "expires_at" in changes
            or custom != self._custom_expiry_at_load
            or self.__dict__.get("cookie_due", False)  # an earlier save's
        )
        self._custom_expiry_at_load = custom
        return None

    def touch(self) -> bool:
        """After a request that only read the session: write last activity
        (at most once per touch interval) and changed client details, and
        carry out a due rotation. ``True`` when the cookie must be re-sent."""
        if self._pending is None and self._record is not None:
            self._rotate_secret(timezone.now())
        if self._pending is not None:
            self._save_pending(self._cache())
            return True
        record = self._record
        if record is None:
            return False
        ctx = self.context
        changes = lifecycle.touch_changes(
            record,
            timezone.now(),
            interval=conf.TOUCH_INTERVAL,
            custom=self._cache().get("_session_expiry"),
            ip=ctx.ip,
            user_agent=ctx.user_agent,
        )
        if changes:
            update = self.get_store().update
            metrics.timed("update", update, record.public_id, changes, base=record)
            self._record = record.replace(**changes)
            return True
        return self.resend_cookie

    # Ending ---------------------------------------------------------------
    def delete(self, session_key: str | None = None) -> None:
        if session_key is not None:
            record = self._owned(
                tokens.parse(session_key, accept_legacy=conf.ACCEPT_IMPORTED)
            )
            public_id = record.public_id if record else None
        elif self._pending is not None:
            public_id, self._pending = self._pending.previous, None
        elif self._record is not None:
            public_id = self._record.public_id
        else:
            record = self._owned(self._token() or self.__dict__.get("_presented"))
            public_id = record.public_id if record else None
        if public_id is None:
            return
        ctx = self.context
        services.end_sessions(
            [public_id],
            reason=ctx.end_reason,
            actor=ctx.end_actor,
            ended_by=ctx.ended_by,
            request=ctx.request,
            store=self.get_store(),
        )
        if self._record is not None and self._record.public_id == public_id:
            self._record = None

    def flush(self) -> None:
        super().flush()
        self._record = None
        self._pending = None
        self._remember = None

    @classmethod
    def clear_expired(cls) -> None:
        sum(services.purge_expired(store=cls.get_store()))

    # Expiry ---------------------------------------------------------------
    def _end_if_active_now(self, now: datetime) -> datetime:
        data: dict[str, Any] = self._session
        record = self._record
        user_id = self._user_id(data)
        authenticated_at = record.authenticated_at if record else None
        if user_id and (authenticated_at is None or self._authenticated_now):
            authenticated_at = now
        return policy.end_of(
            user_id=user_id,
            remembered=self._remembered(data),
            last_activity=now,
            authenticated_at=authenticated_at if user_id else None,
            created_at=record.created_at if record else now,
            custom=data.get("_session_expiry"),
        )

    def get_expiry_date(self, **kwargs: Any) -> datetime:
        if kwargs:
            return super().get_expiry_date(**kwargs)
        return self._end_if_active_now(timezone.now())

    def get_expiry_age(self, **kwargs: Any) -> int:
        if kwargs:
            return super().get_expiry_age(**kwargs)
        now = timezone.now()
        return policy.remaining(now, self._end_if_active_now(now))
