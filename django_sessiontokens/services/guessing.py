"""Guessing detection: too many invalid session tokens from one address.

A request counts when its cookie was refused as ``malformed`` (fails the
cheap syntax check: no storage query), ``unknown`` (no such session) or
``forged`` (a known public id with a wrong secret). Expired and ended tokens
do not count: browsers legitimately send those after a timeout or a sign-out
elsewhere. Reused (stolen) tokens have their own signal.

Counts live in Django's ``default`` cache, per client address
(``client.client_ip``: ``REMOTE_ADDR`` unless ``SESSIONTOKENS_TRUSTED_PROXIES``
is set), in a sliding window of ``SESSIONTOKENS_INVALID_TOKEN_WINDOW``
seconds: the usual two-bucket estimate (this window's count plus the previous
window's, weighted by how much of it still overlaps), which needs only atomic
``add``/``incr``. Over ``SESSIONTOKENS_INVALID_TOKEN_LIMIT``,
``session_guessing_detected`` fires once per window and, with
``SESSIONTOKENS_INVALID_TOKEN_BLOCK``, requests from that address that carry
a session cookie get ``429 Too Many Requests`` for one window.

Use a shared cache (Redis, Memcached) when several processes serve the site;
a per-process ``LocMemCache`` counts per process.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.http import HttpResponse

from django_sessiontokens import metrics, signals
from django_sessiontokens.conf import conf
from django_sessiontokens.models import Session

if TYPE_CHECKING:
    from django.core.cache.backends.base import BaseCache
    from django.http import HttpRequest

security_logger = logging.getLogger("django.security.sessiontokens")

#: ``session.rejected`` values that count as a guess.
COUNTED = frozenset({"malformed", "unknown", "forged"})
_PREFIX = "sessiontokens:guessing"


def _cache() -> BaseCache:
    return caches[DEFAULT_CACHE_ALIAS]


def _key(kind: str, ip: str, bucket: int | None = None) -> str:
    suffix = "" if bucket is None else f":{bucket}"
    return f"{_PREFIX}:{kind}:{ip}{suffix}"


def is_blocked(ip: str | None) -> bool:
    """Is this address answered with 429 right now?"""
    if ip is None or conf.INVALID_TOKEN_LIMIT is None or not conf.INVALID_TOKEN_BLOCK:
        return False
    return bool(_cache().get(_key("block", ip)))


def count(ip: str) -> int:
    """Invalid tokens from ``ip`` in the sliding window ending now."""
    return _count(ip, time.time(), increment=False)


def _count(ip: str, now: float, *, increment: bool) -> int:
    window = conf.INVALID_TOKEN_WINDOW
    bucket = int(now // window)
    cache = _cache()
    key = _key("count", ip, bucket)
    if increment:
        cache.add(key, 0, timeout=int(2 * window) + 1)
        try:
            current = int(cache.incr(key))
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=int(2 * window) + 1)
            current = 1
    else:
        current = int(cache.get(key) or 0)
    previous = int(cache.get(_key("count", ip, bucket - 1)) or 0)
    overlap = 1.0 - (now % window) / window
    return current + int(previous * overlap)


def note_invalid(ip: str | None, request: HttpRequest | None = None) -> None:
    """Count one invalid token from ``ip``; detect and block over the limit."""
    limit = conf.INVALID_TOKEN_LIMIT
    if limit is None or ip is None:
        return
    total = _count(ip, time.time(), increment=True)
    if total <= limit:
        return
    window = conf.INVALID_TOKEN_WINDOW
    cache = _cache()
    if conf.INVALID_TOKEN_BLOCK:
        cache.add(_key("block", ip), 1, timeout=int(window))
    if cache.add(_key("signalled", ip), 1, timeout=int(window)):
        metrics.guessing()
        security_logger.warning(
            "%d invalid session tokens from %s within %d s", total, ip, window
        )
        signals.session_guessing_detected.send(
            sender=Session, ip=ip, count=total, request=request
        )


def too_many_requests() -> HttpResponse:
    response = HttpResponse(
        "Too many invalid session tokens from this address. Try again later.",
        status=429,
        content_type="text/plain; charset=utf-8",
    )
    response["Retry-After"] = str(int(conf.INVALID_TOKEN_WINDOW))
    return response
