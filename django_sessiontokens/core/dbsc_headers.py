"""The DBSC HTTP headers (RFC 8941 structured fields), as Chromium 150 sends
and reads them. Only the ``Secure-Session-*`` / ``Sec-Secure-Session-Id``
names exist: the first origin trial's ``Sec-Session-*`` headers are ignored.

Every parser returns ``None`` for a value it cannot accept (never raises):
the caller answers a clear 4xx.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

REGISTRATION = "Secure-Session-Registration"
CHALLENGE = "Secure-Session-Challenge"
RESPONSE = "Secure-Session-Response"
SESSION_ID = "Sec-Secure-Session-Id"
SKIPPED = "Secure-Session-Skipped"

#: Longest header value looked at (a proof is checked by ``jws.MAX_LENGTH``).
MAX_VALUE = 1024
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_TOKEN = re.compile(r"[A-Za-z*][A-Za-z0-9_.:%*/+!#$&'^`|~-]*")
_KEY = re.compile(r"[a-z*][a-z0-9_.*-]*")
_STRING_CHARS = re.compile(r"[\x20-\x21\x23-\x5b\x5d-\x7e]*")


def unquote(value: str) -> str:
    """A bare value, or an sf-string with one pair of quotes (and no
    escapes, which no value of ours contains) stripped."""
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def session_id(value: str | None) -> str | None:
    """``Sec-Secure-Session-Id``: bare (Chromium 150) or quoted."""
    if not value or len(value) > MAX_VALUE:
        return None
    found = unquote(value)
    return found if _ID.fullmatch(found) else None


def proof(value: str | None, max_length: int) -> str | None:
    """``Secure-Session-Response``: the JWS, bare or as an sf-string."""
    if value is None or len(value) > max_length + 2:
        return None
    found = unquote(value)
    return found or None


@dataclass(frozen=True)
class Skipped:
    reason: str
    session_identifier: str | None


def skipped(value: str | None) -> Skipped | None:
    """``Secure-Session-Skipped: <reason>;session_identifier="<id>"``."""
    if not value or len(value) > MAX_VALUE:
        return None
    reason, *params = (part.strip() for part in value.split(";"))
    if not _TOKEN.fullmatch(reason):
        return None
    identifier = None
    for param in params:
        key, _, raw = param.partition("=")
        if not _KEY.fullmatch(key):
            return None
        if key == "session_identifier":
            identifier = session_id(raw)
    return Skipped(reason, identifier)


def _string(value: str) -> str:
    if not _STRING_CHARS.fullmatch(value):
        raise ValueError(f"not an sf-string: {value!r}")
    return f'"{value}"'


def registration(path: str, challenge: str) -> str:
    """The registration offer: ES256 preferred, RS256 accepted."""
    return f"(ES256 RS256);path={_string(path)};challenge={_string(challenge)}"


def challenge_header(challenge: str, dbsc_id: str) -> str:
    return f"{_string(challenge)};id={_string(dbsc_id)}"
