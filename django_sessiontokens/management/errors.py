"""Storage failures as ``CommandError``s that say what to do."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.management.base import CommandError

from django_sessiontokens.exceptions import StoreUnavailable


def _unavailable() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [StoreUnavailable]
    try:
        from redis.exceptions import ConnectionError, TimeoutError
    except ImportError:
        pass
    else:
        errors += [ConnectionError, TimeoutError]
    return tuple(errors)


@contextmanager
def storage_errors(done: str = "nothing was changed") -> Iterator[None]:
    """Turn "storage unreachable" into a ``CommandError`` (exit status 1)."""
    try:
        yield
    except _unavailable() as exc:
        raise CommandError(
            f"Session storage could not be reached ({exc}); {done}. Check that "
            "Redis is running and that the cache named by "
            "SESSIONTOKENS_REDIS_CACHE points at it, then run the command again."
        ) from exc
