"""The Redis store's purge and expired counts under today's limits.

Today's limits (``core.policy.Cutoffs``) are score ranges on the ``{all}``
sets (``keys``): a session is expired when it is in one of

* ``expiry``   (-inf, now]       (every session, by stored ``expires_at``)
* ``activity`` (-inf, idle]      (signed in, by last activity)
* ``auth``     (-inf, absolute]  (signed in, by sign-in or creation time)
* ``anon``     (-inf, anonymous] (anonymous, by last activity)
* ``ractivity``, ``rauth``: the same as ``activity`` and ``auth`` for
  remembered sessions, under their own bounds

so nothing walks every session. A batch reads the first members of each
range, then one delete script (``lua/delete.lua``; per tag on Cluster)
removes those its own check of ``Cutoffs.expired`` still finds expired.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from django_sessiontokens.stores.base import SessionRecord
from django_sessiontokens.stores.redis import keys
from django_sessiontokens.stores.redis.codec import micros, text
from django_sessiontokens.stores.redis.parts import StoreParts
from django_sessiontokens.stores.redis.parts import upto as score_of

if TYPE_CHECKING:
    from django_sessiontokens.core.policy import Cutoffs


class Purge(StoreParts):
    """Mixed into ``RedisStore`` (which provides the keys and scripts)."""

    def purge_batch_size(self) -> int:
        # Each batch is one script, and Redis serves nobody else while it
        # runs: about 10 ms per 1,000 sessions on the benchmark machine.
        return 1000

    def _ranges(self, cutoffs: Cutoffs) -> list[tuple[str, str, bool]]:
        """(set, upper bound, members carry the user id) of each bound."""
        found = [(self.expiry_key(), str(micros(cutoffs.now)), True)]
        for key, bound in (
            (self.activity_key(), cutoffs.idle),
            (self.auth_key(), cutoffs.absolute),
            (self.anon_key(), cutoffs.anonymous),
            (self.ractivity_key(), cutoffs.remembered_idle),
            (self.rauth_key(), cutoffs.remembered_absolute),
        ):
            upto = score_of(bound)
            if upto is not None:
                found.append((key, upto, False))
        return found

    def _candidates(
        self, client: Any, cutoffs: Cutoffs, batch_size: int, skip: list[int]
    ) -> tuple[dict[str, str], list[int]]:
        """Up to ``batch_size`` members of each range (after ``skip[i]``
        of range i): public id -> owner ("" when the set does not say), and
        how many each range gave."""
        ranges = self._ranges(cutoffs)
        pipe = client.pipeline(transaction=False)
        for (key, upto, _named), start in zip(ranges, skip, strict=False):
            pipe.zrangebyscore(key, "-inf", upto, start=start, num=batch_size)
        found: dict[str, str] = {}
        sizes = []
        for (_key, _bound, named), members in zip(ranges, pipe.execute(), strict=True):
            sizes.append(len(members))
            for raw in members:
                pid, uid = keys.split_member(text(raw)) if named else (text(raw), "")
                if uid or pid not in found:
                    found[pid] = uid
        return found, sizes

    def purge_expired(
        self, cutoffs: Cutoffs, *, batch_size: int, dry_run: bool = False
    ) -> Iterator[list[SessionRecord]]:
        """Batch by batch: read the first members of each range, then one
        delete script (per tag on Cluster) that removes those still expired."""
        if dry_run:
            yield from self._dry_run(cutoffs, batch_size)
            return
        for removed, _count in self._purge(cutoffs, batch_size, quiet=False):
            if removed:
                yield removed

    def purge_expired_quietly(
        self, cutoffs: Cutoffs, *, batch_size: int
    ) -> Iterator[int]:
        for _removed, count in self._purge(cutoffs, batch_size, quiet=True):
            if count:
                yield count

    def _purge(
        self, cutoffs: Cutoffs, batch_size: int, *, quiet: bool
    ) -> Iterator[tuple[list[SessionRecord], int]]:
        bounds = self._bounds(cutoffs)
        previous: dict[str, str] | None = None
        with self.guard():
            client = self.client()
            while True:
                found, _sizes = self._candidates(
                    client, cutoffs, batch_size, [0] * len(keys.SET_NAMES)
                )
                if not found or found == previous:  # nothing left, or stuck
                    return
                previous = found
                batch = dict(list(found.items())[:batch_size])
                removed, _live, count = self._delete(client, batch, bounds, quiet)
                yield removed, count

    def _dry_run(
        self, cutoffs: Cutoffs, batch_size: int
    ) -> Iterator[list[SessionRecord]]:
        """What the purge would remove, without removing anything."""
        skip = [0] * len(keys.SET_NAMES)
        seen: set[str] = set()
        with self.guard():
            client = self.client()
            while True:
                found, sizes = self._candidates(client, cutoffs, batch_size, skip)
                if not found:
                    return
                skip = [a + b for a, b in zip(skip, sizes, strict=False)]
                fresh = [pid for pid in found if pid not in seen]
                seen.update(fresh)
                records = [
                    rec
                    for rec in self._light(client, fresh)
                    if rec is not None and cutoffs.expired(rec)
                ]
                if records:
                    yield records
