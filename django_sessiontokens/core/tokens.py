"""Make, parse, hash and verify session tokens.

A cookie value is ``<public id>.<secret>``:

* the public id (24 URL-safe characters) names the session in storage, admin
  pages, URLs, logs, signals and commands. Its first 8 characters are a routing
  tag: for a signed-in user a keyed hash of the user id (so one user's sessions
  and their index share a Redis Cluster slot, and the tag reveals nothing),
  otherwise random;
* the secret is 256 bits from :mod:`secrets`. Only its SHA-256 is stored, and
  it is compared in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.utils.crypto import salted_hmac

TAG_LENGTH = 8
RANDOM_LENGTH = 16
PUBLIC_ID_LENGTH = TAG_LENGTH + RANDOM_LENGTH
SECRET_BYTES = 32
SECRET_LENGTH = 43  # base64url of 32 bytes, unpadded
SEPARATOR = "."
TOKEN_LENGTH = PUBLIC_ID_LENGTH + len(SEPARATOR) + SECRET_LENGTH

_TOKEN_RE = re.compile(
    rf"\A[A-Za-z0-9_-]{{{PUBLIC_ID_LENGTH}}}\.[A-Za-z0-9_-]{{{SECRET_LENGTH}}}\Z"
)
_PUBLIC_ID_RE = re.compile(rf"\A[A-Za-z0-9_-]{{{PUBLIC_ID_LENGTH}}}\Z")
# Keys of django.contrib.sessions: 32 characters of [a-z0-9].
_LEGACY_RE = re.compile(r"\A[a-z0-9]{32}\Z")
_TAG_SALT = "django_sessiontokens.core.tokens.routing_tag"
_LEGACY_SALT = "django_sessiontokens.core.tokens.legacy"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True, repr=False)
class Token:
    """A parsed cookie value. Its ``repr`` never shows the secret."""

    public_id: str
    secret: str
    legacy: bool = False

    @property
    def value(self) -> str:
        """The cookie value."""
        if self.legacy:
            return self.secret
        return f"{self.public_id}{SEPARATOR}{self.secret}"

    @property
    def secret_hash(self) -> str:
        return hash_secret(self.secret)

    def __repr__(self) -> str:
        return f"<Token {self.public_id}>"

    __str__ = __repr__


def routing_tag(user_id: object | None, *, secret: str | None = None) -> str:
    """The tag a user's public ids start with; random for anonymous sessions."""
    if user_id is None or user_id == "":
        return _b64(secrets.token_bytes(6))
    digest = salted_hmac(
        _TAG_SALT,
        str(user_id),
        secret=secret or settings.SECRET_KEY,
        algorithm="sha256",
    ).digest()
    return _b64(digest[:6])


def routing_tags(user_id: object) -> list[str]:
    """The user's tag under ``SECRET_KEY`` and each ``SECRET_KEY_FALLBACKS``."""
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    tags: list[str] = []
    for key in keys:
        tag = routing_tag(user_id, secret=key)
        if tag not in tags:
            tags.append(tag)
    return tags


def new_secret() -> str:
    return _b64(secrets.token_bytes(SECRET_BYTES))


def new_token(user_id: object | None = None) -> Token:
    """A fresh token whose public id carries the user's routing tag."""
    public_id = routing_tag(user_id) + _b64(secrets.token_bytes(12))
    return Token(public_id=public_id, secret=new_secret())


def with_new_secret(token: Token) -> Token:
    """The same public id with a fresh secret (periodic rotation)."""
    return Token(public_id=token.public_id, secret=new_secret())


def hash_secret(secret: str) -> str:
    """SHA-256 of the secret, hex. Right for 256-bit random secrets: there is
    nothing to brute-force, so no slow KDF is needed."""
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def verify(secret: str, expected_hash: str) -> bool:
    """Constant-time check of a secret against a stored hash."""
    if not expected_hash:
        return False
    return hmac.compare_digest(hash_secret(secret), expected_hash)


def is_public_id(value: object) -> bool:
    return isinstance(value, str) and bool(_PUBLIC_ID_RE.match(value))


def legacy_public_id(key: str) -> str:
    """Where a session imported from ``django.contrib.sessions`` is stored."""
    digest = hmac.new(
        _LEGACY_SALT.encode(), key.encode("ascii"), hashlib.sha256
    ).digest()
    return "imported" + _b64(digest)[: PUBLIC_ID_LENGTH - 8]


def parse(value: object, *, accept_legacy: bool = False) -> Token | None:
    """Cheap syntactic check: ``None`` for anything that cannot be a token.

    Runs before any storage lookup, so garbage costs no query.
    """
    if not isinstance(value, str):
        return None
    if len(value) == TOKEN_LENGTH and _TOKEN_RE.match(value):
        public_id, _, secret = value.partition(SEPARATOR)
        return Token(public_id=public_id, secret=secret)
    if accept_legacy and len(value) == 32 and _LEGACY_RE.match(value):
        return Token(public_id=legacy_public_id(value), secret=value, legacy=True)
    return None


def seal(successor_secret: str, predecessor_secret: str) -> str:
    """Encrypt the successor's secret under its predecessor's secret, so that
    only a holder of the previous token can learn the new one (during the
    rotation grace window). One-time pad from HMAC-SHA256: both are 32 bytes.
    """
    pad = hmac.new(
        predecessor_secret.encode("ascii"), b"sessiontokens.seal", hashlib.sha256
    ).digest()
    raw = base64.urlsafe_b64decode(successor_secret + "=")
    return _b64(bytes(a ^ b for a, b in zip(raw, pad, strict=True)))


def unseal(sealed: str, predecessor_secret: str) -> str:
    return seal(sealed, predecessor_secret)
