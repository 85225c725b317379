"""What ``RedisStore`` provides to its mixins (``Purge``, ``Search``), and
the score of a cutoff."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from django_sessiontokens.stores.base import SessionRecord
from django_sessiontokens.stores.redis.codec import micros

if TYPE_CHECKING:
    from django_sessiontokens.core.policy import Cutoffs


def upto(bound: Any) -> str | None:
    """A cutoff as a sorted-set score (``None``: no such cutoff)."""
    return None if bound is None else str(micros(bound))


class StoreParts:
    """Provided by ``RedisStore``."""

    client: Callable[[], Any]
    guard: Callable[[], Any]
    key: Callable[[str], str]
    expiry_key: Callable[[], str]
    activity_key: Callable[[], str]
    auth_key: Callable[[], str]
    anon_key: Callable[[], str]
    ractivity_key: Callable[[], str]
    rauth_key: Callable[[], str]
    for_user: Callable[[str], list[SessionRecord]]
    _light: Callable[[Any, Sequence[str]], list[SessionRecord | None]]
    _delete: Callable[..., tuple[list[SessionRecord], list[SessionRecord], int]]
    _bounds: Callable[[Cutoffs], list[str]]
