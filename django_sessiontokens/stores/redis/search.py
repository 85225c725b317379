"""The Redis store's admin listing (``search``), by pages of the activity
set (``keys``), in proportion to the page."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from django_sessiontokens.stores.base import SEARCH_COUNT_LIMIT, SessionRecord
from django_sessiontokens.stores.redis import keys
from django_sessiontokens.stores.redis.codec import micros, text
from django_sessiontokens.stores.redis.parts import StoreParts, upto

if TYPE_CHECKING:
    from django_sessiontokens.core.policy import Cutoffs

#: Sessions read per round trip while walking the activity set.
CHUNK = 200


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

        Without filters the page is read by walking the activity set from
        the most recent down (down to the idle cutoff for ``"active"``),
        ``CHUNK`` records per pipelined round trip, skipping what
        ``cutoffs.expired`` says is expired: it costs in proportion to
        ``offset + limit`` plus the expired sessions not yet purged among
        them.

        The total counts members of the activity set: for ``"active"``,
        ``ZCOUNT`` of the range above the idle cutoff minus those of that
        range that the stored expiry or the absolute limit expires (read
        from the ``expiry`` and ``auth`` ranges, i.e. in proportion to the
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
            idle = upto(cutoffs.idle)
            if state == "active":
                low = "-inf" if idle is None else f"({idle}"
                return self._search_range(
                    client,
                    "+inf",
                    low,
                    ip,
                    offset,
                    limit,
                    keep=lambda rec: not cutoffs.expired(rec),
                    minus=lambda: len(self._expired_above(client, cutoffs)),
                )
            if state == "expired":
                return self._search_expired(client, cutoffs, ip, offset, limit)
            return self._search_range(client, "+inf", "-inf", ip, offset, limit)

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
        high: str,
        low: str,
        keep: Callable[[SessionRecord], bool],
        want: int,
        count_to: int = 0,
    ) -> tuple[list[SessionRecord], int]:
        """Walk the activity set from ``high`` down to ``low``: the first
        ``want`` records ``keep`` accepts, and how many it accepted (the walk
        goes on until ``count_to`` are). Prunes members whose key is gone."""
        key = self.activity_key()
        page: list[SessionRecord] = []
        accepted, start = 0, 0
        while len(page) < want or accepted < count_to:
            public_ids = [
                text(m)
                for m in client.zrevrangebyscore(key, high, low, start=start, num=CHUNK)
            ]
            if not public_ids:
                break
            records = self._light(client, public_ids)
            dead = [p for p, r in zip(public_ids, records, strict=True) if r is None]
            if dead:
                client.zrem(key, *dead)
            start += len(public_ids) - len(dead)
            for rec in records:
                if rec is not None and rec.user_id is not None and keep(rec):
                    accepted += 1
                    if len(page) < want:
                        page.append(rec)
            if len(public_ids) < CHUNK:
                break
        return page, accepted

    def _search_range(
        self,
        client: Any,
        high: str,
        low: str,
        ip: str | None,
        offset: int,
        limit: int,
        keep: Callable[[SessionRecord], bool] = lambda rec: True,
        minus: Callable[[], int] = lambda: 0,
    ) -> tuple[int, list[SessionRecord]]:
        if ip:
            page, total = self._walk(
                client,
                high,
                low,
                lambda r: r.ip == ip and keep(r),
                offset + limit,
                count_to=SEARCH_COUNT_LIMIT + 1,
            )
        else:
            page, _accepted = self._walk(client, high, low, keep, offset + limit)
            total = int(client.zcount(self.activity_key(), low, high)) - minus()
        return min(max(total, 0), SEARCH_COUNT_LIMIT + 1), page[offset:]

    def _expired_above(self, client: Any, cutoffs: Cutoffs) -> list[str]:
        """Signed-in sessions active after the idle cutoff (or at all) that
        the absolute or the stored expiry bound expires."""
        limit = SEARCH_COUNT_LIMIT + 1
        pipe = client.pipeline(transaction=False)
        pipe.zrangebyscore(self.expiry_key(), "-inf", micros(cutoffs.now), 0, limit)
        absolute = upto(cutoffs.absolute)
        if absolute is not None:
            pipe.zrangebyscore(self.auth_key(), "-inf", absolute, 0, limit)
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
        scores = client.zmscore(self.activity_key(), ids)
        idle = None if cutoffs.idle is None else micros(cutoffs.idle)
        return [
            pid
            for pid, score in zip(ids, scores, strict=True)
            if score is not None and (idle is None or score > idle)
        ]

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
        idle = upto(cutoffs.idle)
        if idle is None:
            return min(len(above), SEARCH_COUNT_LIMIT + 1), page
        skip = max(0, offset - len(above))
        total, rest = self._search_range(
            client, idle, "-inf", ip, skip, limit - len(page)
        )
        return min(len(above) + total, SEARCH_COUNT_LIMIT + 1), page + rest
