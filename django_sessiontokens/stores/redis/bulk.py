"""The Redis store's operations on many sessions at once: pipelined creates
and the delete script over a batch, with owner discovery (``store``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django_sessiontokens.stores.base import BaseStore, SessionRecord
from django_sessiontokens.stores.redis import codec, keys, scripts
from django_sessiontokens.stores.redis.codec import text, ttl_ms, unpack
from django_sessiontokens.stores.redis.connection import is_cluster


class Bulk:
    """Mixed into ``RedisStore`` (which provides the keys)."""

    client: Callable[[], Any]
    guard: Callable[[], Any]
    key: Callable[[str], str]
    _index: Callable[[str, str | None], str]
    _sets: Callable[[Any], list[str]]
    _saw: Callable[[str, str | None], None]
    _follow_delete: Callable[..., None]

    def create_many(self, records: Sequence[SessionRecord]) -> list[str]:
        """Pipelined creates (imports, benchmark data): the public ids
        inserted. On Cluster one create at a time."""
        with self.guard():
            client = self.client()
            if is_cluster(client):
                return BaseStore.create_many(self, records)  # type: ignore[arg-type]
            script = scripts.SCRIPTS["create"]
            client.script_load(script.source)
            sets = self._sets(client)
            created: list[str] = []
            for start in range(0, len(records), 1000):
                chunk = records[start : start + 1000]
                pipe = client.pipeline(transaction=False)
                for record in chunk:
                    pid = record.public_id
                    names = [self.key(pid), self._index(pid, record.user_id), *sets]
                    args = [ttl_ms(record.expires_at), codec.pack_record(record)]
                    pipe.evalsha(script.sha, len(names), *names, *args)
                for record, done in zip(chunk, pipe.execute(), strict=True):
                    if done:
                        created.append(record.public_id)
                        self._saw(record.public_id, record.user_id)
            return created

    def _delete(
        self,
        client: Any,
        targets: dict[str, str],
        bounds: list[str],
        quiet: bool = False,
        spare: bool = False,
    ) -> tuple[list[SessionRecord], list[SessionRecord], int]:
        """Run the delete script over ``targets`` (public id -> believed
        owner) under ``bounds`` (``_bounds``; all ``""``: unconditionally),
        with ``spare``, leaving sessions with an impersonator alone:
        ``(removed, kept because alive or spared, how many removed)``."""
        removed: list[SessionRecord] = []
        live: list[SessionRecord] = []
        count = 0
        cluster = is_cluster(client)
        for _attempt in range(3):
            if not targets:
                break
            groups: dict[str, list[tuple[str, str]]] = {}
            for pid, uid in targets.items():
                # redis-py runs no script in a Cluster pipeline: one call per tag.
                groups.setdefault(keys.tag(pid) if cluster else "", []).append(
                    (pid, uid)
                )
            retry: dict[str, str] = {}
            for group in groups.values():
                names: list[str] = []
                flags = ["1" if quiet else "", "1" if spare else ""]
                args: list[Any] = [len(group), *flags, *bounds]
                for pid, uid in group:
                    names += [self.key(pid), self._index(pid, uid)]
                    args += [pid, uid]
                reply = scripts.run(
                    client, "delete", [*names, *self._sets(client)], args
                )
                gone = [unpack(text(m), data=False) for m in reply[0]]
                kept = [unpack(text(m), data=False) for m in reply[1]]
                again = dict(keys.split_member(text(m)) for m in reply[2])
                removed += gone
                live += kept
                count += int(reply[3])
                retry.update(again)
                if cluster:
                    self._follow_delete(client, group, again, gone, kept)
            targets = retry
        return removed, live, count
