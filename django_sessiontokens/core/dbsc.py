"""Device-bound sessions (DBSC): the rules, with no I/O.

Challenges are single-use and two are honoured at a time (the current one
and the one before it: proactive refreshes race page loads); the bound
cookie is stored as a hash, and the previous value stays valid for
``PREVIOUS_COOKIE_OVERLAP`` seconds after a refresh replaced it. The HTTP
headers are RFC 8941 items as Chromium sends them (``headers`` parses and
writes them).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from django_sessiontokens.types import DeviceBinding

PENDING = "pending"
BOUND = "bound"
#: The previous bound cookie keeps working this long after a refresh.
PREVIOUS_COOKIE_OVERLAP = 30
#: The browser's copy of a bound cookie may outlive the server's by the
#: time its answer took to arrive: honour it this much longer.
SLACK = 5
#: Requests sent before the registration's answer (with the first bound
#: cookie) reached the browser may arrive just after it: a request without
#: any bound cookie is still served this long after the registration.
REGISTRATION_OVERLAP = 5
#: A bound session's request without its bound cookie is taken as theft
#: only this long after the last registration or refresh (requests that
#: were already on their way are not).
SETTLE = 30


def new_secret() -> str:
    """A challenge, a DBSC session identifier or a bound cookie value."""
    return secrets.token_urlsafe(32)


def hash_cookie(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def offer(public_id: str, now: datetime, *, reoffer: bool) -> DeviceBinding:
    """A pending binding: registration offered with a fresh challenge."""
    return DeviceBinding(
        public_id=public_id,
        state=PENDING,
        created_at=now,
        challenge=new_secret(),
        challenge_at=now,
        reoffer=reoffer,
    )


def with_new_challenge(binding: DeviceBinding, now: datetime) -> DeviceBinding:
    """A fresh challenge; the current one becomes the previous one."""
    return binding.replace(
        challenge=new_secret(),
        challenge_at=now,
        previous_challenge=binding.challenge,
        previous_challenge_at=binding.challenge_at,
    )


def challenge_used(
    binding: DeviceBinding, jti: str | None, now: datetime, max_age: float
) -> str | None:
    """``"current"`` or ``"previous"``: which live challenge ``jti`` is;
    ``None`` when it is neither (reused, stale or never issued)."""
    if not jti:
        return None
    limit = timedelta(seconds=max_age)
    for which, value, issued in (
        ("current", binding.challenge, binding.challenge_at),
        ("previous", binding.previous_challenge, binding.previous_challenge_at),
    ):
        if (
            value
            and issued is not None
            and now - issued <= limit
            and hmac.compare_digest(value.encode(), jti.encode())
        ):
            return which
    return None


def _consume(binding: DeviceBinding, which: str, now: datetime) -> DeviceBinding:
    """Spend challenge ``which``; the other live one stays the previous one,
    and a fresh one becomes current."""
    if which == "current":
        keep, keep_at = binding.previous_challenge, binding.previous_challenge_at
    else:
        keep, keep_at = binding.challenge, binding.challenge_at
    return binding.replace(
        challenge=new_secret(),
        challenge_at=now,
        previous_challenge=keep,
        previous_challenge_at=keep_at,
    )


def registered(
    binding: DeviceBinding,
    which: str,
    now: datetime,
    *,
    algorithm: str,
    jwk: str,
    cookie_value: str,
    cookie_age: int,
) -> DeviceBinding:
    """The pending binding, bound to a key, with its first bound cookie."""
    return _consume(binding, which, now).replace(
        state=BOUND,
        dbsc_id=new_secret()[:32],
        algorithm=algorithm,
        jwk=jwk,
        previous_challenge="",
        previous_challenge_at=None,
        cookie_hash=hash_cookie(cookie_value),
        cookie_expires=now + timedelta(seconds=cookie_age),
        previous_cookie_hash="",
        previous_cookie_until=None,
        bound_at=now,
        refreshed_at=now,
        reoffer=False,
    )


def refreshed(
    binding: DeviceBinding,
    which: str,
    now: datetime,
    *,
    cookie_value: str,
    cookie_age: int,
) -> DeviceBinding:
    """After a verified refresh: a new bound cookie (the previous one kept
    for the overlap) and the next challenge."""
    keep_previous = binding.cookie_expires is not None and binding.cookie_expires > now
    return _consume(binding, which, now).replace(
        cookie_hash=hash_cookie(cookie_value),
        cookie_expires=now + timedelta(seconds=cookie_age),
        previous_cookie_hash=binding.cookie_hash if keep_previous else "",
        previous_cookie_until=(
            now + timedelta(seconds=PREVIOUS_COOKIE_OVERLAP) if keep_previous else None
        ),
        refreshed_at=now,
    )


def cookie_state(binding: DeviceBinding, value: str | None, now: datetime) -> str:
    """``"valid"``, ``"missing"`` or ``"wrong"`` (unknown, or expired on
    the server)."""
    if not value:
        return "missing"
    if len(value) > 128:
        return "wrong"
    presented = hash_cookie(value)
    slack = timedelta(seconds=SLACK)
    current_until = binding.cookie_expires and binding.cookie_expires + slack
    for stored, until in (
        (binding.cookie_hash, current_until),
        (binding.previous_cookie_hash, binding.previous_cookie_until),
    ):
        if (
            stored
            and until is not None
            and now < until
            and hmac.compare_digest(stored, presented)
        ):
            return "valid"
    return "wrong"


def just_registered(binding: DeviceBinding, state: str, now: datetime) -> bool:
    """No bound cookie yet, moments after the registration (before any
    refresh): a request that left before the browser had the cookie."""
    return (
        state == "missing"
        and binding.bound_at is not None
        and binding.refreshed_at == binding.bound_at
        and now - binding.bound_at <= timedelta(seconds=REGISTRATION_OVERLAP)
    )


def looks_stolen(
    binding: DeviceBinding, state: str, skipped: bool, now: datetime
) -> bool:
    """A bound session used without any bound cookie while its device holds
    a live one, long enough after the last refresh that nothing was still on
    its way, and not marked ``Secure-Session-Skipped``: Chromium never sends
    such a request (it holds it until it has refreshed), another client
    does."""
    last = binding.refreshed_at or binding.bound_at
    return (
        state == "missing"
        and not skipped
        and binding.state == BOUND
        and binding.cookie_expires is not None
        and now < binding.cookie_expires
        and last is not None
        and now - last > timedelta(seconds=SETTLE)
    )
