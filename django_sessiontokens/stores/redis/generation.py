"""cached_db: the cache generation (``models.CacheEpoch``, one row).

Copies in Redis are keyed by the generation they were made under
(``keys.copy``). The generation moves on, durably in the database, when a
process could not tell Redis about a change (``move_on``), and when a check
finds that Redis restarted (its ``run_id`` differs from the one recorded in
the row: copies restored from RDB/AOF may predate later writes). Each
process checks at most once per ``SESSIONTOKENS_CACHE_CHECK_INTERVAL``
seconds (one SQL query and one ``INFO server``), so a warm read costs no SQL.

A new generation is a random 62-bit number, not a count: one moved on inside
a transaction that is then rolled back is never chosen again by another
process, so copies made under it are trusted by nobody (this process reads
the real one at its next check).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, router, transaction
from django.utils import timezone

from django_sessiontokens.conf import conf
from django_sessiontokens.exceptions import StoreUnavailable
from django_sessiontokens.models import CacheEpoch


class Generation:
    """The generation as this process knows it. ``clock`` (monotonic
    seconds) is injectable for tests."""

    def __init__(self, store: Any, *, clock: Callable[[], float]) -> None:
        self.store = store
        self.clock = clock
        self.value = 0
        #: When it was last checked (``clock``), ``None``: never.
        self.checked_at: float | None = None
        self._lock = threading.Lock()

    def _alias(self) -> str:
        return self.store.db.using or router.db_for_write(CacheEpoch)

    def current(self) -> int:
        """The generation, checked when the interval has passed."""
        checked = self.checked_at
        if checked is not None and self.clock() - checked < conf.CACHE_CHECK_INTERVAL:
            return self.value
        with self._lock:
            now = self.clock()
            checked = self.checked_at
            if checked is None or now - checked >= conf.CACHE_CHECK_INTERVAL:
                self.check()
                self.checked_at = now
        return self.value

    def expire(self) -> None:
        """Check again on next use (settings changed)."""
        self.checked_at = None

    def check(self) -> None:
        """Read the generation; move it on if Redis restarted."""
        run_id = self.run_id()
        row = (
            CacheEpoch.objects.using(self._alias())
            .filter(pk=1)
            .values_list("value", "redis_run_id")
            .first()
        )
        value, known = row or (0, "")
        if run_id is not None and run_id != known:
            value = self._move_on(run_id=run_id, known=known)
        self.value = int(value)

    def run_id(self) -> str | None:
        """Redis's ``run_id`` (all primaries' on Cluster), ``None`` if Redis
        does not answer."""
        try:
            with self.store.guard():
                info = self.store.client().info("server")
        except StoreUnavailable:
            return None
        if "run_id" in info:
            return str(info["run_id"])
        found = sorted(str(node.get("run_id", "")) for node in info.values())
        return ",".join(found)[:64]

    def move_on(self) -> None:
        """A change Redis missed: no copy made before now may be used."""
        self.value = self._move_on()

    def _move_on(self, *, run_id: str | None = None, known: str = "") -> int:
        alias = self._alias()
        manager = CacheEpoch.objects.using(alias)
        fresh = secrets.randbits(62)
        changes: dict[str, Any] = {"value": fresh, "changed_at": timezone.now()}
        rows = manager.filter(pk=1)
        if run_id is not None:
            # Once per restart, however many processes notice it.
            rows = rows.filter(redis_run_id=known)
            changes["redis_run_id"] = run_id
        if not rows.update(**changes) and not manager.filter(pk=1).exists():
            try:
                with transaction.atomic(using=alias):
                    manager.create(
                        pk=1,
                        value=fresh,
                        redis_run_id=run_id or "",
                        changed_at=timezone.now(),
                    )
            except IntegrityError:
                if run_id is None:  # created meanwhile: move it on still
                    manager.filter(pk=1).update(**changes)
        value = manager.filter(pk=1).values_list("value", flat=True).first()
        return int(value or 0)
