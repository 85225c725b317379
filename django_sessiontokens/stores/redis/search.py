"""The Redis store's admin listing (``search``), by pages of the activity
sets (``keys``: ordinary and remembered sessions, walked together in one
order), in proportion to the page."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from django_sessiontokens.stores.base import SEARCH_COUNT_LIMIT, SessionRecord
from django_sessiontokens.stores.redis import keys
from django_sessiontokens.stores.redis.codec import micros, text
from django_sessiontokens.stores.redis.parts import StoreParts, upto

if TYPE_CHECKING:
    from django_sessiontokens.core.policy import Cutoffs

#: Sessions read per round trip while walking the activity sets.
CHUNK = 200
#: A range of an activity set to walk: (key, high, low).
Stream = tuple[str, str, str]


class Search(StoreParts):
    """Mixed into ``RedisStore`` (which provides the keys)."""

    def search(
        self,
        cutoffs: Cutoffs,
        *,
        user_ids: Sequence[str] | None = None,
        ip: str | None = None,
        state: str = "active",
        offset: int = 0,
        limit: int = 100,
    ) -> tuple[int, list[SessionRecord]]:
        """Signed-in sessions, most recently active first (ties in any order).

        Without filters the page is read by walking the activity sets
        (ordinary and remembered, merged) from the most recent down (down to
        each one's idle cutoff for ``"active"``),
        ``CHUNK`` records per pipelined round trip, skipping what
        ``cutoffs.expired`` says is expired: it costs in proportion to
        ``offset + limit`` plus the expired sessions not yet purged among
        them.

        The total counts members of the activity sets: for ``"active"``,
        ``ZCOUNT`` of the ranges above the idle cutoffs minus those of these
        ranges that the stored expiry or the absolute limit expires (read
        from the ``expiry``, ``auth`` and ``rauth`` ranges, i.e. in proportion to the
        sessions awaiting the purge, at most ``SEARCH_COUNT_LIMIT + 1`` of
        each); for ``"expired"``, those plus ``ZCOUNT`` at or below the idle
        cutoff; for ``"all"``, the whole set. It is exact up to
        ``SEARCH_COUNT_LIMIT`` (reported as ``SEARCH_COUNT_LIMIT + 1``
        above) while fewer sessions than that await the purge; a session
        whose key vanished without a script (never by its TTL, which the
        expiry range covers) is counted until a walk or the purge meets it.

        Filters cost more: ``user_ids`` reads those users' indexes (in
        proportion to their sessions, as ``for_user``); ``ip`` reads every
        session of the range (in proportion to them), its total counted
        exactly up to the cap.
        """
        if user_ids is not None:
            return self._search_users(cutoffs, user_ids, ip, state, offset, limit)
        with self.guard():
            client = self.client()
            if state == "active":
                return self._search_range(
                    client,
                    self._streams(cutoffs, above=True),
                    ip,
                    offset,
                    limit,
                    keep=lambda rec: not cutoffs.expired(rec),
                    minus=lambda: len(self._expired_above(client, cutoffs)),
                )
            if state == "expired":
                return self._search_expired(client, cutoffs, ip, offset, limit)
            streams = [
                (self.activity_key(), "+inf", "-inf"),
                (self.ractivity_key(), "+inf", "-inf"),
            ]
            return self._search_range(client, streams, ip, offset, limit)

    def _streams(self, cutoffs: Cutoffs, *, above: bool) -> list[Stream]:
        """The activity sets (ordinary, remembered) above their idle
        cutoffs (``above``), or at and below them (those with a cutoff)."""
        found: list[Stream] = []
        for key, bound in (
            (self.activity_key(), upto(cutoffs.idle)),
            (self.ractivity_key(), upto(cutoffs.remembered_idle)),
        ):
            if above:
                found.append((key, "+inf", "-inf" if bound is None else f"({bound}"))
            elif bound is not None:
                found.append((key, bound, "-inf"))
        return found

    def _search_users(
        self,
        cutoffs: Cutoffs,
        user_ids: Sequence[str],
        ip: str | None,
        state: str,
        offset: int,
        limit: int,
    ) -> tuple[int, list[SessionRecord]]:
        found = [r for uid in dict.fromkeys(user_ids) for r in self.for_user(uid)]
        matches = [
            rec
            for rec in found
            if (not ip or rec.ip == ip)
            and (state == "all" or (state == "active") != cutoffs.expired(rec))
        ]
        matches.sort(key=lambda rec: rec.public_id)
        matches.sort(key=lambda rec: rec.last_activity, reverse=True)
        return min(len(matches), SEARCH_COUNT_LIMIT + 1), matches[
            offset : offset + limit
        ]

    def _walk(
        self,
        client: Any,
        streams: list[Stream],
        keep: Callable[[SessionRecord], bool],
        want: int,
        count_to: int = 0,
    ) -> tuple[list[SessionRecord], int]:
        """Walk the ranges of the activity sets from ``high`` down to
        ``low``, merged most recent first: the first ``want`` records
        ``keep`` accepts, and how many it accepted (the walk goes on until
        ``count_to`` are). Prunes members whose key is gone."""
        walks = [_Walk(*stream) for stream in streams]
        page: list[SessionRecord] = []
        accepted = 0
        while len(page) < want or accepted < count_to:
            _fill(client, walks)
            batch = _merge(walks)
            if not batch:
                break
            records = self._light(client, [pid for _walk, pid in batch])
            for walk in walks:
                dead = [
                    pid
                    for (owner, pid), rec in zip(batch, records, strict=True)
                    if owner is walk and rec is None
                ]
                if dead:
                    client.zrem(walk.key, *dead)
                    walk.start -= len(dead)
            for rec in records:
                if rec is not None and rec.user_id is not None and keep(rec):
                    accepted += 1
                    if len(page) < want:
                        page.append(rec)
        return page, accepted

    def _search_range(
        self,
        client: Any,
        streams: list[Stream],
        ip: str | None,
        offset: int,
        limit: int,
        keep: Callable[[SessionRecord], bool] = lambda rec: True,
        minus: Callable[[], int] = lambda: 0,
    ) -> tuple[int, list[SessionRecord]]:
        if ip:
            page, total = self._walk(
                client,
                streams,
                lambda r: r.ip == ip and keep(r),
                offset + limit,
                count_to=SEARCH_COUNT_LIMIT + 1,
            )
        else:
            page, _accepted = self._walk(client, streams, keep, offset + limit)
            pipe = client.pipeline(transaction=False)
            for key, high, low in streams:
                pipe.zcount(key, low, high)
            total = sum(int(found) for found in pipe.execute()) - minus()
        return min(max(total, 0), SEARCH_COUNT_LIMIT + 1), page[offset:]

    def _expired_above(self, client: Any, cutoffs: Cutoffs) -> list[str]:
        """Signed-in sessions active after their idle cutoff (or at all)
        that an absolute or the stored expiry bound expires."""
        limit = SEARCH_COUNT_LIMIT + 1
        pipe = client.pipeline(transaction=False)
        pipe.zrangebyscore(self.expiry_key(), "-inf", micros(cutoffs.now), 0, limit)
        for key, bound in (
            (self.auth_key(), cutoffs.absolute),
            (self.rauth_key(), cutoffs.remembered_absolute),
        ):
            if bound is not None:
                pipe.zrangebyscore(key, "-inf", micros(bound), 0, limit)
        found: dict[str, None] = {}
        replies = pipe.execute()
        for raw in replies[0]:
            pid, uid = keys.split_member(text(raw))
            if uid:
                found[pid] = None
        for raw in replies[1:]:
            found.update(dict.fromkeys(text(m) for m in raw))
        if not found:
            return []
        ids = list(found)
        pipe = client.pipeline(transaction=False)
        pipe.zmscore(self.activity_key(), ids)
        pipe.zmscore(self.ractivity_key(), ids)
        ordinary, remembered = pipe.execute()
        bounds = [
            None if bound is None else micros(bound)
            for bound in (cutoffs.idle, cutoffs.remembered_idle)
        ]
        above = []
        for pid, *scores in zip(ids, ordinary, remembered, strict=True):
            for score, idle in zip(scores, bounds, strict=True):
                if score is not None and (idle is None or score > idle):
                    above.append(pid)
                    break
        return above

    def _search_expired(
        self, client: Any, cutoffs: Cutoffs, ip: str | None, offset: int, limit: int
    ) -> tuple[int, list[SessionRecord]]:
        """Expired = active after the idle cutoff but expired by another
        bound (few: they await the purge; listed first), then everything at
        or below the idle cutoff (walked)."""
        above = [
            rec
            for rec in self._light(client, self._expired_above(client, cutoffs))
            if rec is not None and rec.user_id is not None and (not ip or rec.ip == ip)
        ]
        above.sort(key=lambda rec: rec.last_activity, reverse=True)
        page = above[offset : offset + limit]
        streams = self._streams(cutoffs, above=False)
        if not streams:
            return min(len(above), SEARCH_COUNT_LIMIT + 1), page
        skip = max(0, offset - len(above))
        total, rest = self._search_range(client, streams, ip, skip, limit - len(page))
        return min(len(above) + total, SEARCH_COUNT_LIMIT + 1), page + rest


class _Walk:
    """One range of an activity set, read ``CHUNK`` members at a time."""

    def __init__(self, key: str, high: str, low: str) -> None:
        self.key, self.high, self.low = key, high, low
        #: Members read so far (less those pruned): the next read's offset.
        self.start = 0
        self.buffer: deque[tuple[str, float]] = deque()
        self.done = False

    @property
    def due(self) -> bool:
        return not self.buffer and not self.done

    def read(self, pipe: Any) -> None:
        pipe.zrevrangebyscore(
            self.key, self.high, self.low, start=self.start, num=CHUNK, withscores=True
        )

    def add(self, found: list[tuple[Any, float]]) -> None:
        self.buffer.extend((text(member), float(score)) for member, score in found)
        self.start += len(found)
        self.done = len(found) < CHUNK


def _fill(client: Any, walks: list[_Walk]) -> None:
    """Read the next members of each walk that has none left: one round trip."""
    due = [walk for walk in walks if walk.due]
    if not due:
        return
    pipe = client.pipeline(transaction=False)
    for walk in due:
        walk.read(pipe)
    for walk, found in zip(due, pipe.execute(), strict=True):
        walk.add(found)


def _merge(walks: list[_Walk]) -> list[tuple[_Walk, str]]:
    """Up to ``CHUNK`` members of the walks, most recent first, while every
    walk not done has members read (each read ahead, in its order)."""
    batch: list[tuple[_Walk, str]] = []
    while len(batch) < CHUNK:
        if any(walk.due for walk in walks):
            break
        ready = [walk for walk in walks if walk.buffer]
        if not ready:
            break
        best = max(ready, key=lambda walk: walk.buffer[0][1])
        batch.append((best, best.buffer.popleft()[0]))
    return batch
