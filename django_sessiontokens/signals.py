"""Lifecycle signals. Every one is sent with ``sender=Session`` (the model
class) and keyword arguments only, after the surrounding transaction commits.
"""

from __future__ import annotations

from django.dispatch import Signal

#: A new session was stored.
#: kwargs: public_id: str, user_id: str | None, request: HttpRequest | None
session_created = Signal()

#: A session got a new token.
#: kwargs: public_id: str (new), previous_public_id: str (same when only the
#: secret changed), user_id: str | None, reason: str ("login",
#: "privilege_change", "periodic", "imported", "binding"),
#: request: HttpRequest | None
session_rotated = Signal()

#: A session was ended and deleted from storage.
#: kwargs: public_id: str, user_id: str | None, reason: str (see
#: ``services.Reason``), actor: str ("user", "admin", "command", "system"),
#: ended_by: user or None, request: HttpRequest | None
session_ended = Signal()

#: The client's IP address or user agent changed within a session.
#: kwargs: public_id: str, user_id: str | None, kind: "ip" | "user_agent",
#: old: str | None, new: str | None, action: str, request: HttpRequest | None
session_anomaly = Signal()

#: A rotated-away token was used after its grace window; the session was ended.
#: kwargs: public_id: str, user_id: str | None, request: HttpRequest | None
session_reuse_detected = Signal()

#: Too many invalid tokens from one client address within the window.
#: kwargs: ip: str, count: int, request: HttpRequest | None
session_guessing_detected = Signal()

#: A user signed in from a device not seen for them recently
#: (``SESSIONTOKENS_NEW_DEVICE_ALERT``; the rule: ``core.new_device``). Sent
#: whether or not the alert email was sent, at most once a day per device.
#: kwargs: public_id: str, user_id: str, user: the user, device: str (as
#: shown, e.g. "Firefox 120 on Windows"), ip: str | None, location: dict
#: ("city", "country", "country_code") | None, emailed: bool,
#: request: HttpRequest | None
session_new_device = Signal()
#: A session was bound to a device key (DBSC registration succeeded).
#: kwargs: public_id: str, user_id: str | None, algorithm: "ES256" | "RS256",
#: request: HttpRequest | None
session_bound = Signal()
