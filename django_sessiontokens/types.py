"""Shared vocabulary: the stored record, what listings show, why and by whom
a session ends, and what a request tells the session about itself.

This module imports nothing of the package, so every layer (core rules,
stores, services, adapters, views) can use it without an import cycle.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

#: Columns a plain update may change. Secrets change only through
#: ``rotate``; ``version`` is kept by the stores themselves.
UPDATABLE = frozenset(
    {
        "data",
        "user_id",
        "authenticated_at",
        "last_activity",
        "expires_at",
        "ip",
        "user_agent",
        "impersonator_id",
        "remembered",
    }
)

#: A record whose ``secret_hash`` starts with this is a *moving* tombstone:
#: its session is being rotated to a new public id by a request in flight.
#: It is never loaded; ending the session deletes it, and the rotation then
#: finds it gone and creates nothing (``BaseStore.replace``).
MOVING = "~"


@dataclass
class SessionRecord:
    """One session as stored. ``user_id`` is the user's pk as a string."""

    public_id: str
    secret_hash: str
    created_at: datetime
    last_activity: datetime
    #: When the session ends, as computed at its last write (custom
    #: ``set_expiry`` and the limits of that time). The limits of *today*
    #: are applied on top of it by ``core.policy`` on every path.
    expires_at: datetime
    data: str = ""
    user_id: str | None = None
    authenticated_at: datetime | None = None
    ip: str | None = None
    user_agent: str = ""
    #: "Keep me signed in": the remembered limits apply (only ever set on a
    #: signed-in session; ``django_sessiontokens.remember``).
    remembered: bool = False
    #: Periodic rotation: hashes of earlier secrets, newest first, separated by
    #: spaces (the first is the immediate predecessor, honoured for the grace
    #: window; older ones mean theft), when the last rotation happened, and
    #: the current secret sealed under its predecessor (``tokens.seal``).
    retired_hashes: str = ""
    rotated_at: datetime | None = None
    sealed_secret: str = ""
    #: Incremented by the database on every write (cached copies carry the
    #: version they were made from).
    version: int = 0
    #: The pk (as a string) of the user acting as ``user_id`` through an
    #: impersonation tool (``SESSIONTOKENS_IMPERSONATOR_SESSION_KEY``).
    impersonator_id: str | None = None

    def __repr__(self) -> str:
        return f"<SessionRecord {self.public_id} user={self.user_id}>"

    @property
    def moving(self) -> bool:
        """Is this a tombstone left by a rotation to a new public id?"""
        return self.secret_hash.startswith(MOVING)

    def replace(self, **changes: Any) -> SessionRecord:
        """A copy with these fields changed."""
        unknown = changes.keys() - _FIELD_NAMES
        if unknown:
            raise TypeError(f"SessionRecord has no field {sorted(unknown)}")
        copy = object.__new__(SessionRecord)
        copy.__dict__.update(self.__dict__, **changes)
        return copy


_FIELD_NAMES = frozenset(SessionRecord.__dataclass_fields__)


class Reason(str, enum.Enum):
    """Why a session ended (``session_ended``'s ``reason``)."""

    LOGOUT = "logout"
    REVOKED = "revoked"
    PASSWORD_CHANGE = "password_change"  # noqa: S105 (a reason)
    USER_DISABLED = "user_disabled"
    USER_DELETED = "user_deleted"
    EXPIRED = "expired"
    TOKEN_REUSE = "token_reuse"  # noqa: S105 (a reason)
    EVICTED = "evicted"
    COMMAND = "command"
    BINDING = "binding"
    DEVICE_BINDING = "device_binding"
    FLUSHED = "flushed"


class Actor(str, enum.Enum):
    """Who ended it."""

    USER = "user"
    ADMIN = "admin"
    COMMAND = "command"
    SYSTEM = "system"


