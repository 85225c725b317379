"""The ``SessionBase`` adapter shared by every engine.

It keeps Django's session contract (dict API, ``accessed``/``modified``,
``cycle_key``, ``flush``, the expiry API and the async twins) on top of a
``BaseStore``. ``session_key`` is the cookie value; only ``public_id`` ever
leaves this object.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from asgiref.sync import sync_to_async
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.base import SessionBase
from django.core.signing import JSONSerializer
from django.utils import timezone

from django_sessiontokens import binding, limits, services
from django_sessiontokens.core import policy, tokens
from django_sessiontokens.backends.compat import AsyncSessionAPI
from django_sessiontokens.conf import conf
from django_sessiontokens.exceptions import CreateError, UpdateError
from django_sessiontokens.stores.base import BaseStore, SessionRecord

if TYPE_CHECKING:
    from django.http import HttpRequest

security_logger = logging.getLogger("django.security.sessiontokens")
logger = logging.getLogger("django_sessiontokens")

_MAX_RETIRED = 8
_json_dumps = json.JSONEncoder(separators=(",", ":")).encode
_json_loads = json.loads
#: ``policy.Limits`` by (signed in, idle, absolute, anonymous) settings.
_LIMITS: dict[tuple[bool, Any, Any, Any], policy.Limits] = {}


def _end_of(
    user_id: str | None,
    last_activity: datetime,
    authenticated_at: datetime | None,
    created_at: datetime,
    data: dict[str, Any],
) -> datetime:
    """When a session with these values ends under the current settings."""
    key = (
        user_id is not None,
        conf.IDLE_TIMEOUT,
        conf.ABSOLUTE_TIMEOUT,
        conf.ANONYMOUS_TIMEOUT,
    )
    limits = _LIMITS.get(key)
    if limits is None:
        limits = _LIMITS[key] = policy.limits(
            authenticated=key[0], idle=key[1], absolute=key[2], anonymous=key[3]
        )
    return policy.expires_at(
        limits=limits,
        last_activity=last_activity,
        authenticated_at=authenticated_at,
        created_at=created_at,
        custom=data.get("_session_expiry"),
    )


class TokenSessionStore(AsyncSessionAPI, SessionBase):
    """Engines subclass this and provide ``get_store``."""

    #: Which store the engine uses; engines override ``get_store``.
    store_name: ClassVar[str] = "base"

    # Per-session state, with class-level defaults (set on the instance when
    # it changes: most requests change few of them).
    _record: SessionRecord | None = None
    #: The session was rotated to a new public id that is not stored yet
    #: (the old one is already gone); the first save creates it.
    _pending: dict[str, Any] | None = None
    #: The cookie must be sent again (grace mapping, periodic rotation).
    resend_cookie = False
    #: After ``save()``: must the response carry the cookie? Not when only
    #: the data changed and the expiry did not move.
    cookie_due = True
    _authenticated_now = False
    _loaded_at: datetime | None = None
    #: ``set_expiry()``'s value when the session was loaded.
    _custom_expiry_at_load: Any = None
    #: Set by the middleware.
    request: HttpRequest | None = None
    #: The client's address as seen (``client_address``) and as recorded.
    client_address: str | None = None
    client_ip: str | None = None
    client_user_agent: str | None = None
    #: Why and by whom the session ends if it is flushed now.
    end_reason: str = services.Reason.FLUSHED.value
    end_actor: str = services.Actor.SYSTEM.value
    ended_by: Any = None
    #: Outcome of reading the cookie, for the middleware ("" = fine).
    rejected: str = ""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.public_id or '(no session)'}>"

    # Engine hooks ---------------------------------------------------------
    @classmethod
    def get_store(cls) -> BaseStore:
        raise NotImplementedError

    # Tokens ---------------------------------------------------------------
    def _validate_session_key(self, key: Any) -> bool:
        token = tokens.parse(key, accept_legacy=conf.ACCEPT_IMPORTED)
        if token is not None:
            self._parsed: tuple[str | None, tokens.Token | None] = (key, token)
        return token is not None

    def _token(self) -> tokens.Token | None:
        key = self.session_key
        cached = self.__dict__.get("_parsed")
        if cached is not None and cached[0] == key:
            return cached[1]  # type: ignore[no-any-return]
        token = tokens.parse(key, accept_legacy=conf.ACCEPT_IMPORTED)
        self._parsed = (key, token)
        return token

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

    # Helpers --------------------------------------------------------------
    def _cache(self) -> dict[str, Any]:
        return getattr(self, "_session_cache", None) or {}

    @staticmethod
    def _user_id(data: dict[str, Any]) -> str | None:
        value = data.get(SESSION_KEY)
        return None if value in (None, "") else str(value)

    def _serialize(self, data: dict[str, Any]) -> str:
        if self.serializer is JSONSerializer:  # its output, without two copies
            return _json_dumps(data)
        return bytes(self.serializer().dumps(data)).decode("latin-1")

    def _deserialize(self, raw: str) -> dict[str, Any]:
        if not raw:
            return {}
        try:
            if self.serializer is JSONSerializer:
                value = _json_loads(raw)
            else:
                value = self.serializer().loads(raw.encode("latin-1"))
        except Exception:  # a corrupt row is an empty session, never a 500
            security_logger.warning("Session data could not be decoded")
            return {}
        return value if isinstance(value, dict) else {}

    def _end(
        self, now: datetime, record: SessionRecord, data: dict[str, Any]
    ) -> datetime:
        """When this record ends under the current settings."""
        return _end_of(
            record.user_id,
            record.last_activity,
            record.authenticated_at,
            record.created_at,
            data,
        )

    def _forget(self, reason: str) -> dict[str, Any]:
        self.rejected = reason
        self._record = None
        self._session_key = None
        return {}

    # Loading --------------------------------------------------------------
    def load(self) -> dict[str, Any]:
        token = self._token()
        if token is None:
            return self._forget("malformed")
        store = self.get_store()
        record = store.get(token.public_id)
        now = timezone.now()
        if record is None:
            return self._forget("unknown")
        if not tokens.verify(token.secret, record.secret_hash):
            return self._load_retired(token, record, now, store)
        data = self._deserialize(record.data)
        if policy.is_expired(now, self._end(now, record, data)) or (
            # An imported session also ends when the old one would have.
            token.legacy and policy.is_expired(now, record.expires_at)
        ):
            return self._forget("expired")
        self._record = record
        self._loaded_at = now
        self._custom_expiry_at_load = data.get("_session_expiry")
        if token.legacy:
            # An imported django.contrib.sessions cookie: accepted once, then
            # replaced by a token of ours on this response.
            self._rotate_new_id(data, reason="imported")
            return data
        return self._apply_binding(record, data, store)

    def _apply_binding(
        self, record: SessionRecord, data: dict[str, Any], store: BaseStore
    ) -> dict[str, Any]:
        """IP / user-agent change policy (``binding``)."""
        action = binding.check(
            record,
            ip=self.client_ip,
            user_agent=self.client_user_agent,
            request=self.request,
        )
        if action == "end":
            services.end_sessions(
                [record.public_id],
                reason=services.Reason.BINDING,
                request=self.request,
                store=store,
            )
            return self._forget("ended")
        if action == "rotate":
            self._rotate_new_id(data, reason="binding")
        return data

    def _load_retired(
        self,
        token: tokens.Token,
        record: SessionRecord,
        now: datetime,
        store: BaseStore,
    ) -> dict[str, Any]:
        """A known public id with a secret that is not the current one."""
        secret_hash = token.secret_hash
        retired = record.retired_hashes.split()
        if retired and tokens.verify(token.secret, retired[0]):
            if policy.in_grace(now, record.rotated_at, conf.ROTATION_GRACE):
                # In-flight request or parallel tab: map to the new token.
                current = tokens.unseal(record.sealed_secret, token.secret)
                if tokens.verify(current, record.secret_hash):
                    self._session_key = tokens.Token(record.public_id, current).value
                    self.resend_cookie = True
                    data = self._deserialize(record.data)
                    if policy.is_expired(now, self._end(now, record, data)):
                        return self._forget("expired")
                    self._record = record
                    self._loaded_at = now
                    return self._apply_binding(record, data, store)
            return self._reuse_detected(record)
        if secret_hash in retired:
            return self._reuse_detected(record)
        security_logger.warning(
            "Session %s was presented with a wrong secret", record.public_id
        )
        return self._forget("forged")

    def _reuse_detected(self, record: SessionRecord) -> dict[str, Any]:
        security_logger.error(
            "Session %s: a rotated-away token was used after its grace window; "
            "the session was ended",
            record.public_id,
        )
        services.report_reuse(record, request=self.request, store=self.get_store())
        return self._forget("reused")

    def exists(self, session_key: str | None) -> bool:
        token = tokens.parse(session_key, accept_legacy=conf.ACCEPT_IMPORTED)
        if token is None:
            return False
        record = self.get_store().get(token.public_id)
        if record is None or not tokens.verify(token.secret, record.secret_hash):
            return False
        now = timezone.now()
        return not policy.is_expired(
            now, self._end(now, record, self._deserialize(record.data))
        )

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

    def _new_record(
        self, token: tokens.Token, data: dict[str, Any], now: datetime
    ) -> SessionRecord:
        user_id = self._user_id(data)
        authenticated_at = None
        if user_id is not None:
            previous = (self._pending or {}).get("authenticated_at")
            authenticated_at = (
                previous if previous and not self._authenticated_now else now
            )
        record = SessionRecord(
            public_id=token.public_id,
            secret_hash=token.secret_hash,
            created_at=now,
            last_activity=now,
            expires_at=now,
            data=self._serialize(data),
            user_id=user_id,
            authenticated_at=authenticated_at,
            ip=self.client_ip,
            user_agent=self.client_user_agent or "",
            rotated_at=now,
        )
        record.expires_at = self._end(now, record, data)
        return record

    def save(self, must_create: bool = False) -> None:
        if self.session_key is None:
            return self.create()
        data: dict[str, Any] = self._get_session(no_load=must_create)  # type: ignore[attr-defined]
        if self.session_key is None:  # the cookie was not a live session
            return self.create()
        if self._pending is not None:
            return self._save_pending(data)
        now = timezone.now()
        store = self.get_store()
        token = self._token()
        assert token is not None
        if must_create:
            created = self._new_record(token, data, now)
            store.create(created)
            self._record = created
            self._authenticated_now = False
            self.cookie_due = True
            services.announce_created(created, self.request)
            return None
        if self._record is None:
            raise UpdateError
        record = self._record
        user_id = self._user_id(data)
        if user_id is not None and user_id != record.user_id:
            # Someone signed in on this session without cycle_key(): that is a
            # privilege change, so the token changes too.
            self._rotate_new_id(data, reason="privilege_change")
            return self._save_pending(data)
        if policy.needs_rotation(
            now, record.rotated_at or record.created_at, conf.ROTATE_INTERVAL
        ):
            self.rotate_secret(now)
            if self._pending is not None:  # binding rotated it meanwhile
                return self._save_pending(data)
            record = self._record
            assert record is not None
        changes: dict[str, Any] = self._client_changes(record)
        if user_id != record.user_id:
            changes["user_id"] = user_id
        if user_id is None:
            if record.authenticated_at is not None:
                changes["authenticated_at"] = None
        elif self._authenticated_now:
            changes["authenticated_at"] = now
        if changes or policy.needs_touch(
            now, record.last_activity, conf.TOUCH_INTERVAL
        ):
            # Last activity moves at most once per touch interval, as on reads.
            changes["last_activity"] = now
        changes["data"] = self._serialize(data)
        updated = record.replace(**changes)
        end = self._end(now, updated, data)
        if end != record.expires_at:
            changes["expires_at"] = updated.expires_at = end
        store.update(record.public_id, changes)
        self._record = updated
        self._authenticated_now = False
        custom = data.get("_session_expiry")
        self.cookie_due = (
            self.resend_cookie
            or "expires_at" in changes
            or custom != self._custom_expiry_at_load
            or self.__dict__.get("cookie_due", False)  # an earlier save's
        )
        self._custom_expiry_at_load = custom
        return None

    def _save_pending(self, data: dict[str, Any]) -> None:
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
        now = timezone.now()
        store = self.get_store()
        for _attempt in range(10):
            token = self._token()
            assert token is not None
            record = self._new_record(token, data, now)
            try:
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
        if pending.get("previous") is None:
            services.announce_created(record, self.request)
        else:
            services.announce_rotated_to(
                pending["previous"],
                record,
                reason=pending["reason"],
                request=self.request,
            )

    def _client_changes(self, record: SessionRecord) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        if self.client_ip is not None and self.client_ip != record.ip:
            changes["ip"] = self.client_ip
        if (
            self.client_user_agent is not None
            and self.client_user_agent != record.user_agent
        ):
            changes["user_agent"] = self.client_user_agent
        return changes

    def touch(self) -> bool:
        """After a request that only read the session: write last activity
        (at most once per touch interval) and changed client details, and
        carry out a due rotation. ``True`` when the cookie must be re-sent."""
        if self._pending is not None:
            self._save_pending(self._cache())
            return True
        record = self._record
        if record is None:
            return False
        now = timezone.now()
        if policy.needs_rotation(
            now, record.rotated_at or record.created_at, conf.ROTATE_INTERVAL
        ):
            self.rotate_secret(now)
            if self._pending is not None:  # binding rotated it meanwhile
                self._save_pending(self._cache())
                return True
            record = self._record
            assert record is not None
        changes = self._client_changes(record)
        if changes or policy.needs_touch(
            now, record.last_activity, conf.TOUCH_INTERVAL
        ):
            changes["last_activity"] = now
            updated = record.replace(**changes)
            changes["expires_at"] = updated.expires_at = self._end(
                now, updated, self._cache()
            )
            self.get_store().update(record.public_id, changes)
            self._record = updated
            return True
        return self.resend_cookie

    # Rotation -------------------------------------------------------------
    def _rotate_new_id(self, data: dict[str, Any], *, reason: str) -> None:
        """Replace the token by one with a new public id. The old token dies
        now; the new record is written by the next save."""
        old = self._record
        if old is not None:
            services.retire_session(old, store=self.get_store())
        self._pending = {
            "previous": old.public_id if old else None,
            "reason": reason,
            "authenticated_at": old.authenticated_at if old else None,
        }
        self._record = None
        self._session_cache = data
        self._session_key = tokens.new_token(self._user_id(data)).value
        self.modified = True

    def cycle_key(self) -> None:
        """New token, same data; the previous token stops working at once."""
        data: dict[str, Any] = self._session  # type: ignore[attr-defined]
        self._rotate_new_id(data, reason=self.rotation_reason)

    #: ``session_rotated``'s reason for the next ``cycle_key``.
    rotation_reason = "privilege_change"

    def rotate(self, *, reason: str = "privilege_change") -> None:
        """Public entry point (``django_sessiontokens.rotate``)."""
        self.rotation_reason = reason
        self.cycle_key()

    def note_login(self) -> None:
        """Called on ``user_logged_in``: the token always changes at login,
        even when Django kept it (same user signing in again)."""
        if self._pending is not None:
            self._pending["reason"] = "login"
        elif self.session_key is not None:
            self.rotate(reason="login")
        self.mark_authenticated()
        if conf.MAX_SESSIONS_PER_USER is not None:
            # Stores the new record now, under the user's lock (``limits``).
            limits.admit(self)

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
        value = (self._pending or {}).get("authenticated_at")
        return value if isinstance(value, datetime) else None

    def mark_authenticated(self) -> None:
        """A (re-)authentication happened in this request."""
        self._authenticated_now = True
        self.modified = True

    def rotate_secret(self, now: datetime | None = None) -> None:
        """Periodic rotation: same public id, new secret; the previous secret
        stays valid for the grace window."""
        record = self._record
        token = self._token()
        if record is None or token is None or self._pending is not None:
            return
        now = now or timezone.now()
        new = tokens.with_new_secret(token)
        retired = [record.secret_hash, *record.retired_hashes.split()]
        changes = {
            "secret_hash": new.secret_hash,
            "retired_hashes": " ".join(retired[:_MAX_RETIRED]),
            "rotated_at": now,
            "sealed_secret": tokens.seal(new.secret, token.secret),
        }
        store = self.get_store()
        if store.rotate(record.public_id, record.secret_hash, changes):
            self._record = record.replace(**changes)
            self._session_key = new.value
            self.resend_cookie = True
            services.announce_rotated_to(
                record.public_id, self._record, reason="periodic", request=self.request
            )
            return
        # Another request rotated first: follow it through the grace mapping.
        fresh = store.get(record.public_id)
        if fresh is None:
            raise UpdateError
        self._load_retired(token, fresh, now, store)
        if self._session_key is None:
            raise UpdateError

    # Ending ---------------------------------------------------------------
    def delete(self, session_key: str | None = None) -> None:
        store = self.get_store()
        if session_key is None:
            if self._pending is not None:
                self._pending = None
                return
            record = self._record
            if record is None:
                token = self._token()
                if token is None:
                    return
                record = store.get(token.public_id)
                if record is None or not tokens.verify(
                    token.secret, record.secret_hash
                ):
                    return
        else:
            token = tokens.parse(session_key, accept_legacy=conf.ACCEPT_IMPORTED)
            if token is None:
                return
            record = store.get(token.public_id)
            if record is None or not tokens.verify(token.secret, record.secret_hash):
                return
        services.end_sessions(
            [record.public_id],
            reason=self.end_reason,
            actor=self.end_actor,
            ended_by=self.ended_by,
            request=self.request,
            store=store,
        )
        if self._record is not None and self._record.public_id == record.public_id:
            self._record = None

    def flush(self) -> None:
        super().flush()
        self._record = None
        self._pending = None

    @classmethod
    def clear_expired(cls) -> None:
        sum(services.purge_expired(store=cls.get_store()))

    # Expiry ---------------------------------------------------------------
    def _end_if_active_now(self, now: datetime) -> datetime:
        data: dict[str, Any] = self._session  # type: ignore[attr-defined]
        record = self._record
        user_id = self._user_id(data)
        if record is None:
            return _end_of(user_id, now, now if user_id else None, now, data)
        authenticated_at = record.authenticated_at
        if user_id and (authenticated_at is None or self._authenticated_now):
            authenticated_at = now
        return _end_of(user_id, now, authenticated_at, record.created_at, data)

    def get_expiry_date(self, **kwargs: Any) -> datetime:
        if kwargs:
            return super().get_expiry_date(**kwargs)
        return self._end_if_active_now(timezone.now())

    def get_expiry_age(self, **kwargs: Any) -> int:
        if kwargs:
            return super().get_expiry_age(**kwargs)
        now = timezone.now()
        return policy.remaining(now, self._end_if_active_now(now))

    # Async twins ----------------------------------------------------------
    async def acycle_key(self) -> None:
        await sync_to_async(self.cycle_key)()

    async def aflush(self) -> None:
        await sync_to_async(self.flush)()

    async def aget_expiry_age(self, **kwargs: Any) -> int:
        return await sync_to_async(self.get_expiry_age)(**kwargs)

    async def aget_expiry_date(self, **kwargs: Any) -> datetime:
        return await sync_to_async(self.get_expiry_date)(**kwargs)

    async def atouch(self) -> bool:
        return await sync_to_async(self.touch)()
