"""The lifecycle of a session as pure decisions: no I/O, no request.

* ``classify``: what a presented token is worth against its stored record
  (malformed, unknown, forged, expired, previous-within-grace, reuse, moving,
  live);
* ``new_record``, ``touch_changes``, ``save_changes``, ``periodic_rotation``:
  the record to create and the changes to write;
* ``id_rotation``: when a write becomes a rotation to a new public id, and
  ``after_rotation``: what a rotation to a new public id does when the old
  record turns out to be gone (a session ended while the request was in
  flight stays ended).

The backend adapter does the I/O these plans call for; listings, counts, the
limit and the purge ask ``core.policy`` the same "alive" question.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django_sessiontokens.core import policy, tokens
from django_sessiontokens.types import MOVING, SessionRecord

#: How many earlier secret hashes a record remembers (theft detection).
MAX_RETIRED = 8


class Verdict(str, enum.Enum):
    MALFORMED = "malformed"  # not a token at all
    UNKNOWN = "unknown"  # well formed, never issued (or long gone)
    FORGED = "forged"  # a known public id with a secret it never had
    EXPIRED = "expired"
    GRACE = "grace"  # the previous secret, within the grace window
    REUSE = "reused"  # a rotated-away secret after its grace: theft
    MOVING = "moving"  # its session is being rotated to a new public id
    LIVE = "live"


@dataclass(frozen=True)
class Classified:
    verdict: Verdict
    #: For ``GRACE``: the current token, which the request continues with.
    current: tokens.Token | None = None

    @property
    def usable(self) -> bool:
        return self.verdict in (Verdict.LIVE, Verdict.GRACE)


def classify(
    token: tokens.Token | None,
    record: SessionRecord | None,
    now: datetime,
    *,
    grace: float,
) -> Classified:
    """What ``token`` is worth against ``record`` (``None``: not stored)."""
    if token is None:
        return Classified(Verdict.MALFORMED)
    if record is None:
        return Classified(Verdict.UNKNOWN)
    if record.moving:
        if tokens.verify(token.secret, record.secret_hash[len(MOVING) :]):
            return Classified(Verdict.MOVING)
        return Classified(Verdict.FORGED)
    if tokens.verify(token.secret, record.secret_hash):
        alive = policy.is_alive(record, now)
        return Classified(Verdict.LIVE if alive else Verdict.EXPIRED)
    retired = record.retired_hashes.split()
    if retired and tokens.verify(token.secret, retired[0]):
        if policy.in_grace(now, record.rotated_at, grace):
            secret = tokens.unseal(record.sealed_secret, token.secret)
            if tokens.verify(secret, record.secret_hash):
                if not policy.is_alive(record, now):
                    return Classified(Verdict.EXPIRED)
                current = tokens.Token(record.public_id, secret)
                return Classified(Verdict.GRACE, current)
        return Classified(Verdict.REUSE)
    if token.secret_hash in retired:
        return Classified(Verdict.REUSE)
    return Classified(Verdict.FORGED)


def end_of(record: SessionRecord, custom: Any) -> datetime:
    """The ``expires_at`` to store for ``record`` (its fields as they will
    be written) under today's limits and the session's ``set_expiry``."""
    return policy.end_of(
        user_id=record.user_id,
        remembered=record.remembered,
        last_activity=record.last_activity,
        authenticated_at=record.authenticated_at,
        created_at=record.created_at,
        custom=custom,
    )


def new_record(
    token: tokens.Token,
    *,
    user_id: str | None,
    data: str,
    custom: Any,
    now: datetime,
    authenticated_at: datetime | None,
    ip: str | None,
    user_agent: str | None,
    impersonator_id: str | None = None,
    remembered: bool = False,
) -> SessionRecord:
    """A record for a new public id. ``authenticated_at`` is carried over by
    rotations that are not a sign-in; it is ``now`` for a sign-in. Only a
    signed-in session is remembered."""
    record = SessionRecord(
        public_id=token.public_id,
        secret_hash=token.secret_hash,
        created_at=now,
        last_activity=now,
        expires_at=now,
        data=data,
        user_id=user_id,
        authenticated_at=(authenticated_at or now) if user_id is not None else None,
        ip=ip,
        user_agent=user_agent or "",
        remembered=remembered and user_id is not None,
        rotated_at=now,
        impersonator_id=impersonator_id if user_id is not None else None,
    )
    record.expires_at = end_of(record, custom)
    return record


def client_changes(
    record: SessionRecord, *, ip: str | None, user_agent: str | None
) -> dict[str, Any]:
    """The recorded client details that this request changes."""
    changes: dict[str, Any] = {}
    if ip is not None and ip != record.ip:
        changes["ip"] = ip
    if user_agent is not None and user_agent != record.user_agent:
        changes["user_agent"] = user_agent
    return changes


def touch_changes(
    record: SessionRecord,
    now: datetime,
    *,
    interval: float,
    custom: Any,
    ip: str | None,
    user_agent: str | None,
) -> dict[str, Any]:
    """After a read: last activity at most once per touch interval, and
    changed client details. Empty when nothing is due."""
    changes = client_changes(record, ip=ip, user_agent=user_agent)
    if not changes and not policy.needs_touch(now, record.last_activity, interval):
        return {}
    changes["last_activity"] = now
    changes["expires_at"] = end_of(record.replace(**changes), custom)
    return changes


def save_changes(
    record: SessionRecord,
    now: datetime,
    *,
    user_id: str | None,
    authenticated_now: bool,
    data: str,
    custom: Any,
    interval: float,
    ip: str | None,
    user_agent: str | None,
    impersonator_id: str | None = None,
    remembered: bool = False,
) -> dict[str, Any]:
    """A write of the session's data on the same public id. ``expires_at``
    is included only when it moves (then the cookie is due again)."""
    changes = client_changes(record, ip=ip, user_agent=user_agent)
    if user_id != record.user_id:
        changes["user_id"] = user_id
    remembered = remembered and user_id is not None
    if remembered != record.remembered:
        changes["remembered"] = remembered
    if user_id is None:
        impersonator_id = None
    if impersonator_id != record.impersonator_id:
        changes["impersonator_id"] = impersonator_id
    if user_id is None:
        if record.authenticated_at is not None:
            changes["authenticated_at"] = None
    elif authenticated_now:
        changes["authenticated_at"] = now
    if changes or policy.needs_touch(now, record.last_activity, interval):
        # Last activity moves at most once per touch interval, as on reads.
        changes["last_activity"] = now
    changes["data"] = data
    end = end_of(record.replace(**changes), custom)
    if end != record.expires_at:
        changes["expires_at"] = end
    return changes


def id_rotation(record: SessionRecord, user_id: str | None) -> bool:
    """Does writing this user on this record need a new public id? Someone
    signed in on the session without ``cycle_key()``: a privilege change."""
    return user_id is not None and user_id != record.user_id


def periodic_rotation(
    record: SessionRecord, token: tokens.Token, now: datetime, interval: float | None
) -> tuple[tokens.Token, dict[str, Any]] | None:
    """When due: the new token (same public id) and the changes that store
    it; the previous secret stays valid for the grace window through the
    sealed successor."""
    if not policy.needs_rotation(now, record.rotated_at or record.created_at, interval):
        return None
    new = tokens.with_new_secret(token)
    retired = [record.secret_hash, *record.retired_hashes.split()]
    return new, {
        "secret_hash": new.secret_hash,
        "retired_hashes": " ".join(retired[:MAX_RETIRED]),
        "rotated_at": now,
        "sealed_secret": tokens.seal(new.secret, token.secret),
    }


class AfterRotation(str, enum.Enum):
    CREATE = "create"  # store the new record
    ENDED = "ended"  # the session was ended meanwhile: create nothing


def after_rotation(
    *, old_removed: bool, had_previous: bool, signing_in: bool
) -> AfterRotation:
    """A rotation to a new public id creates the new record only if it really
    removed the old one: a session ended while the request was in flight
    stays ended, whichever id it was moving to. A session without a stored
    predecessor (a first save) simply creates, and so does a sign-in (the
    user has just authenticated: a new session, not the ended one)."""
    if had_previous and not old_removed and not signing_in:
        return AfterRotation.ENDED
    return AfterRotation.CREATE