@dataclass(frozen=True)
class SessionInfo:
    """What listings show about a session: never a token or its data.
    ``expires_at`` is when it ends under the settings in force when it was
    listed (``core.policy.ends_at``)."""

    public_id: str
    user_id: str | None
    created_at: datetime
    authenticated_at: datetime | None
    last_activity: datetime
    expires_at: datetime
    ip: str | None
    user_agent: str
    #: Was it alive when listed?
    active: bool = True
    #: Who is really acting, when someone impersonates ``user_id``.
    impersonator_id: str | None = None
    #: "Keep me signed in": the remembered limits apply.
    remembered: bool = False

    @property
    def is_active(self) -> bool:
        return self.active


#: An ``ended`` row's columns (attribute names) copied from the session's
#: record, and the record field each comes from.
ENDED_COPIES = {
    "public_id": "public_id",
    "user_id": "user_id",
    "ip": "ip",
    "impersonator_id": "impersonator_id",
}


@dataclass(frozen=True)
class EndedEvent:
    """The audit trail's ``ended`` row for sessions ended together: the
    values they share, and which come from each session's own record. A
    store that can write the rows in the statement that removes the
    sessions does (``BaseStore.end``); otherwise ``services.audit`` does."""

    time: datetime
    reason: str
    actor: str
    ended_by_id: Any = None
    #: The user row is gone by the time the rows are written
    #: (``user_deleted``): the rows name no user.
    user_gone: bool = False

    def shared(self) -> dict[str, Any]:
        """The columns every row of this ending has."""
        return {
            "time": self.time,
            "kind": "ended",
            "previous_public_id": "",
            "reason": self.reason,
            "actor": self.actor,
            "ended_by_id": self.ended_by_id,
            "device": "",
        }

    def copied(self) -> dict[str, str]:
        """Event column -> record field, for this ending."""
        if not self.user_gone:
            return dict(ENDED_COPIES)
        return {k: v for k, v in ENDED_COPIES.items() if k != "user_id"}

    def row(self, record: SessionRecord) -> dict[str, Any]:
        """The row recording that ``record`` ended."""
        found = {"user_id": None, **self.shared()}
        for column, field in self.copied().items():
            found[column] = getattr(record, field)
        found["ip"] = found["ip"] or None
        return found


@dataclass
class RequestContext:
    """What the middleware and the auth receivers tell a session about the
    request it serves (one object instead of loose attributes)."""

    request: Any = None
    #: The client's address as seen (``client.client_ip``) and as recorded.
    address: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    #: Why and by whom the session ends if it is flushed in this request.
    end_reason: str = Reason.FLUSHED.value
    end_actor: str = Actor.SYSTEM.value
    ended_by: Any = None


@dataclass
class DeviceBinding:
    """A session's device binding (DBSC), stored beside the session, never
    inside its data. ``state`` is ``"pending"`` (registration offered, with
    ``challenge``) or ``"bound"`` (a key registered). Changed only by
    compare-and-set on ``version``."""

    public_id: str
    state: str
    created_at: datetime
    dbsc_id: str = ""
    algorithm: str = ""
    #: The public key as compact JSON (a JWK).
    jwk: str = ""
    #: Single-use challenges: the current one and the one before it.
    challenge: str = ""
    challenge_at: datetime | None = None
    previous_challenge: str = ""
    previous_challenge_at: datetime | None = None
    #: SHA-256 of the bound cookie's value (never the value), and the
    #: previous value's hash for a short overlap.
    cookie_hash: str = ""
    cookie_expires: datetime | None = None
    previous_cookie_hash: str = ""
    previous_cookie_until: datetime | None = None
    bound_at: datetime | None = None
    refreshed_at: datetime | None = None
    #: Offer registration again on the next page (the sign-in answer was a
    #: redirect).
    reoffer: bool = False
    version: int = 0

    def __repr__(self) -> str:
        return f"<DeviceBinding {self.public_id} {self.state}>"

    def replace(self, **changes: Any) -> DeviceBinding:
        copy = object.__new__(DeviceBinding)
        copy.__dict__.update(self.__dict__, **changes)
        return copy


BINDING_FIELDS = tuple(DeviceBinding.__dataclass_fields__)
