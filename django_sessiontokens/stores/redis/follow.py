"""Redis Cluster: the ``{all}`` sets live in their own slot, so a script on a
session's slot cannot keep them; these pipelined follow-ups do (the same
changes as ``sets_add``/``sets_remove`` of ``lua/lib.lua``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django_sessiontokens.stores.base import SessionRecord
from django_sessiontokens.stores.redis import keys
from django_sessiontokens.stores.redis.codec import micros


class ClusterSets:
    """Mixed into ``RedisStore`` (which provides the keys)."""

    expiry_key: Callable[[], str]
    activity_key: Callable[[], str]
    auth_key: Callable[[], str]
    anon_key: Callable[[], str]
    ractivity_key: Callable[[], str]
    rauth_key: Callable[[], str]

    def _follow(
        self, client: Any, before: SessionRecord | None, after: SessionRecord | None
    ) -> None:
        """On Cluster: bring the ``{all}`` sets in line after a change."""

        def scores(rec: SessionRecord | None) -> Any:
            if rec is None:
                return None
            started = rec.authenticated_at or rec.created_at
            return (
                rec.user_id,
                rec.remembered,
                rec.expires_at,
                rec.last_activity,
                started,
            )

        if scores(before) == scores(after):
            return
        pipe = client.pipeline(transaction=False)
        if before is not None:
            self._sets_remove(pipe, before.public_id, before.user_id or "")
        if after is not None:
            self._sets_add(pipe, after)
        pipe.execute()

    def _sets_add(self, pipe: Any, rec: SessionRecord) -> None:
        """``sets_add`` of ``lua/lib.lua``, for a pipeline."""
        pid = rec.public_id
        pipe.zadd(
            self.expiry_key(), {keys.member(pid, rec.user_id): micros(rec.expires_at)}
        )
        activity = micros(rec.last_activity)
        if rec.user_id is None:
            pipe.zadd(self.anon_key(), {pid: activity})
        else:
            by_activity, by_auth = (
                (self.ractivity_key(), self.rauth_key())
                if rec.remembered
                else (self.activity_key(), self.auth_key())
            )
            pipe.zadd(by_activity, {pid: activity})
            started = rec.authenticated_at or rec.created_at
            pipe.zadd(by_auth, {pid: micros(started)})

    def _sets_remove(self, pipe: Any, public_id: str, *user_ids: str) -> None:
        """``sets_remove`` of ``lua/lib.lua``, for a pipeline."""
        names = {keys.member(public_id, uid) for uid in ("", *user_ids)}
        pipe.zrem(self.expiry_key(), *names)
        for key in (
            self.activity_key(),
            self.auth_key(),
            self.anon_key(),
            self.ractivity_key(),
            self.rauth_key(),
        ):
            pipe.zrem(key, public_id)

    def _follow_delete(
        self,
        client: Any,
        group: list[tuple[str, str]],
        again: dict[str, str],
        gone: list[SessionRecord],
        kept: list[SessionRecord],
    ) -> None:
        """On Cluster: drop what was deleted (or found dead) from the
        ``{all}`` sets, and give kept sessions their real scores."""
        owners = {rec.public_id: rec.user_id or "" for rec in gone}
        alive = {rec.public_id for rec in kept}
        pipe = client.pipeline(transaction=False)
        for pid, uid in group:
            if pid not in again and pid not in alive:
                self._sets_remove(pipe, pid, uid, owners.get(pid, ""))
        for rec in kept:
            self._sets_remove(pipe, rec.public_id, rec.user_id or "")
            self._sets_add(pipe, rec)
        if len(pipe):
            pipe.execute()
